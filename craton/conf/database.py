# SPDX-License-Identifier: Apache-2.0
from oslo_config import cfg
from oslo_db import options as db_options

_DEFAULT_CONNECTION = 'sqlite:////var/lib/craton/craton.sqlite'

# Craton's own options in oslo.db's [database] group.
opts = [
    cfg.FloatOpt('sqlite_busy_timeout', default=10.0, min=0.0,
                 help='SQLite only: how long, in seconds, a transaction '
                      'waits for another connection (a thread or another '
                      'process) to finish writing before it gives up. '
                      'Writes queue for the write lock, taken when their '
                      'transaction starts (BEGIN IMMEDIATE); the threads '
                      'of one process take turns before that, so they '
                      'wait for each other without polling; a call that '
                      'still finds the database busy is retried a few '
                      'times; after that, the API answers 503 with a '
                      'Retry-After header of this many seconds (at least '
                      '1).'),
]


def register_opts(conf):
    db_options.set_defaults(conf, connection=_DEFAULT_CONNECTION)
    conf.register_opts(opts, group='database')


def list_opts():
    return opts
