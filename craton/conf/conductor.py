# SPDX-License-Identifier: Apache-2.0
from oslo_config import cfg

group = cfg.OptGroup('conductor', title='Conductor options')

opts = [
    cfg.StrOpt('execution_driver', default='docker', choices=[
        ('docker', 'One container per step on the [docker] url engine.'),
        ('swarm', 'One Swarm service per step; [docker] url is a Swarm '
                  'manager and [docker] registry is set.')],
        help='How job steps are run.'),
    cfg.IntOpt('job_workers', default=8, min=1,
               help='Jobs one conductor runs at the same time. Jobs beyond '
                    'this wait, pending, in the database.'),
    cfg.IntOpt('sweep_interval', default=10, min=1,
               help='Seconds between sweeps for pending jobs and tasks that '
                    'no conductor claimed (for example after a lost RPC '
                    'cast).'),
    cfg.IntOpt('heartbeat_interval', default=10, min=1,
               help='Seconds between conductor heartbeats.'),
    cfg.IntOpt('heartbeat_timeout', default=60, min=2,
               help='A conductor whose last heartbeat is older than this '
                    'many seconds is dead: its jobs are taken over.'),
    cfg.IntOpt('log_chunk_bytes', default=65536, min=1024,
               help='Largest piece of step output stored as one database '
                    'row.'),
    cfg.FloatOpt('log_flush_interval', default=0.5, min=0.01,
                 help='Seconds of output gathered before it is written to '
                      'the database, so a running step\'s logs are readable '
                      'within about this delay.'),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return opts
