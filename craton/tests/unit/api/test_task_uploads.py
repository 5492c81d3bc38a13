# SPDX-License-Identifier: Apache-2.0
"""Tasks with an upload source: ``PUT /v1/tasks/{id}/source``, and what
creating and patching such tasks does.
"""

import hashlib
import io
import os

import webtest

from craton.api import app
from craton.common import fsm
from craton import conf
from craton.db import api as db_api
from craton.objects import task as task_obj
from craton.tests.unit.api import base
from craton.tests.unit.common import test_archives

archive = test_archives.archive
f, sym = test_archives.f, test_archives.sym
KiB = 1024


def upload_body(name='uploaded', **kw):
    body = {'name': name, 'source': {'type': 'upload'},
            'command': ['sh', '/task/run.sh']}
    body.update(kw)
    return body


class UploadTestCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.config(max_upload_bytes=64 * KiB, group='api')
        self.dbapi = db_api.get_instance()

    def put_source(self, ident, data, status=202, persona='member',
                   content_type='application/gzip', project=None,
                   path_suffix=''):
        headers = self.headers(persona, project)
        if content_type is not None:
            headers['Content-Type'] = content_type
        return self.app.put('/v1/tasks/%s/source%s' % (ident, path_suffix),
                            data, headers=headers, status=status,
                            expect_errors=status >= 400)

    def make_upload_task(self, name='uploaded', **kw):
        return self.make_task(name, source={'type': 'upload'}, **kw)

    def stored(self, task):
        return self.dbapi.get_task_upload(task.uuid)

    def task(self, ident):
        return task_obj.Task.get(self.ctx(), ident)

    def assertNothingStored(self, task, source=None):
        self.assertIsNone(self.stored(task))
        self.assertEqual(source or {'type': 'upload'},
                         self.task(task.uuid).source)
        self.casts['build_task'].assert_not_called()


class TestCreateAndPatch(UploadTestCase):

    def test_create_waits_for_the_archive(self):
        resp = self.post('/tasks', upload_body(), status=202)
        task = resp.json
        self.assertEqual({'type': 'upload'}, task['source'])
        self.assertEqual('pending', task['status'])
        self.assertEqual(
            'waiting for the source archive: PUT /v1/tasks/%s/source with a '
            'gzipped tar of the task directory (Content-Type: '
            'application/gzip)' % task['uuid'], task['status_reason'])
        self.casts['build_task'].assert_not_called()
        self.assertEqual(task, self.get('/tasks/uploaded').json)

    def test_client_cannot_set_the_record(self):
        for source, text in (
                ({'type': 'upload', 'sha256': 'a' * 64}, 'source.sha256'),
                ({'type': 'upload', 'size': 10}, 'source.size'),
                ({'type': 'upload', 'url': 'https://x'}, 'source.url')):
            resp = self.post('/tasks', upload_body(source=source),
                             status=400)
            self.assertError(resp, 400, 'craton.task.invalid_source', text)

    def test_patch_other_fields_keeps_the_archive(self):
        self.post('/tasks', upload_body(), status=202)
        data = archive()
        source = self.put_source('uploaded', data).json['source']
        self.casts['build_task'].reset_mock()
        resp = self.patch('/tasks/uploaded', [
            {'op': 'replace', 'path': '/description', 'value': 'new'}])
        self.assertEqual(source, resp.json['source'])
        self.assertEqual(data, self.stored(self.task('uploaded')))
        self.casts['build_task'].assert_not_called()
        for op in ({'op': 'replace', 'path': '/source/sha256',
                    'value': 'b' * 64},
                   {'op': 'replace', 'path': '/source/size', 'value': 1},
                   {'op': 'add', 'path': '/source/url', 'value': 'x'}):
            resp = self.patch('/tasks/uploaded', [op], status=400)
            self.assertError(resp, 400, 'craton.task.invalid_source',
                             op['path'].replace('/', '.')[1:])

    def test_patch_git_to_upload_waits(self):
        task = self.make_task()
        resp = self.patch('/tasks/patch-host', [
            {'op': 'replace', 'path': '/source',
             'value': {'type': 'upload'}}])
        self.assertEqual({'type': 'upload'}, resp.json['source'])
        self.assertEqual(('pending', 'pending'),
                         (resp.json['status'], resp.json['approval']))
        self.assertIn('PUT /v1/tasks/%s/source' % task.uuid,
                      resp.json['status_reason'])
        self.casts['build_task'].assert_not_called()

    def test_patch_away_from_upload_drops_the_archive(self):
        task = self.make_upload_task()
        self.put_source(task.uuid, archive())
        self.casts['build_task'].reset_mock()
        resp = self.patch('/tasks/uploaded', [
            {'op': 'replace', 'path': '/source',
             'value': {'type': 'git', 'url': 'https://git.example.org/x'}}])
        self.assertEqual('pending', resp.json['status'])
        self.assertIsNone(resp.json['status_reason'])
        self.assertIsNone(self.stored(task))
        self.assertEqual(1, self.casts['build_task'].call_count)

    def test_patch_back_to_a_bare_upload_source_waits_again(self):
        task = self.make_upload_task()
        self.put_source(task.uuid, archive())
        self.casts['build_task'].reset_mock()
        resp = self.patch('/tasks/uploaded', [
            {'op': 'replace', 'path': '/source',
             'value': {'type': 'upload'}}])
        self.assertEqual({'type': 'upload'}, resp.json['source'])
        self.assertIn('waiting for the source archive',
                      resp.json['status_reason'])
        self.assertIsNone(self.stored(task))
        self.casts['build_task'].assert_not_called()


class TestPutSource(UploadTestCase):

    def test_accepted(self):
        task = self.make_upload_task(status='pending', approval='pending')
        data = archive(f('run.sh', b'echo hi\n', 0o755))
        resp = self.put_source('uploaded', data)
        self.assertEqual(202, resp.status_int)
        self.assertEqual('application/json', resp.content_type)
        self.assertEqual({'type': 'upload', 'size': len(data),
                          'sha256': hashlib.sha256(data).hexdigest()},
                         resp.json['source'])
        self.assertEqual(('pending', None), (resp.json['status'],
                                             resp.json['status_reason']))
        self.assertEqual(data, self.stored(task))
        self.assertEqual(resp.json, self.get('/tasks/uploaded').json)
        self.assertEqual(task.uuid, self.casts['build_task'].call_args[0][2])
        self.assertEqual(1, self.casts['build_task'].call_count)

    def test_again_replaces_rebuilds_and_resets_approval(self):
        task = self.make_upload_task(status='ready', approval='approved')
        first = archive(f('msg', b'one'))
        self.put_source(task.uuid, first)
        # Built and approved since.
        stored = self.task(task.uuid)
        self.assertTrue(stored.start_build())
        self.assertTrue(stored.transition(fsm.TASK_DONE))
        stored.approval = 'approved'
        stored.approved_by, stored.approved_digest = 'admin', base.DIGEST
        stored.save()
        second = archive(f('msg', b'two'))
        resp = self.put_source(task.uuid, second,
                               content_type='application/x-gzip')
        self.assertEqual(hashlib.sha256(second).hexdigest(),
                         resp.json['source']['sha256'])
        self.assertEqual(('pending', 'pending', None), (
            resp.json['status'], resp.json['approval'],
            resp.json['approved_by']))
        self.assertIsNone(self.task(task.uuid).approved_digest)
        self.assertEqual(second, self.stored(task))
        self.assertEqual(2, self.casts['build_task'].call_count)

    def test_error_task_may_be_uploaded_again(self):
        task = self.make_upload_task(status='error', approval='pending',
                                     status_reason='no archive')
        resp = self.put_source(task.uuid, archive())
        self.assertEqual(('pending', None), (resp.json['status'],
                                             resp.json['status_reason']))

    def test_media_type_case_and_parameters(self):
        # RFC 9110 8.3.1: case-insensitive, parameters allowed.
        task = self.make_upload_task()
        for n, content_type in enumerate((
                'Application/GZIP', 'APPLICATION/X-GZIP; foo=bar',
                'application/gzip ; x=1', 'application/Gzip;charset=binary')):
            data = archive(f('msg', b'%d' % n))
            resp = self.put_source(task.uuid, data,
                                   content_type=content_type)
            self.assertEqual(202, resp.status_int)
            self.assertEqual(data, self.stored(task))

    def test_wrong_content_type_is_415(self):
        task = self.make_upload_task()
        for content_type in ('application/json', 'application/octet-stream',
                             'application/x-tar', 'text/plain',
                             'application/x-www-form-urlencoded',
                             'multipart/form-data; boundary=x', None):
            resp = self.put_source(task.uuid, archive(), status=415,
                                   content_type=content_type)
            self.assertError(resp, 415, 'craton.unsupported_media_type',
                             ('Content-Type: application/gzip',
                              'a gzipped tar of the task directory'))
        self.assertNothingStored(task)

    def test_over_the_limit_is_413(self):
        task = self.make_upload_task()
        data = archive(f('noise', os.urandom(80 * KiB)))
        resp = self.put_source(task.uuid, data, status=413)
        self.assertError(resp, 413, 'craton.too_large', (
            'the body is %d bytes; at most 65536 are accepted ([api] '
            'max_upload_bytes)' % len(data)))
        self.assertNothingStored(task)

    def test_over_the_limit_without_content_length_is_413(self):
        # A chunked body: counted while it is read.
        task = self.make_upload_task()
        data = archive(f('noise', os.urandom(80 * KiB)))
        req = webtest.TestRequest.blank(
            '/v1/tasks/%s/source' % task.uuid, method='PUT',
            headers=dict(self.headers('member'),
                         **{'Content-Type': 'application/gzip'}))
        req.environ['wsgi.input'] = io.BytesIO(data)
        req.environ.pop('CONTENT_LENGTH', None)
        req.environ['wsgi.input_terminated'] = True
        testapp = webtest.TestApp(app.setup_app(conf.CONF), lint=False)
        resp = testapp.do_request(req, status=413, expect_errors=True)
        self.assertError(resp, 413, 'craton.task.archive_too_large',
                         'larger than 65536 bytes ([api] max_upload_bytes)')
        self.assertNothingStored(task)

    def test_limit_is_the_option_not_the_api_cap(self):
        # 10 MiB caps every other body; this route has its own limit.
        self.config(max_upload_bytes=11 << 20, group='api')
        task = self.make_upload_task()
        resp = self.put_source(task.uuid, os.urandom(10 << 20 | 1),
                               status=400)
        self.assertError(resp, 400, 'craton.task.invalid_archive',
                         'not a valid gzip stream')

    def test_gzip_bomb_is_413(self):
        task = self.make_upload_task()
        data = archive(f('bomb', b'\0' * (600 * KiB)))
        resp = self.put_source(task.uuid, data, status=413)
        self.assertError(resp, 413, 'craton.task.archive_too_large',
                         "member 'bomb'")
        self.assertNothingStored(task)

    def test_refused_archive_stores_nothing(self):
        self.post('/tasks', upload_body(), status=202)
        task = self.task('uploaded')
        for data, text in (
                (archive(sym('passwd', '/etc/passwd')),
                 "symlink 'passwd' -> '/etc/passwd' leads outside"),
                (archive(f('../x')), "member '../x'"),
                (archive(f('a/../../x')), "member 'a/../../x'"),
                (test_archives.bare(f('run.sh')), 'no regular file named '
                 'Dockerfile'),
                (b'\x1f\x8b but not really gzip', 'not a valid gzip'),
                (b'', 'the request has no body')):
            resp = self.put_source(task.uuid, data, status=400)
            self.assertError(resp, 400, 'craton.task.invalid_archive', text)
        self.assertNothingStored(task)
        self.assertIn('waiting for the source archive',
                      self.task(task.uuid).status_reason)

    def test_refused_archive_keeps_the_previous_one(self):
        task = self.make_upload_task()
        good = archive()
        source = self.put_source(task.uuid, good).json['source']
        self.casts['build_task'].reset_mock()
        resp = self.put_source(task.uuid, archive(f('/abs')), status=400)
        self.assertError(resp, 400, detail_contains="member '/abs'")
        self.assertEqual(good, self.stored(task))
        self.assertEqual(source, self.task(task.uuid).source)
        self.casts['build_task'].assert_not_called()

    def test_not_an_upload_task_is_409(self):
        task = self.make_task()
        resp = self.put_source(task.uuid, archive(), status=409)
        self.assertError(resp, 409, 'craton.invalid_state', (
            "task 'patch-host' has a git source",
            '{"type": "upload"}'))
        self.assertIsNone(self.stored(task))
        self.casts['build_task'].assert_not_called()

    def test_busy_task_is_409(self):
        for status in ('building', 'syncing', 'deleting'):
            task = self.make_upload_task('t-' + status, status=status)
            resp = self.put_source(task.uuid, archive(), status=409)
            self.assertError(resp, 409, 'craton.invalid_state',
                             "task 't-%s' is %s" % (status, status))
            self.assertIsNone(self.stored(task))

    def test_unknown_parameter(self):
        task = self.make_upload_task()
        resp = self.put_source(task.uuid, archive(), status=400,
                               path_suffix='?force=1')
        self.assertError(resp, 400, detail_contains='force')
        self.assertNothingStored(task)

    def test_other_methods_and_paths(self):
        task = self.make_upload_task()
        path = '/v1/tasks/%s/source' % task.uuid
        for method in ('get', 'post', 'delete', 'patch'):
            resp = getattr(self.app, method)(path, headers=self.headers(),
                                             status=405, expect_errors=True)
            self.assertError(resp, 405)
        resp = self.put_source(task.uuid, archive(), status=404,
                               path_suffix='/extra')
        self.assertError(resp, 404)
        self.assertNothingStored(task)

    def test_personas_and_projects(self):
        task = self.make_upload_task()
        for persona, status in (('reader', 403), ('none', 403),
                                ('member', 202), ('admin', 202)):
            resp = self.put_source(task.uuid, archive(), status=status,
                                   persona=persona)
            if status == 403:
                self.assertError(resp, 403, 'craton.forbidden',
                                 'craton:task:upload_source')
        for ident in (task.uuid, task.name, 'no-such-task'):
            resp = self.put_source(ident, archive(), status=404,
                                   project='project-b')
            self.assertError(resp, 404, 'craton.task.not_found')
