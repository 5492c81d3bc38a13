# SPDX-License-Identifier: Apache-2.0
"""Authentication with a real Keystone (started by tools/keystone.sh):
tokens are validated by keystonemiddleware and the token's project and
roles reach policy."""

import os

import requests
import testtools

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment

KEYSTONE = os.environ.get('CRATON_TEST_KEYSTONE_URL',
                          'http://127.0.0.1:5000/v3')


def token(user, project, password='secret'):
    """A project-scoped token for ``user``; returns (token, project id)."""
    resp = requests.post(KEYSTONE + '/auth/tokens', timeout=30, json={
        'auth': {'identity': {'methods': ['password'], 'password': {
            'user': {'name': user, 'domain': {'name': 'Default'},
                     'password': password}}},
            'scope': {'project': {'name': project,
                                  'domain': {'name': 'Default'}}}}})
    resp.raise_for_status()
    return (resp.headers['X-Subject-Token'],
            resp.json()['token']['project']['id'])


@dbfixtures.requires_functional
class KeystoneAuthTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.deploy = deployment.Deployment(
            extra=deployment.keystone_config(KEYSTONE))
        cls.deploy.setUp()
        cls.url = 'http://127.0.0.1:%d' % cls.deploy.port

    @classmethod
    def tearDownClass(cls):
        cls.deploy.cleanUp()
        super().tearDownClass()

    def call(self, method, path, tok=None, **kwargs):
        headers = {'X-Auth-Token': tok} if tok else {}
        # noauth headers must be ignored under keystone.
        headers['X-Project-Id'] = 'forged'
        headers['X-Roles'] = 'admin'
        return requests.request(method, self.url + path, headers=headers,
                                timeout=30, **kwargs)

    def test_no_token_is_401(self):
        resp = self.call('GET', '/v1/tasks')
        self.assertEqual(401, resp.status_code)
        self.assertEqual(401, resp.json()['errors'][0]['status'])
        self.assertIn('WWW-Authenticate', resp.headers)

    def test_bogus_token_is_401(self):
        self.assertEqual(401, self.call('GET', '/v1/tasks',
                                        'not-a-token').status_code)

    def test_member_token_reaches_policy_with_its_project(self):
        tok, project_id = token('alice-member', 'proj-a')
        self.assertEqual(200, self.call('GET', '/v1/tasks', tok).status_code)
        resp = self.call('POST', '/v1/regions', tok,
                         json={'name': 'ks-region'})
        self.assertEqual(201, resp.status_code, resp.text)
        self.assertEqual(project_id, resp.json()['project_id'])
        self.addCleanup(self.call, 'DELETE', '/v1/regions/ks-region', tok)
        self.assertEqual(200, self.call('GET', '/v1/regions/ks-region',
                                        tok).status_code)

    def test_reader_cannot_create(self):
        tok, _ = token('bob-reader', 'proj-a')
        self.assertEqual(200, self.call('GET', '/v1/regions',
                                        tok).status_code)
        resp = self.call('POST', '/v1/regions', tok,
                         json={'name': 'reader-region'})
        self.assertEqual(403, resp.status_code)

    def test_other_project_sees_404(self):
        alice, _ = token('alice-member', 'proj-a')
        carol, _ = token('carol-member-b', 'proj-b')
        resp = self.call('POST', '/v1/regions', alice,
                         json={'name': 'private-region'})
        self.assertEqual(201, resp.status_code)
        self.addCleanup(self.call, 'DELETE', '/v1/regions/private-region',
                        alice)
        self.assertEqual(404, self.call('GET', '/v1/regions/private-region',
                                        carol).status_code)
        names = [r['name'] for r in
                 self.call('GET', '/v1/regions', carol).json()['regions']]
        self.assertNotIn('private-region', names)
