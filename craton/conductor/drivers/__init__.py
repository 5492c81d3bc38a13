# SPDX-License-Identifier: Apache-2.0
"""Execution drivers: how a job step's container is run.

``[conductor] execution_driver`` names one; the executor gets it from
:func:`get_driver` and uses only the interface in ``base``.
"""

import importlib

from craton.common import exception

# name -> (module, class); imported on demand so a driver's client library
# is only needed when that driver is configured.
_DRIVERS = {
    'docker': ('craton.conductor.drivers.docker', 'DockerDriver'),
    'swarm': ('craton.conductor.drivers.swarm', 'SwarmDriver'),
}


def get_driver(conf):
    """Return the execution driver configured in ``[conductor]``."""
    name = conf.conductor.execution_driver
    try:
        module, cls = _DRIVERS[name]
    except KeyError:
        raise exception.CratonException(
            "Unknown [conductor] execution_driver %r; choose one of: %s."
            % (name, ', '.join(sorted(_DRIVERS))))
    return getattr(importlib.import_module(module), cls)(conf)
