# SPDX-License-Identifier: Apache-2.0
from oslo_config import cfg

group = cfg.OptGroup('sandbox', title='Task container limits')

opts = [
    cfg.StrOpt('user', default='65534:65534',
               help='User (uid:gid) task containers run as. Must not be '
                    'root.'),
    cfg.StrOpt('memory', default='512m',
               help='Memory limit of a task container (docker units: 512m, '
                    '1g). Swap is not allowed beyond it.'),
    cfg.FloatOpt('cpus', default=1.0, min=0.01,
                 help='CPUs a task container may use.'),
    cfg.IntOpt('pids_limit', default=256, min=8,
               help='Processes and threads a task container may have.'),
    cfg.StrOpt('tmpfs_size', default='64m',
               help='Size of the writable tmpfs mounted on /tmp.'),
    cfg.IntOpt('max_log_bytes', default=64 * 1024 * 1024, min=4096,
               help='Most bytes of one step\'s output (stdout and stderr) '
                    'stored. Past it the step keeps running, further '
                    'output is dropped, the stored log ends with a line '
                    '"[craton] log cut at N bytes" and the step\'s '
                    'status_reason says so. The engine\'s log file of a step '
                    'may grow to 48 times this (about 34 bytes of disk per '
                    'line written) until the step is cleaned up.'),
    cfg.IntOpt('max_result_bytes', default=1024 * 1024, min=1024,
               help='Largest result a step may hand on: the JSON after '
                    '"::craton-result::" on its last result line. A larger '
                    'result line is ignored with a note in the step\'s '
                    'status_reason; the exit code alone decides success.'),
    cfg.StrOpt('network_mode', default='bridge',
               help='Docker network task containers join; "none" cuts them '
                    'off from every network.'),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return opts
