# SPDX-License-Identifier: Apache-2.0
import socket

from oslo_config import cfg
import oslo_messaging
from oslo_messaging import opts as messaging_opts

opts = [
    cfg.StrOpt('rpc_transport', default='oslo', choices=[
        ('oslo', 'oslo.messaging over [DEFAULT] transport_url (RabbitMQ in '
                 'production).'),
        ('local', 'In-process calls between the API and the conductor; only '
                  'valid with craton-all.')],
        help='How the API reaches the conductor.'),
    cfg.StrOpt('host', default=socket.gethostname(),
               sample_default='localhost',
               help='Name of this conductor. It must be unique in the '
                    'deployment and stable across restarts: a conductor that '
                    'starts again under the same name takes back the jobs it '
                    'had claimed.'),
    cfg.StrOpt('state_path', default='/var/lib/craton',
               help='Directory where craton keeps its working files (build '
                    'contexts, uploaded sources).'),
]


def register_opts(conf):
    """Register [DEFAULT]'s options, oslo.messaging's included.

    transport_url (and the rest of oslo.messaging's [DEFAULT] options) is
    owned by oslo.messaging, which registers it only when a transport is
    made; registering it here too lets every command read it before that.
    The list is the one oslo.messaging gives oslo-config-generator, with
    our control_exchange default set first; registering the same options
    again later is allowed by oslo.config.
    """
    conf.register_opts(opts)
    oslo_messaging.set_transport_defaults('craton')
    for group, group_opts in messaging_opts.list_opts():
        if group is None:
            conf.register_opts(group_opts)


def list_opts():
    return opts
