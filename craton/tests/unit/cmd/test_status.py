# SPDX-License-Identifier: Apache-2.0
"""craton-status's engine check opens a client and always closes it."""

from unittest import mock

import fixtures
from oslo_upgradecheck import upgradecheck
import requests

from craton.cmd import status
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
