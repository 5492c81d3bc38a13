# SPDX-License-Identifier: Apache-2.0
"""craton-dbsync: create and upgrade Craton's database schema.

    craton-dbsync [--config-file F] upgrade [--revision R]
    craton-dbsync [--config-file F] version
    craton-dbsync [--config-file F] stamp REVISION
    craton-dbsync [--config-file F] secrets-rotate
"""

import sys

from alembic import util as alembic_util
from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_log import log
import sqlalchemy as sa

from craton.common import exception
from craton import conf
from craton.db import migration
from craton.objects import secret as secret_obj

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


def _secrets_rotate():
    rotated, total = secret_obj.Secret.rotate_keys()
    msg = ('Re-encrypted %d of %d secrets kept in the database under the '
           'first key of [secrets] encryption_keys (the others already '
           'were)' % (rotated, total))
    LOG.info(msg)
    print(msg)


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
    parser = subparsers.add_parser(
        'secrets-rotate',
        help='Re-encrypt every secret kept in the database (backend '
             'fernet) under the first key of [secrets] encryption_keys, '
             'so that older keys can be dropped. Safe to run again.')
    parser.set_defaults(func=_secrets_rotate)


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
    except exception.SecretStoreUnavailable as e:
        return _fail(str(e))
    return 0


def _fail(msg):
    msg = 'craton-dbsync: ' + msg
    LOG.error(msg)
    print(msg, file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
