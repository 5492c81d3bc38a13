# SPDX-License-Identifier: Apache-2.0
"""What every craton command does first: parse config, set up logging."""

import sys

from oslo_log import log as logging

from craton import conf as craton_conf
from craton import objects


def prepare_service(argv=None, default_config_files=None):
    """Parse ``--config-file`` etc., set up logging and register objects."""
    conf = craton_conf.CONF
    logging.register_options(conf)
    argv = sys.argv[1:] if argv is None else argv
    kwargs = {}
    if default_config_files is not None:
        kwargs['default_config_files'] = default_config_files
    conf(argv, project='craton', **kwargs)
    logging.setup(conf, 'craton')
    objects.register_all()
    return conf
