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
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return opts
