# SPDX-License-Identifier: Apache-2.0
"""The Python client library against a fake HTTP layer."""

import gzip
import http.server as http_server
import io
import os
import tarfile
import threading
import time

import fixtures
from keystoneauth1 import session as ksa_session
import requests
from requests_mock.contrib import fixture as rm_fixture
import testtools

from cratonclient import exceptions
from cratonclient.v1 import archive
from cratonclient.v1 import client
from cratonclient.v1 import http
from cratonclient.v1 import json_patch_ops

URL = 'http://craton.test:7780'
# The least a resource answer holds.
RESOURCE = {'uuid': 'u'}


class ClientTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(rm_fixture.Fixture())
        self.craton = client.Client.noauth(URL)


class TestErrors(ClientTestCase):

    def test_api_wg_body(self):
        self.api.post(URL + '/v1/jobs', status_code=409, json={'errors': [{
            'status': 409, 'code': 'craton.task.not_approved',
            'title': 'Conflict', 'detail': "task 'a' is not approved",
            'request_id': 'req-1'}]})
        exc = self.assertRaises(exceptions.ApiError,
                                self.craton.jobs.create, {'task': 'a'})
        self.assertEqual((409, 'craton.task.not_approved', 'Conflict',
                          "task 'a' is not approved", 'req-1', 'POST',
                          URL + '/v1/jobs'),
                         (exc.status, exc.code, exc.title, exc.detail,
                          exc.request_id, exc.method, exc.url))
        self.assertEqual("task 'a' is not approved (HTTP 409) "
                         "(Request-ID: req-1)", str(exc))

    def test_every_status_is_the_one_class(self):
        for status in (400, 401, 403, 404, 405, 413, 415, 500, 503):
            self.api.get(URL + '/v1/regions/x', status_code=status,
                         json={'errors': [{'status': status,
                                           'detail': 'd%d' % status}]})
            exc = self.assertRaises(exceptions.ApiError,
                                    self.craton.regions.get, 'x')
            self.assertEqual((status, 'd%d' % status),
                             (exc.status, exc.detail))

    def test_other_bodies(self):
        self.api.get(URL + '/v1/regions', status_code=503, text='',
                     reason='Service Unavailable')
        exc = self.assertRaises(exceptions.ApiError, self.craton.regions.list)
        self.assertEqual(URL + '/v1/regions answered HTTP 503 Service '
                         'Unavailable', str(exc))
        self.assertFalse(exc.api_error)
        self.api.get(URL + '/v1/regions', status_code=500,
                     json={'message': 'x'},
                     headers={'X-OpenStack-Request-ID': 'req-h'})
        exc = self.assertRaises(exceptions.ApiError, self.craton.regions.list)
        self.assertEqual('req-h', exc.request_id)

    def test_connection_failure_names_the_url_and_the_cause(self):
        self.api.get(URL + '/v1/hosts',
                     exc=requests.exceptions.ConnectionError('no route'))
        exc = self.assertRaises(exceptions.ConnectionFailure,
                                self.craton.hosts.list)
        self.assertEqual(URL + '/v1/hosts', exc.url)
        self.assertEqual('cannot reach the Craton API at %s/v1/hosts: '
                         'no route' % URL, str(exc))


class TestRequests(ClientTestCase):

    def test_noauth_headers(self):
        self.api.get(URL + '/v1/regions', json={'regions': []})
        client.Client.noauth(URL, project_id='p', user_id='u',
                             roles='a, b').regions.list()
        headers = self.api.last_request.headers
        self.assertEqual(('p', 'u', 'a,b'), (headers['X-Project-Id'],
                                             headers['X-User-Id'],
                                             headers['X-Roles']))

    def test_catalog_v1_suffix_is_not_doubled(self):
        self.api.get('http://c.test/v1/regions', json={'regions': []})
        client.Client(ksa_session.Session(),
                      endpoint_override='http://c.test/v1').regions.list()
        self.assertEqual('http://c.test/v1/regions', self.api.last_request.url)

    def test_no_endpoint(self):
        craton = client.Client(ksa_session.Session())
        exc = self.assertRaises(exceptions.ClientException,
                                craton.regions.list)
        self.assertIn('--os-craton-url', str(exc))

    def test_list_follows_next_with_filters_once(self):
        self.api.get(URL + '/v1/hosts?label=a&label=b',
                     json={'hosts': [{'name': 'h1'}],
                           'next': URL + '/v1/hosts?label=a&label=b&marker=1'})
        self.api.get(URL + '/v1/hosts?label=a&label=b&marker=1',
                     json={'hosts': [{'name': 'h2'}]})
        self.assertEqual(['h1', 'h2'], [
            h['name'] for h in self.craton.hosts.list(label=['a', 'b'],
                                                      region=None)])
        first, second = self.api.request_history
        self.assertEqual({'label': ['a', 'b']}, first.qs)
        self.assertEqual({'label': ['a', 'b'], 'marker': ['1']}, second.qs)

    def test_paths_and_bodies(self):
        self.api.post(URL + '/v1/tasks/a%2Fb%20c/reject', json=RESOURCE)
        self.craton.tasks.reject('a/b c', reason='why')
        self.assertEqual({'reason': 'why'}, self.api.last_request.json())
        self.api.post(URL + '/v1/tasks/t/reject', json=RESOURCE)
        self.craton.tasks.reject('t')
        self.assertIsNone(self.api.last_request.body)
        self.api.patch(URL + '/v1/hosts/h', json=RESOURCE)
        self.craton.hosts.update('h', [json_patch_ops.replace('/name', 'x')])
        self.assertEqual('application/json-patch+json',
                         self.api.last_request.headers['Content-Type'])
        self.api.delete(URL + '/v1/hosts/h', status_code=204)
        self.assertIsNone(self.craton.hosts.delete('h'))
        self.api.put(URL + '/v1/workflows/w', json=dict(RESOURCE, name='w'))
        self.assertEqual({'uuid': 'u', 'name': 'w'},
                         self.craton.workflows.replace('w', {'name': 'w'}))


class GrowingLog:
    """Each request reveals one more chunk; complete with the last."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.calls = 0

    def __call__(self, request, context):
        self.calls += 1
        offset = int(request.qs['offset'][0])
        stored = b''.join(self.chunks[:self.calls])
        data = stored[offset:]
        done = self.calls >= len(self.chunks)
        context.headers['X-Craton-Log-Offset'] = str(offset + len(data))
        context.headers['X-Craton-Log-Complete'] = str(done).lower()
        if self.calls == 1:
            context.headers['X-Craton-Log-Truncated'] = 'true'
        return data


class TestLogs(ClientTestCase):

    PATH = URL + '/v1/jobs/j/steps/1/logs'

    def test_page(self):
        self.api.get(self.PATH, content=b'\xffab',
                     headers={'X-Craton-Log-Offset': '13',
                              'X-Craton-Log-Complete': 'true'})
        page = self.craton.jobs.logs('j', 1, offset=10)
        self.assertEqual((b'\xffab', 13, True, False), tuple(page))
        self.assertEqual({'offset': ['10']}, self.api.last_request.qs)
        self.assertEqual('text/plain',
                         self.api.last_request.headers['Accept'])

    def test_iter_without_follow_stops_at_the_stored_end(self):
        log = GrowingLog([b'a', b'', b'b'])
        self.api.get(self.PATH, content=log)
        pages = list(self.craton.jobs.iter_log('j', 1))
        self.assertEqual([b'a'], [p.data for p in pages])
        self.assertTrue(pages[0].truncated)
        self.assertEqual(2, log.calls)

    def test_iter_follow_until_complete(self):
        log = GrowingLog([b'a', b'', b'', b'bc', b'd'])
        self.api.get(self.PATH, content=log)
        sleeps = []
        pages = list(self.craton.jobs.iter_log('j', 1, follow=True,
                                               interval=0.25,
                                               sleep=sleeps.append))
        self.assertEqual(b'abcd', b''.join(p.data for p in pages))
        self.assertTrue(pages[-1].complete)
        self.assertEqual([0.25, 0.25], sleeps)

    def test_wait(self):
        self.api.get(URL + '/v1/jobs/j',
                     [{'json': {'uuid': 'j', 'status': s}} for s in
                      ('pending', 'running', 'cancelling', 'cancelled')])
        seen, sleeps = [], []
        job = self.craton.jobs.wait('j', interval=1, sleep=sleeps.append,
                                    on_update=lambda j: seen.append(
                                        j['status']))
        self.assertEqual('cancelled', job['status'])
        self.assertEqual(['pending', 'running', 'cancelling', 'cancelled'],
                         seen)
        self.assertEqual([1, 1, 1], sleeps)


class TestArchive(testtools.TestCase):

    def test_members_relative_sorted_with_symlinks(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        for name, data in (('Dockerfile', b'FROM x\n'), ('b/z.py', b'z'),
                           ('a.txt', b'\x00\xff')):
            os.makedirs(os.path.dirname(os.path.join(tmp, name)),
                        exist_ok=True)
            with open(os.path.join(tmp, name), 'wb') as f:
                f.write(data)
        os.symlink('a.txt', os.path.join(tmp, 'link'))
        data = archive.directory_archive(tmp)
        self.assertEqual(b'\x1f\x8b', data[:2])
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
            names = tar.getnames()
            self.assertEqual(b'\x00\xff', tar.extractfile('a.txt').read())
            self.assertEqual('a.txt', tar.getmember('link').linkname)
        self.assertEqual(['Dockerfile', 'a.txt', 'b', 'b/z.py', 'link'],
                         names)

    def _task_dir(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        for name in ('Dockerfile', 'z/b.py', 'z/a.py', 'a/run.sh'):
            os.makedirs(os.path.dirname(os.path.join(tmp, name)),
                        exist_ok=True)
            with open(os.path.join(tmp, name), 'wb') as f:
                f.write(name.encode() * 100)
        os.chmod(os.path.join(tmp, 'a/run.sh'), 0o750)
        os.utime(os.path.join(tmp, 'z/a.py'), (1500000000, 1500000000))
        return tmp

    def test_same_directory_same_bytes(self):
        tmp = self._task_dir()
        first = archive.directory_archive(tmp)
        # A second later (the gzip header's own time would differ).
        later = time.time() + 1.5
        self.useFixture(fixtures.MockPatch('time.time', return_value=later))
        second = archive.directory_archive(tmp)
        self.assertEqual(first, second)
        # No time and no file name in the gzip header (RFC 1952).
        self.assertEqual(b'\x00\x00\x00\x00', first[4:8])
        self.assertEqual(0, first[3] & 0x08)

    def test_modes_and_mtimes_of_the_files_are_kept(self):
        tmp = self._task_dir()
        data = archive.directory_archive(tmp)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            self.assertEqual(0o750, tar.getmember('a/run.sh').mode & 0o777)
            self.assertEqual(1500000000, int(tar.getmember('z/a.py').mtime))
            self.assertEqual(['Dockerfile', 'a', 'a/run.sh', 'z', 'z/a.py',
                              'z/b.py'], tar.getnames())
            self.assertEqual({0}, {m.uid for m in tar} | {m.gid for m in tar})

    def test_refused(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        os.mkdir(os.path.join(tmp, 'Dockerfile'))
        self.assertRaises(exceptions.CommandError,
                          archive.directory_archive, tmp)
        self.assertRaises(exceptions.CommandError,
                          archive.directory_archive,
                          os.path.join(tmp, 'none'))


class TestPatch(testtools.TestCase):

    def test_pointer(self):
        self.assertEqual('/variables/a~1b~0c',
                         json_patch_ops.pointer('variables', 'a/b~c'))

    def test_variables(self):
        self.assertEqual([],
                         json_patch_ops.variables_ops({'a': 1}, {}, ['x']))
        self.assertEqual([json_patch_ops.add('/variables', {}),
                          json_patch_ops.add('/variables/a', 1)],
                         json_patch_ops.variables_ops(None, {'a': 1}))
        # A key set and unset in one go ends up removed.
        self.assertEqual([json_patch_ops.add('/variables/a', 1),
                          json_patch_ops.remove('/variables/a')],
                         json_patch_ops.variables_ops({}, {'a': 1}, ['a']))

    def test_labels(self):
        self.assertEqual([], json_patch_ops.labels_ops(['a'], ['a'], ['x']))
        self.assertEqual([json_patch_ops.replace('/labels', ['b', 'c'])],
                         json_patch_ops.labels_ops(['a', 'b'], ['c', 'c'],
                                                   ['a']))
        self.assertEqual([json_patch_ops.replace('/labels', ['x'])],
                         json_patch_ops.labels_ops(None, ['x']))


class _RecordingHandler(http_server.BaseHTTPRequestHandler):
    """Answers every request with ``{}`` and records its raw target."""

    def do_GET(self):
        self.server.targets.append(self.path)
        body = b'{"uuid": "u", "name": "n"}'
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_DELETE = do_GET
    do_POST = do_GET

    def log_message(self, *args):
        pass


class TestDotNamesOnTheWire(testtools.TestCase):
    """``.`` and ``..`` are names, not path steps: they reach the server
    percent-encoded (a real HTTP server, as requests re-decodes ``%2E``
    before sending unless the client keeps it).
    """

    def setUp(self):
        super().setUp()
        server = http_server.HTTPServer(('127.0.0.1', 0), _RecordingHandler)
        server.targets = []
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.server = server
        self.craton = client.Client.noauth(
            'http://127.0.0.1:%d' % server.server_port)

    def test_dot_names_are_percent_encoded(self):
        self.craton.regions.get('..')
        self.craton.hosts.get('.')
        self.craton.regions.delete('..')
        self.craton.jobs.cancel('..')
        self.craton.tasks.get('a..b')
        self.craton.regions.get('...')
        self.assertEqual(['/v1/regions/%2E%2E', '/v1/hosts/%2E',
                          '/v1/regions/%2E%2E', '/v1/jobs/%2E%2E/cancel',
                          '/v1/tasks/a..b', '/v1/regions/...'],
                         self.server.targets)

    def test_quote_helper(self):
        self.assertEqual('%2E', http.quote('.'))
        self.assertEqual('%2E%2E', http.quote('..'))
        self.assertEqual('a%2Fb', http.quote('a/b'))
        self.assertEqual('...', http.quote('...'))
