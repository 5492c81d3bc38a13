# SPDX-License-Identifier: Apache-2.0
"""craton-status: upgrade readiness checks (oslo.upgradecheck)."""

import os
import sys

from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck

from craton import conf as craton_conf

NO_CONFIG = (
    'craton-status: no configuration file: give the one the services read '
    'with --config-file (e.g. craton-status --config-file '
    '/etc/craton/craton.conf upgrade check), or put it at '
    '/etc/craton/craton.conf. The checks need its [database] connection and '
    '[docker] url.')


def _sqlite_file(url):
    """The file of an SQLite URL, or None for other databases and memory."""
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    if parsed.get_backend_name() != 'sqlite':
        return None
    if parsed.database in (None, '', ':memory:'):
        return None
    return parsed.database


class Checks(upgradecheck.UpgradeCommands):
    """Checks an operator runs before and after an upgrade.

    :param conf: the configuration the checks read (craton's global one by
        default).
    """

    def __init__(self, conf=None):
        super().__init__()
        self.conf = craton_conf.CONF if conf is None else conf

    def check(self):
        """Run the checks; without a configuration file, say what is needed.

        :returns: an ``upgradecheck.Code`` (the process's exit status);
            ``FAILURE`` without running any check when no configuration
            file was given or found, so that nothing (an empty SQLite file
            at the default connection, say) is created.
        """
        if not self.conf.config_file and not self.conf.config_dir:
            print(NO_CONFIG, file=sys.stderr)
            return upgradecheck.Code.FAILURE
        return super().check()

    def _check_database(self):
        from craton.db import migration
        path = _sqlite_file(self.conf.database.connection)
        if path is not None and not os.path.exists(path):
            # Opening it would create an empty database file.
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                'The SQLite database %s does not exist: run `craton-dbsync '
                'upgrade` with the same configuration to create it.' % path)
        try:
            current = migration.version()
        except Exception as exc:
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                'Cannot read the database schema version: %s' % exc)
        head = migration.head()
        if current != head:
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                'Database schema is at %s, code expects %s: run '
                '`craton-dbsync upgrade`.' % (current, head))
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    def _check_engine(self):
        from craton.common import docker_client
        try:
            with docker_client.engine(craton_conf.CONF) as client:
                client.ping()
        except Exception as exc:
            return upgradecheck.Result(
                upgradecheck.Code.WARNING,
                'Docker engine %s does not answer: %s (only conductors '
                'need it)' % (craton_conf.CONF.docker.url, exc))
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    _upgrade_checks = (
        ('Database schema', _check_database),
        ('Docker engine', _check_engine),
        ('Policy file', (common_checks.check_policy_json,
                         {'conf': craton_conf.CONF})),
    )


def main(argv=None, conf=None):
    """craton-status's entry point.

    :param argv: arguments (``sys.argv[1:]`` by default).
    :param conf: the configuration to parse them into (craton's global one
        by default).
    :returns: the exit status: 0 all checks pass, 1 a warning, 2 a failure
        (also when no configuration file was given or found), 255 a check
        that raised.
    """
    conf = craton_conf.CONF if conf is None else conf
    argv = sys.argv[1:] if argv is None else argv
    return upgradecheck.main(conf, project='craton',
                             upgrade_command=Checks(conf), argv=argv)


if __name__ == '__main__':
    sys.exit(main())
