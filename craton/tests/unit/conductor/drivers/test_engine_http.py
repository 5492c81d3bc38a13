# SPDX-License-Identifier: Apache-2.0
"""The engine's HTTP API where the docker SDK has no public call: URLs,
and error answers turned into the SDK's own exceptions."""

import types

import docker
import requests
import testtools

from craton.conductor.drivers import engine_http


def api():
    return types.SimpleNamespace(base_url='http+docker://localhost',
                                 api_version='1.41', timeout=60)


def answer(status, body=b'{}', reason='OK'):
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response._content = body
    response.url = 'http+docker://localhost/v1.41/x'
    response.closed = False

    def close():
        response.closed = True
    response.close = close
    return response


class TestEngineHTTP(testtools.TestCase):

    def test_url_is_versioned_and_quotes_ids(self):
        self.assertEqual(
            'http+docker://localhost/v1.41/services/ab%2F..%2Fx/logs',
            engine_http.url(api(), '/services/{}/logs', 'ab/../x'))

    def test_success_is_returned_open(self):
        response = answer(200)
        self.assertIs(response, engine_http.check(response))
        self.assertFalse(response.closed)

    def test_errors_are_the_sdks_and_close_the_response(self):
        for status, kind in ((404, docker.errors.NotFound),
                             (409, docker.errors.APIError),
                             (500, docker.errors.APIError)):
            response = answer(status, b'{"message": "name in use"}',
                              reason='Err')
            exc = self.assertRaises(kind, engine_http.check, response)
            self.assertEqual(status, exc.status_code)
            self.assertIn('name in use', str(exc.explanation))
            self.assertTrue(response.closed)

    def test_post_json_sends_the_body_with_the_timeout(self):
        calls = []
        client = api()

        def post(url, json=None, timeout=None):
            calls.append((url, json, timeout))
            return answer(201, b'{"ID": "s1"}')
        client.post = post
        self.assertEqual({'ID': 's1'}, engine_http.post_json(
            client, '/services/create', {'Name': 'x'}))
        self.assertEqual([('http+docker://localhost/v1.41/services/create',
                           {'Name': 'x'}, 60)], calls)
