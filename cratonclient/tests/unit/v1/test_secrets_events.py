# SPDX-License-Identifier: Apache-2.0
"""The library's secrets and events managers against a fake HTTP layer."""

import logging

import fixtures
from requests_mock.contrib import fixture as rm_fixture
import testtools

from cratonclient import exceptions
from cratonclient.v1 import client
from cratonclient.v1 import http

URL = 'http://craton.test:7780'
SECRET = {'uuid': 's-1', 'name': 'tok', 'description': None}
VALUE = 'hunter2-\u00e9-value'


class TestMasked(testtools.TestCase):

    def test_masks_every_depth_and_keeps_the_rest(self):
        body = {'name': 'n', 'value': 'v', 'nested': [{'value': 1, 'x': 2}]}
        self.assertEqual({'name': 'n', 'value': '***',
                          'nested': [{'value': '***', 'x': 2}]},
                         http.masked(body, {'value'}))
        # The body itself is left as it was.
        self.assertEqual('v', body['value'])
        self.assertEqual('text', http.masked('text', {'value'}))


class TestSecrets(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(rm_fixture.Fixture())
        self.craton = client.Client.noauth(URL)
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))

    def test_create_sends_bytes_as_text_and_logs_no_value(self):
        self.api.post(URL + '/v1/secrets', status_code=201,
                      json=dict(SECRET, value=VALUE))
        made = self.craton.secrets.create({'name': 'tok',
                                           'value': VALUE.encode('utf-8')})
        self.assertEqual({'name': 'tok', 'value': VALUE},
                         self.api.last_request.json())
        # An answer's value field (which the API never sends) is dropped.
        self.assertEqual(SECRET, made)
        self.assertNotIn('hunter2', self.logs.output)
        self.assertIn('"value": "***"', self.logs.output)

    def test_bytes_not_utf8(self):
        exc = self.assertRaises(exceptions.CommandError,
                                self.craton.secrets.create,
                                {'name': 'tok', 'value': b'ab\x80cd'})
        self.assertIn('offset 2', str(exc))
        self.assertFalse(self.api.called)

    def test_set_value(self):
        self.api.put(URL + '/v1/secrets/tok', json=SECRET)
        self.assertEqual(SECRET, self.craton.secrets.set_value('tok', VALUE))
        self.assertEqual({'value': VALUE}, self.api.last_request.json())
        self.assertNotIn('hunter2', self.logs.output)

    def test_an_error_answer_is_logged_masked_too(self):
        self.api.put(URL + '/v1/secrets/tok', status_code=413,
                     json={'errors': [{'status': 413, 'detail': 'too big'}]})
        exc = self.assertRaises(exceptions.ApiError,
                                self.craton.secrets.set_value, 'tok', VALUE)
        self.assertEqual(413, exc.status)
        self.assertNotIn('hunter2', str(exc))
        self.assertNotIn('hunter2', self.logs.output)
        self.assertIn('RESP: [413]', self.logs.output)

    def test_get_and_list_drop_a_value(self):
        self.api.get(URL + '/v1/secrets/tok', json=dict(SECRET, value='x'))
        self.api.get(URL + '/v1/secrets',
                     json={'secrets': [dict(SECRET, value='x')]})
        self.assertEqual(SECRET, self.craton.secrets.get('tok'))
        self.assertEqual([SECRET], self.craton.secrets.list())


class TestEvents(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(rm_fixture.Fixture())
        self.craton = client.Client.noauth(URL)

    def test_limit_and_filters(self):
        page = [{'uuid': 'e-%d' % i} for i in range(3)]
        self.api.get(URL + '/v1/events',
                     json={'events': page, 'next': URL + '/v1/events?p=2'})
        self.assertEqual(page[:2], self.craton.events.list(
            limit=2, action='read', resource=None))
        self.assertEqual(1, self.api.call_count)
        self.assertEqual({'limit': ['2'], 'action': ['read']},
                         self.api.last_request.qs)
