# SPDX-License-Identifier: Apache-2.0
"""Craton configuration: one module per option group, registered here."""

from oslo_config import cfg

from craton.conf import api
from craton.conf import builder
from craton.conf import conductor
from craton.conf import database
from craton.conf import default
from craton.conf import docker
from craton.conf import sandbox
from craton.conf import secrets
from craton.conf import swarm

CONF = cfg.CONF

default.register_opts(CONF)
api.register_opts(CONF)
builder.register_opts(CONF)
conductor.register_opts(CONF)
database.register_opts(CONF)
docker.register_opts(CONF)
sandbox.register_opts(CONF)
secrets.register_opts(CONF)
swarm.register_opts(CONF)
