# SPDX-License-Identifier: Apache-2.0
from oslo_config import cfg

group = cfg.OptGroup('api', title='API server options')

opts = [
    cfg.HostAddressOpt('host_ip', default='127.0.0.1',
                       help='Address the API server listens on.'),
    cfg.PortOpt('port', default=7780, help='Port the API server listens on.'),
    cfg.IntOpt('backlog', default=128, min=1,
               help='Length of the listen queue of the API server that '
                    'craton-api and craton-all run: connections the kernel '
                    'accepts and holds while every thread is busy '
                    '([api] threads). The kernel caps it at '
                    'net.core.somaxconn.'),
    cfg.IntOpt('threads', default=64, min=1,
               help='Requests the API server of craton-api and craton-all '
                    'serves at once, one thread each. While all are busy, '
                    'new connections wait in the listen queue ([api] '
                    'backlog) instead of being refused.'),
    cfg.IntOpt('client_socket_timeout', default=60, min=0,
               help='Seconds the API server of craton-api and craton-all '
                    'waits on a silent client (reading its request, sending '
                    'the answer) before it closes the connection, so that '
                    'a client that stops midway frees its thread; 0 waits '
                    'for ever.'),
    cfg.StrOpt('auth_strategy', default='keystone', choices=[
        ('keystone', 'Validate X-Auth-Token with keystonemiddleware.'),
        ('noauth', 'Development only: read identity from the X-Project-Id, '
                   'X-User-Id and X-Roles headers.')],
        help='How API requests are authenticated.'),
    cfg.IntOpt('max_limit', default=1000, min=1,
               help='Largest page a list request may ask for.'),
    cfg.IntOpt('default_limit', default=100, min=1,
               help='Page size of a list request that gives no limit.'),
    cfg.IntOpt('max_upload_bytes', default=64 * 1024 * 1024, min=1024,
               help='Largest gzipped tar, in bytes, accepted as a task\'s '
                    'source archive (PUT /v1/tasks/{id}/source); a larger '
                    'one is refused with 413. The archive may unpack to at '
                    'most 8 times this size. Archives are kept in the '
                    'database, in chunks of 4 MiB.'),
    cfg.IntOpt('max_json_depth', default=64, min=1, max=256,
               help='Deepest nesting of arrays and objects accepted in a '
                    'JSON request body, counted from the body\'s root ({} '
                    'is depth 1); a deeper body is refused with 400 before '
                    'it is parsed. The maximum keeps every later step that '
                    'walks the value (parsing, storing, building a task\'s '
                    'payload) far from Python\'s recursion limit.'),
    cfg.StrOpt('public_endpoint',
               help='Base URL that links in responses use, e.g. '
                    'https://craton.example.org:7780. Defaults to the '
                    'request host URL.'),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return opts
