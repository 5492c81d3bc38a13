import socket

from oslo_config import cfg

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
    conf.register_opts(opts)
    # transport_url is owned by oslo.messaging; registering it here too
    # lets every command read it before a transport exists.
    import oslo_messaging
    oslo_messaging.set_transport_defaults('craton')
    from oslo_messaging import transport
    conf.register_opts(transport._transport_opts)


def list_opts():
    return opts
