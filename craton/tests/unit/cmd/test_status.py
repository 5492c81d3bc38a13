# SPDX-License-Identifier: Apache-2.0
"""craton-status: the engine check opens a client and always closes it;
without a configuration file it says what it needs and creates nothing."""

import os
from unittest import mock

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_upgradecheck import upgradecheck
import requests

from craton.cmd import status
from craton import conf as craton_conf
from craton.tests import base


class TestEngineCheck(base.TestCase):

    def setUp(self):
        super().setUp()
        self.client = mock.Mock()
        self.useFixture(fixtures.MockPatch(
            'craton.common.docker_client.get_client',
            return_value=self.client))

    def test_engine_answers(self):
        result = status.Checks()._check_engine()
        self.assertEqual(upgradecheck.Code.SUCCESS, result.code)
        self.client.ping.assert_called_once_with()
        self.client.close.assert_called_once_with()

    def test_engine_away_is_a_warning_and_the_client_closed(self):
        self.client.ping.side_effect = requests.exceptions.ConnectionError(
            'refused')
        result = status.Checks()._check_engine()
        self.assertEqual(upgradecheck.Code.WARNING, result.code)
        self.assertIn('does not answer', result.details)
        self.assertIn('refused', result.details)
        self.client.close.assert_called_once_with()


class TestWithoutConfiguration(base.TestCase):
    """`craton-status upgrade check` with no configuration file."""

    def _main(self, argv):
        conf = cfg.ConfigOpts()
        craton_conf.database.register_opts(conf)
        craton_conf.docker.register_opts(conf)
        stderr = self.useFixture(fixtures.StringStream('stderr')).stream
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        stdout = self.useFixture(fixtures.StringStream('stdout')).stream
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', stdout))
        # No file at the default places (~/.craton, /etc/craton, ...).
        self.useFixture(fixtures.MockPatch(
            'oslo_config.cfg.find_config_files', return_value=[]))
        self.useFixture(fixtures.MockPatch(
            'oslo_config.cfg.find_config_dirs', return_value=[]))
        version = self.useFixture(fixtures.MockPatch(
            'craton.db.migration.version')).mock
        rc = status.main(argv, conf=conf)
        stderr.seek(0)
        stdout.seek(0)
        return rc, stderr.read(), stdout.read(), version

    def test_says_what_it_needs_and_opens_no_database(self):
        rc, err, out, version = self._main(['upgrade', 'check'])
        self.assertEqual(upgradecheck.Code.FAILURE, rc)
        self.assertIn('no configuration file', err)
        self.assertIn('--config-file', err)
        self.assertIn('/etc/craton/craton.conf', err)
        self.assertEqual('', out)
        version.assert_not_called()


class TestMissingSQLiteFile(base.TestCase):

    def test_missing_file_is_reported_not_created(self):
        path = self.useFixture(fixtures.TempDir()).join('absent.sqlite')
        self.useFixture(config_fixture.Config(craton_conf.CONF)).config(
            connection='sqlite:///' + path, group='database')
        result = status.Checks()._check_database()
        self.assertEqual(upgradecheck.Code.FAILURE, result.code)
        self.assertIn(path, result.details)
        self.assertIn('craton-dbsync', result.details)
        self.assertFalse(os.path.exists(path))
