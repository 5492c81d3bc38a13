# SPDX-License-Identifier: Apache-2.0
"""craton-dbsync: create and upgrade Craton's database schema.

    craton-dbsync [--config-file F] upgrade [--revision R]
    craton-dbsync [--config-file F] version
    craton-dbsync [--config-file F] stamp REVISION
"""

import sys

from alembic import util as alembic_util
from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_log import log
import sqlalchemy as sa

from craton import conf
from craton.db import migration

LOG = log.getLogger(__name__)


def _upgrade():
    revision = conf.CONF.command.revision
    migration.upgrade(revision)
    LOG.info('Database schema upgraded to %s (now at %s)',
             revision, migration.version())


def _version():
    print(migration.version() or 'None')


def _stamp():
    migration.stamp(conf.CONF.command.revision)
    LOG.info('Database schema stamped as %s', conf.CONF.command.revision)


def _add_parsers(subparsers):
    parser = subparsers.add_parser(
        'upgrade', help='Upgrade the schema (default: to the latest).')
    parser.add_argument('--revision', default='head',
                        help='Revision to upgrade to (default: head).')
    parser.set_defaults(func=_upgrade)
    parser = subparsers.add_parser(
        'version', help='Print the current schema revision (None if none).')
    parser.set_defaults(func=_version)
    parser = subparsers.add_parser(
        'stamp', help='Record REVISION as current without running any '
                      'migration.')
    parser.add_argument('revision', help='Revision id, or "head".')
    parser.set_defaults(func=_stamp)


command_opt = cfg.SubCommandOpt('command', title='Commands',
                                help='Available commands',
                                handler=_add_parsers)


def _safe_url(url):
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return '<unparsable [database] connection>'


def main(argv=None):
    """Entry point of ``craton-dbsync``; returns the process exit status."""
    CONF = conf.CONF
    CONF.register_cli_opt(command_opt)
    log.register_options(CONF)
    CONF(sys.argv[1:] if argv is None else argv, project='craton',
         prog='craton-dbsync')
    log.setup(CONF, 'craton-dbsync')
    try:
        CONF.command.func()
    except (db_exc.DBConnectionError, db_exc.DBNonExistentDatabase,
            sa.exc.OperationalError) as e:
        return _fail('cannot connect to the database %s: %s'
                     % (_safe_url(CONF.database.connection), e))
    except alembic_util.CommandError as e:
        return _fail(str(e))
    return 0


def _fail(msg):
    msg = 'craton-dbsync: ' + msg
    LOG.error(msg)
    print(msg, file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
