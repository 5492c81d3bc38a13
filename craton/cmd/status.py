# SPDX-License-Identifier: Apache-2.0
"""craton-status: upgrade readiness checks (oslo.upgradecheck)."""

import sys

from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck

from craton import conf as craton_conf


class Checks(upgradecheck.UpgradeCommands):
    """Checks an operator runs before and after an upgrade."""

    def _check_database(self):
        from craton.db import migration
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


def main():
    return upgradecheck.main(craton_conf.CONF, project='craton',
                             upgrade_command=Checks())


if __name__ == '__main__':
    sys.exit(main())
