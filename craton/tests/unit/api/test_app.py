# SPDX-License-Identifier: Apache-2.0
"""The WSGI stack: versions, healthcheck, auth, and the error format."""

import fixtures
from oslo_messaging import exceptions as messaging_exc
import webtest

from craton.api import app
from craton.api import middleware
from craton import conf
from craton.tests.unit.api import base


class TestRoot(base.APITestCase):

    def test_versions(self):
        resp = self.app.get('/')
        self.assertEqual('application/json', resp.content_type)
        self.assertEqual('v1', resp.json['versions'][0]['id'])
        self.assertEqual('http://localhost/v1',
                         resp.json['default_version']['links'][0]['href'])

    def test_v1_lists_resources(self):
        resp = self.app.get('/v1')
        for name in ('tasks', 'workflows', 'jobs', 'regions', 'cells',
                     'hosts'):
            self.assertEqual('http://localhost/v1/' + name,
                             resp.json[name][0]['href'])

    def test_public_endpoint_in_links(self):
        self.config(public_endpoint='https://craton.example.org:7780/',
                    group='api')
        resp = self.post('/regions', {'name': 'r1'}, status=201)
        self.assertEqual('https://craton.example.org:7780/v1/regions/%s'
                         % resp.json['uuid'], resp.json['links'][0]['href'])
        self.assertEqual('https://craton.example.org:7780/regions/%s'
                         % resp.json['uuid'], resp.json['links'][1]['href'])

    def test_links_behind_a_proxy(self):
        self.config(enable_proxy_headers_parsing=True,
                    group='oslo_middleware')
        self.app = webtest.TestApp(app.setup_app(conf.CONF))
        resp = self.app.get('/v1', headers={
            'X-Forwarded-Proto': 'https',
            'X-Forwarded-Host': 'craton.example.org'})
        self.assertEqual('https://craton.example.org/v1/tasks',
                         resp.json['tasks'][0]['href'])

    def test_healthcheck(self):
        self.assertEqual(200, self.app.get('/healthcheck').status_int)

    def test_request_id_header(self):
        resp = self.app.get('/v1/tasks')
        self.assertTrue(resp.headers['x-openstack-request-id']
                        .startswith('req-'))


class TestNoAuth(base.APITestCase):

    def test_defaults(self):
        resp = self.app.post_json('/v1/regions', {'name': 'r1'})
        self.assertEqual('default', resp.json['project_id'])

    def test_headers_set_identity(self):
        resp = self.post('/regions', {'name': 'r1'}, status=201,
                         project='project-z')
        self.assertEqual('project-z', resp.json['project_id'])


class TestKeystone(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.config(auth_strategy='keystone', group='api')
        app.register_auth_opts(conf.CONF)
        self.config(www_authenticate_uri='http://127.0.0.1:5000/v3',
                    group='keystone_authtoken')
        self.app = webtest.TestApp(app.setup_app(conf.CONF))

    def test_no_token_is_401(self):
        resp = self.app.get('/v1/tasks', status=401)
        error = self.assertError(resp, 401, 'craton.not_authorized')
        self.assertIn('WWW-Authenticate', resp.headers)
        self.assertTrue(error['detail'])

    def test_identity_headers_are_not_trusted(self):
        resp = self.app.get('/v1/tasks', headers={'X-Roles': 'admin',
                                                  'X-Project-Id': 'p'},
                            status=401)
        self.assertError(resp, 401)

    def test_versions_and_healthcheck_need_no_token(self):
        self.app.get('/', status=200)
        self.app.get('/v1', status=200)
        self.app.get('/healthcheck', status=200)


class TestErrors(base.APITestCase):

    def test_unknown_path(self):
        resp = self.app.get('/v1/nothing', status=404)
        self.assertError(resp, 404, 'craton.not_found', '/v1/nothing')
        resp = self.app.get('/nothing/at/all', status=404)
        self.assertError(resp, 404)

    def test_not_found_resource(self):
        resp = self.get('/tasks/nope', status=404)
        self.assertError(resp, 404, 'craton.task.not_found', "'nope'")

    def test_wrong_method(self):
        resp = self.app.put_json('/v1/tasks', {}, status=405)
        self.assertError(resp, 405, 'craton.method_not_allowed', 'PUT')
        resp = self.app.delete('/v1/regions', status=405)
        self.assertError(resp, 405)

    def test_bad_json(self):
        resp = self.app.post('/v1/tasks', '{"name": ',
                             content_type='application/json', status=400)
        self.assertError(resp, 400, detail_contains='JSON')

    def test_body_not_an_object(self):
        for body in ([1, 2], 'x', 3):
            resp = self.app.post_json('/v1/regions', body, status=400)
            self.assertError(resp, 400, detail_contains='object')

    def test_nested_not_an_object(self):
        task = self.make_task()
        resp = self.post('/workflows', {'name': 'w', 'steps': [1]},
                         status=400)
        self.assertError(resp, 400, detail_contains='object')
        resp = self.post('/jobs', {'task': task.name, 'inventory': []},
                         status=400)
        self.assertError(resp, 400, detail_contains='inventory')

    def test_wrong_types(self):
        body = {'name': 't', 'command': ['x'], 'timeout': 'long',
                'source': {'type': 'git', 'url': 'https://g.example/x'}}
        resp = self.post('/tasks', body, status=400)
        self.assertError(resp, 400, detail_contains='timeout')
        for bad in ({'timeout': [1]}, {'timeout': True}, {'timeout': 2.5},
                    {'name': 5}, {'command': 'ls'}, {'command': [1]},
                    {'source': 'git'}):
            resp = self.post('/tasks', dict(body, **bad), status=400)
            self.assertError(resp, 400, detail_contains=list(bad)[0])

    def test_null_and_non_json_numbers(self):
        resp = self.app.post('/v1/regions', 'null',
                             content_type='application/json', status=400)
        self.assertError(resp, 400, detail_contains='null')
        resp = self.app.post('/v1/regions', '{"name": "r", "variables": '
                             '{"a": NaN}}', content_type='application/json',
                             status=400)
        self.assertError(resp, 400, detail_contains='NaN')

    def test_json_whatever_the_accept_header(self):
        for accept in ('text/html', 'application/xml', '*/*'):
            resp = self.app.get('/v1/tasks', headers={'Accept': accept})
            self.assertEqual('application/json', resp.content_type)
            resp = self.app.get('/v1/tasks/nope', headers={'Accept': accept},
                                status=404)
            self.assertError(resp, 404)

    def test_unsupported_media_type(self):
        resp = self.app.post('/v1/regions', 'name=x',
                             content_type='text/plain', status=415)
        self.assertError(resp, 415)

    def test_long_detail_is_cut(self):
        resp = self.post('/regions', {'name': 'r', 'variables': 'x' * 5000},
                         status=400)
        error = self.assertError(resp, 400)
        self.assertLess(len(error['detail']), 1100)

    def test_unknown_field(self):
        resp = self.post('/regions', {'name': 'r', 'colour': 'blue'},
                         status=400)
        self.assertError(resp, 400, detail_contains='colour')

    def test_missing_field(self):
        resp = self.post('/regions', {'description': 'x'}, status=400)
        self.assertError(resp, 400, detail_contains='name')

    def test_unknown_query_parameter(self):
        resp = self.get('/tasks?colour=blue', status=400)
        self.assertError(resp, 400, detail_contains='colour')

    def test_body_of_a_get_is_ignored(self):
        # WSME would read it as arguments; a wrong type there was a 500.
        for body in ('{"limit": {"a": null}}', '{"limit": []}', '{'):
            resp = self.app.request(
                '/v1/tasks', method='GET', body=body.encode(),
                headers=dict(self.headers('admin', None),
                             **{'Content-Type': 'application/json'}))
            self.assertEqual(200, resp.status_int)
            self.assertEqual([], resp.json['tasks'])

    def test_all_projects_not_a_boolean(self):
        for kind in ('tasks', 'workflows', 'jobs', 'regions', 'cells',
                     'hosts'):
            resp = self.get('/%s?all_projects=maybe' % kind, status=400)
            self.assertError(resp, 400, detail_contains='all_projects')

    def test_bad_paging(self):
        for query, field in (('limit=1001', 'limit'), ('limit=0', 'limit'),
                             ('limit=-1', 'limit'), ('limit=abc', 'limit'),
                             ('sort_key=image', 'sort_key'),
                             ('sort_dir=up', 'sort_dir'),
                             ('marker=nope', 'marker')):
            resp = self.get('/tasks?' + query, status=400)
            self.assertError(resp, 400, detail_contains=field)
        resp = self.get('/tasks?marker=%s' % ('1' * 32), status=400)
        self.assertError(resp, 400, detail_contains='marker')

    def test_too_large(self):
        body = '{"name": "%s"}' % ('x' * (middleware.MAX_REQUEST_BODY + 1))
        resp = self.app.post('/v1/regions', body,
                             content_type='application/json', status=413)
        self.assertError(resp, 413, 'craton.too_large')

    def test_duplicate_is_409(self):
        self.post('/regions', {'name': 'r1'}, status=201)
        resp = self.post('/regions', {'name': 'r1'}, status=409)
        self.assertError(resp, 409, 'craton.duplicate', "'r1'")

    def test_internal_error_hides_details(self):
        self.patch_error = self.useFixture_patch(
            'craton.objects.inventory.Region.list',
            RuntimeError('SELECT secret FROM x'))
        resp = self.get('/regions', status=500)
        error = self.assertError(resp, 500, 'craton.error')
        self.assertNotIn('secret', error['detail'])
        self.assertEqual(error['request_id'],
                         resp.headers['x-openstack-request-id'])

    def useFixture_patch(self, target, exc):
        return self.useFixture(fixtures.MockPatch(target, side_effect=exc))


class TestWSGI(base.APITestCase):

    def test_application_reads_config_file(self):
        import os
        import tempfile

        from craton.api import wsgi
        with tempfile.NamedTemporaryFile('w', suffix='.conf',
                                         delete=False) as f:
            f.write('[DEFAULT]\nrpc_transport = local\n'
                    '[api]\nauth_strategy = noauth\n'
                    '[database]\nconnection = sqlite://\n')
        self.addCleanup(os.unlink, f.name)
        self.useFixture(fixtures.EnvironmentVariable('CRATON_CONFIG_FILE',
                                                     f.name))
        self.useFixture(fixtures.MockPatch('oslo_log.log.setup'))
        # A WSGI server process starts with the configuration unparsed.
        conf.CONF.clear()
        application = wsgi.initialize_wsgi_app(['craton-api-wsgi'])
        resp = webtest.TestApp(application).get('/v1', status=200)
        self.assertIn('tasks', resp.json)
        self.assertEqual(['%s' % f.name], conf.CONF.config_file)


class TestCasts(base.APITestCase):

    def test_failing_cast_does_not_fail_the_request(self):
        for exc in (messaging_exc.MessagingTimeout('t'),
                    messaging_exc.MessageDeliveryFailure('d'),
                    RuntimeError('broker down')):
            self.casts['build_task'].side_effect = exc
            body = {'name': 'task-%d' % id(exc), 'command': ['x'],
                    'source': {'type': 'git', 'url': 'https://g.example/x'}}
            resp = self.post('/tasks', body, status=202)
            self.assertEqual('pending', resp.json['status'])
        self.get('/tasks/task-%d' % id(exc))

    def test_local_transport_without_conductor(self):
        # The real client: rpc_transport = local and no conductor here.
        for patcher in list(self.casts.values()):
            patcher.side_effect = None
        import unittest.mock as mock
        mock.patch.stopall()
        body = {'name': 'lonely', 'command': ['x'],
                'source': {'type': 'git', 'url': 'https://g.example/x'}}
        self.post('/tasks', body, status=202)
