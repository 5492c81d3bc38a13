from oslo_db import options as db_options

_DEFAULT_CONNECTION = 'sqlite:////var/lib/craton/craton.sqlite'


def register_opts(conf):
    db_options.set_defaults(conf, connection=_DEFAULT_CONNECTION)

