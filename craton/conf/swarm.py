# SPDX-License-Identifier: Apache-2.0
from oslo_config import cfg

group = cfg.OptGroup('swarm', title='Docker Swarm (swarm execution driver)')

opts = [
    cfg.ListOpt('placement_constraints', default=[],
                help='Swarm placement constraints added to every step '
                     'service, e.g. node.labels.craton==true.'),
    cfg.IntOpt('sync_interval', default=60, min=5,
               help='Seconds between checks that every active Swarm node '
                    'holds the images of ready tasks (nodes that joined '
                    'later are synced then).'),
    cfg.IntOpt('sync_timeout', default=600, min=10,
               help='Seconds the nodes may take to pull one task image.'),
    cfg.StrOpt('helper_image', default='craton/python3:bookworm',
               help='Image (with python3) on the [docker] url engine that '
                    'removes stale task images from the Swarm nodes. It is '
                    'pushed to [docker] registry if needed and run by its '
                    'digest; it is the only container given a node\'s '
                    'engine socket. A value with @sha256:... is used as '
                    'is.'),
    cfg.StrOpt('node_docker_socket', default='/var/run/docker.sock',
               help='Path of the Docker engine socket on each Swarm node, '
                    'bind-mounted into the clean-up helper. Swarm '
                    'templates are expanded per node, e.g. '
                    '/run/docker/{{.Node.Hostname}}.sock; the helper '
                    'checks that it reached its own node\'s engine.'),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return opts
