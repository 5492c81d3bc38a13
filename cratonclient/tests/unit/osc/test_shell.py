# SPDX-License-Identifier: Apache-2.0
"""The plugin inside OSC: registration, connection options, auth, and the
one-line errors, through OSC's real shell.
"""

import argparse
import importlib.metadata
import socket
import time

import fixtures
from keystoneauth1 import fixture as ksa_fixture
from osc_lib import exceptions as osc_exceptions
import requests

from cratonclient.osc import plugin
from cratonclient.tests.unit import base
from cratonclient.v1 import client

# CLI.md's commands.
COMMANDS = """
region create, region list, region show, region set, region delete,
cell create, cell list, cell show, cell set, cell delete,
host create, host list, host show, host set, host delete,
task create, task list, task show, task set, task delete, task rebuild,
task approve, task reject,
workflow create, workflow list, workflow show, workflow set,
workflow delete,
job run, job list, job show, job cancel, job inventory, job watch, job logs,
secret create, secret list, secret show, secret set, secret delete,
event list
"""
COMMANDS = [c.strip() for c in COMMANDS.replace('\n', ' ').split(',')]


class TestRegistration(base.ShellTestCase):

    def test_every_command_has_an_entry_point(self):
        eps = importlib.metadata.entry_points(group='openstack.craton.v1')
        self.assertEqual(sorted('craton_' + c.replace(' ', '_')
                                for c in COMMANDS),
                         sorted(ep.name for ep in eps))
        plugin = importlib.metadata.entry_points(
            group='openstack.cli.extension')
        self.assertIn('cratonclient.osc.plugin',
                      [ep.value for ep in plugin if ep.name == 'craton'])

    def test_openstack_craton_lists_every_command(self):
        result = self.run_cli()
        for command in COMMANDS:
            self.assertIn('craton %s\n' % command, result.stdout)

    def test_every_command_has_help(self):
        for command in COMMANDS:
            result = self.run_cli(*command.split(), '--help')
            self.assertEqual(0, result.rc, (command, result.stderr))
            self.assertIn(' craton %s [-h]' % command,
                          result.stdout)
        self.assertFalse(self.api.called)


class TestNoauth(base.ShellTestCase):

    def test_identity_headers_default_as_the_service(self):
        self.api.get(self.url('/v1/regions'), json={'regions': []})
        self.run_json('region', 'list')
        headers = self.api.last_request.headers
        self.assertEqual('default', headers['X-Project-Id'])
        self.assertEqual('admin', headers['X-User-Id'])
        self.assertEqual('admin,member,reader', headers['X-Roles'])
        self.assertNotIn('X-Auth-Token', headers)

    def test_identity_headers_from_the_environment(self):
        for name, value in (('OS_CRATON_PROJECT', 'p2'),
                            ('OS_CRATON_USER', 'bob'),
                            ('OS_CRATON_ROLES', 'reader, member')):
            self.useFixture(fixtures.EnvironmentVariable(name, value))
        self.api.get(self.url('/v1/regions'), json={'regions': []})
        self.run_json('region', 'list')
        headers = self.api.last_request.headers
        self.assertEqual(('p2', 'bob', 'reader,member'),
                         (headers['X-Project-Id'], headers['X-User-Id'],
                          headers['X-Roles']))

    def test_url_option_wins_and_a_v1_suffix_is_fine(self):
        self.api.get('http://other.test:9/v1/regions', json={'regions': []})
        self.run_json('--os-craton-url', 'http://other.test:9/v1/',
                      'region', 'list')
        self.assertEqual('http://other.test:9/v1/regions',
                         self.api.last_request.url)

    def test_client_class_by_api_version(self):
        # OSC itself refuses a version not in API_VERSIONS before it asks
        # for a client; make_client still names the valid ones.
        self.assertIs(client.Client, plugin._client_class('1'))
        exc = self.assertRaises(osc_exceptions.UnsupportedVersion,
                                plugin._client_class, '9')
        self.assertIn("craton client version '9'. must be one of: 1",
                      str(exc))

    def test_url_required(self):
        self.useFixture(fixtures.EnvironmentVariable('OS_CRATON_URL'))
        result = self.run_cli('region', 'list')
        self.assert_one_error_line(result, '--os-craton-url',
                                   'OS_CRATON_URL')


class TestErrors(base.ShellTestCase):

    def test_api_error_is_one_line_no_traceback(self):
        self.api.get(self.url('/v1/tasks/nope'), status_code=404,
                     json=base.error_body(404, "Task 'nope' could not be\n"
                                          "found.", request_id='req-1'))
        result = self.run_cli('task', 'show', 'nope')
        self.assert_one_error_line(result)
        self.assertEqual("Task 'nope' could not be found. (HTTP 404) "
                         "(Request-ID: req-1)", result.stderr.strip())
        self.assertEqual('', result.stdout)

    def test_debug_shows_the_traceback(self):
        self.api.get(self.url('/v1/tasks/nope'), status_code=404,
                     json=base.error_body(404, 'gone'))
        result = self.run_cli('task', 'show', 'nope', '--debug')
        self.assertEqual(1, result.rc)
        self.assertIn('Traceback', result.stderr)

    def test_request_id_from_the_header_when_the_body_has_none(self):
        self.api.get(self.url('/v1/regions'), status_code=502,
                     text='<html>Bad Gateway</html>\n<p>nginx</p>',
                     headers={'X-OpenStack-Request-ID': 'req-h'})
        result = self.run_cli('region', 'list')
        self.assert_one_error_line(result, '<html>Bad Gateway</html>',
                                   self.url('/v1/regions'), 'HTTP 502',
                                   'req-h')

    def test_a_non_api_error_page_is_one_short_line(self):
        page = '<html><head><title>404 Not Found</title></head>\n' + \
            '<body>%s</body></html>\n' % ('x' * 5000)
        self.api.get(self.url('/v1/regions/r1'), status_code=404,
                     reason='Not Found', text=page)
        result = self.run_cli('region', 'show', 'r1')
        self.assert_one_error_line(result, self.url('/v1/regions/r1'),
                                   'HTTP 404 Not Found',
                                   '<html><head><title>404')
        self.assertLess(len(result.stderr), 400)

    def test_a_json_error_body_not_in_the_api_wg_shape(self):
        self.api.get(self.url('/v1/regions'), status_code=500,
                     reason='Internal Server Error',
                     json={'message': 'boom', 'code': 500})
        result = self.run_cli('region', 'list')
        self.assert_one_error_line(result, self.url('/v1/regions'),
                                   'HTTP 500 Internal Server Error')

    def test_a_2xx_page_that_is_not_json(self):
        self.api.get(self.url('/v1/regions/r1'),
                     text='<html>Welcome to nginx!</html>')
        result = self.run_cli('region', 'show', 'r1')
        self.assert_one_error_line(
            result, self.url('/v1/regions/r1'),
            'did not answer as the Craton API', 'not JSON')

    def test_a_2xx_json_of_the_wrong_shape(self):
        for path, argv, body in (
                ('/v1/regions', ('region', 'list'), ['a', 'b']),
                ('/v1/regions', ('region', 'list'), {'regions': 'no'}),
                ('/v1/regions', ('region', 'list'), {'items': []}),
                ('/v1/regions/r1', ('region', 'show', 'r1'), [1, 2]),
                ('/v1/regions/r1', ('region', 'show', 'r1'), 'text'),
                ('/v1/jobs/j', ('job', 'logs', 'j'), {'name': 'no uuid'}),
        ):
            self.api.get(self.url(path), json=body)
            result = self.run_cli(*argv)
            self.assert_one_error_line(result, self.url(path),
                                       'did not answer as the Craton API')
            self.assertNotIn('attribute', result.stderr)

    def test_transport_error_names_the_url(self):
        self.api.get(self.url('/v1/regions'),
                     exc=requests.exceptions.ConnectTimeout('timed out'))
        result = self.run_cli('region', 'list')
        self.assert_one_error_line(result, self.url('/v1/regions'),
                                   'timed out')


class TestTimeout(base.ShellTestCase):

    def test_every_request_has_the_default_timeout(self):
        self.api.get(self.url('/v1/regions'), json={'regions': []})
        self.run_json('region', 'list')
        self.assertEqual(60.0, self.api.last_request.timeout)

    def test_option_and_environment(self):
        self.api.get(self.url('/v1/regions'), json={'regions': []})
        self.useFixture(fixtures.EnvironmentVariable('OS_CRATON_TIMEOUT',
                                                     '7.5'))
        self.run_json('region', 'list')
        self.assertEqual(7.5, self.api.last_request.timeout)
        self.run_json('--os-craton-timeout', '3', 'region', 'list')
        self.assertEqual(3.0, self.api.last_request.timeout)

    def test_a_bad_value_is_a_usage_error(self):
        for value in ('0', '-1', 'soon', 'nan', 'inf'):
            result = self.run_cli('--os-craton-timeout', value, 'region',
                                  'list')
            self.assertEqual(2, result.rc, value)
            self.assertIn('--os-craton-timeout', result.stderr)
        self.assertFalse(self.api.called)

    def test_help_names_the_option(self):
        text = plugin.build_option_parser(
            argparse.ArgumentParser()).format_help()
        self.assertIn('--os-craton-timeout', text)
        self.assertIn('OS_CRATON_TIMEOUT', text)


class TestServerNeverAnswers(base.ShellTestCase):
    """A real server that accepts the connection and never answers."""

    fake_http = False

    def setUp(self):
        super().setUp()
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        sock.listen(8)
        self.addCleanup(sock.close)
        self.port = sock.getsockname()[1]
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CRATON_URL', 'http://127.0.0.1:%d' % self.port))
        self.useFixture(fixtures.EnvironmentVariable('OS_CRATON_TIMEOUT',
                                                     '0.3'))

    def test_timeout_is_one_line_naming_the_url(self):
        started = time.monotonic()
        result = self.run_cli('region', 'show', 'r1')
        self.assertLess(time.monotonic() - started, 10)
        self.assert_one_error_line(
            result, 'http://127.0.0.1:%d/v1/regions/r1' % self.port,
            'no answer', '0.3')


class TestServiceDown(base.ShellTestCase):
    """A real refused connection, no fake HTTP layer."""

    fake_http = False

    def setUp(self):
        super().setUp()
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CRATON_URL', 'http://127.0.0.1:%d' % self.port))

    def test_one_line_naming_the_url(self):
        result = self.run_cli('job', 'list')
        self.assert_one_error_line(
            result, 'http://127.0.0.1:%d/v1/jobs' % self.port, 'refused')


class TestKeystone(base.ShellTestCase):
    """The usual OS_* variables: a token, and Craton found in the catalog
    by its service type.
    """

    AUTH = 'http://keystone.test/v3'
    CATALOG_URL = 'http://craton.catalog:7780'

    def setUp(self):
        super().setUp()
        for name, value in (('OS_AUTH_TYPE', 'password'),
                            ('OS_AUTH_URL', self.AUTH),
                            ('OS_USERNAME', 'demo'),
                            ('OS_PASSWORD', 'secret'),
                            ('OS_PROJECT_NAME', 'demo'),
                            ('OS_USER_DOMAIN_NAME', 'Default'),
                            ('OS_PROJECT_DOMAIN_NAME', 'Default'),
                            ('OS_CRATON_URL', None)):
            self.useFixture(fixtures.EnvironmentVariable(name, value))
        token = ksa_fixture.V3Token(project_id='p-1', project_name='demo',
                                    user_id='u-1')
        token.add_role(name='member')
        service = token.add_service('craton-workflow')
        service.add_standard_endpoints(public=self.CATALOG_URL,
                                       internal='http://internal.test')
        mistral = token.add_service('workflow')
        mistral.add_standard_endpoints(public='http://mistral.test')
        self.api.get(self.AUTH, json=ksa_fixture.V3Discovery(self.AUTH))
        self.api.post(self.AUTH + '/auth/tokens', json=token,
                      headers={'X-Subject-Token': 'tok-1'}, status_code=201)

    def test_catalog_endpoint_and_token(self):
        self.api.get(self.CATALOG_URL + '/v1/hosts', json={'hosts': []})
        self.assertEqual([], self.run_json('host', 'list'))
        request = self.api.last_request
        self.assertEqual(self.CATALOG_URL + '/v1/hosts', request.url)
        self.assertEqual('tok-1', request.headers['X-Auth-Token'])
        self.assertNotIn('X-Project-Id', request.headers)

    def test_interface(self):
        self.api.get('http://internal.test/v1/hosts', json={'hosts': []})
        result = self.run_cli('--os-interface', 'internal', 'host', 'list')
        self.assertEqual(0, result.rc, result.stderr)

    def test_url_overrides_the_catalog(self):
        self.api.get('http://override.test/v1/hosts', json={'hosts': []})
        result = self.run_cli('--os-craton-url', 'http://override.test',
                              'host', 'list')
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual('tok-1',
                         self.api.last_request.headers['X-Auth-Token'])
