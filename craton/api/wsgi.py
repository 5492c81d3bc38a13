# SPDX-License-Identifier: Apache-2.0
"""WSGI entry point for uwsgi, gunicorn or mod_wsgi.

``application`` is built on first use (not at import) from the file named
by ``CRATON_CONFIG_FILE`` (several, comma separated), else from the default
configuration files (``/etc/craton/craton.conf``...).
"""

import os
import sys
import threading

from oslo_log import log

from craton.api import app
from craton import conf as craton_conf

_APP = None
_LOCK = threading.Lock()


def initialize_wsgi_app(argv=None):
    """Read the configuration, set up logging and return the WSGI app."""
    conf = craton_conf.CONF
    files = [f for f in os.environ.get('CRATON_CONFIG_FILE', '').split(',')
             if f.strip()]
    args = []
    for name in files:
        args += ['--config-file', name.strip()]
    if argv is None:
        # The WSGI server's own argv is not ours to parse.
        argv = sys.argv[:1]
    log.register_options(conf)
    conf(args, project='craton', prog=os.path.basename(argv[0]))
    log.setup(conf, 'craton-api')
    app.register_auth_opts(conf)
    return app.setup_app(conf)


def application(environ, start_response):
    """The module-level WSGI callable; builds the app on the first call."""
    global _APP
    if _APP is None:
        with _LOCK:
            if _APP is None:
                _APP = initialize_wsgi_app()
    return _APP(environ, start_response)
