# SPDX-License-Identifier: Apache-2.0
from oslo_config import cfg

group = cfg.OptGroup('builder', title='Task image builds')

opts = [
    cfg.ListOpt('local_source_roots', default=[],
                help='Directories on the conductor hosts that tasks with a '
                     '"local" source may be built from. A local path outside '
                     'all of them is refused. Empty: no local sources.'),
    cfg.BoolOpt('allow_file_git_urls', default=False,
                help='Allow git sources with file:// URLs (repositories on '
                     'the conductor host). Off by default: it reads the '
                     'conductor\'s own disk.'),
    cfg.IntOpt('git_timeout', default=300, min=1,
               help='Seconds a git clone or fetch may take.'),
    cfg.IntOpt('build_timeout', default=1800, min=1,
               help='Seconds one image build may take.'),
    cfg.IntOpt('workers', default=2, min=1,
               help='Image builds one conductor runs at the same time.'),
    cfg.IntOpt('status_reason_lines', default=20, min=1,
               help='How many lines of a failed build\'s output are kept in '
                    'the task\'s status_reason.'),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return opts
