# SPDX-License-Identifier: Apache-2.0
"""Option lists for oslo-config-generator.

[database] (but for ``sqlite_busy_timeout``) and [DEFAULT] transport_url
belong to oslo.db and oslo.messaging; the generator lists them from those
namespaces.
"""

from craton.conf import api
from craton.conf import builder
from craton.conf import conductor
from craton.conf import database
from craton.conf import default
from craton.conf import docker
from craton.conf import sandbox
from craton.conf import secrets
from craton.conf import swarm


def list_opts():
    return [
        ('DEFAULT', default.list_opts()),
        ('api', api.list_opts()),
        ('builder', builder.list_opts()),
        ('conductor', conductor.list_opts()),
        ('database', database.list_opts()),
        ('docker', docker.list_opts()),
        ('sandbox', sandbox.list_opts()),
        ('secrets', secrets.list_opts()),
        ('swarm', swarm.list_opts()),
    ]
