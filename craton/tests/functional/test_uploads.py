# SPDX-License-Identifier: Apache-2.0
"""Uploaded task sources end to end: craton-all as a real process, a real
Docker engine, the archive sent over HTTP as an operator would send it
(``tar -czf t.tgz -C task .`` then ``curl -X PUT --data-binary @t.tgz``).

Needs CRATON_FUNCTIONAL=1, an engine at CRATON_TEST_DOCKER_URL (default
unix:///run/craton/docker.sock; tools/docker-engine.sh starts one) holding
``craton/busybox:latest`` (tools/build-base-images.sh busybox). With
CRATON_FUNCTIONAL set, an engine that does not answer is a failure.
"""

import gzip
import io
import os
import tarfile
import tempfile
import textwrap
import time
import uuid

import docker
import sqlalchemy as sa
import testtools

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment

BUSYBOX = 'craton/busybox:latest'
MAX_UPLOAD = 64 * 1024
DOCKERFILE = 'FROM %s\nCOPY . /task/\n' % BUSYBOX
RUN_SH = textwrap.dedent('''\
    #!/bin/sh
    echo "hello from an uploaded task"
    cat /task/msg
    cat /task/lib/link
    ''')


def task_archive(msg, extra=None):
    """A gzipped tar of a task directory, made as ``tar -C dir .`` would."""
    with tempfile.TemporaryDirectory() as top:
        files = {'Dockerfile': DOCKERFILE, 'run.sh': RUN_SH, 'msg': msg,
                 'lib/data': 'from lib/data\n'}
        files.update(extra or {})
        for name, text in files.items():
            path = os.path.join(top, name)
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)
            os.chmod(path, 0o644)
        os.chmod(os.path.join(top, 'lib'), 0o755)
        os.symlink('data', os.path.join(top, 'lib', 'link'))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w:gz') as tar:
            tar.add(top, arcname='.')
        return buf.getvalue()


def hostile_archive(*members):
    """Dockerfile plus ``members``: (name, type, linkname) tuples."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        info = tarfile.TarInfo('Dockerfile')
        info.size = len(DOCKERFILE)
        tar.addfile(info, io.BytesIO(DOCKERFILE.encode()))
        for name, kind, linkname in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, linkname
            payload = b'pwned\n' if kind == tarfile.REGTYPE else b''
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


@dbfixtures.requires_functional
class UploadsTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        url = deployment.DOCKER_URL
        try:
            cls.docker = docker.DockerClient(base_url=url, timeout=30)
            cls.docker.ping()
        except Exception as exc:
            raise AssertionError(
                'the Docker engine at %s does not answer (%s); start one '
                'with tools/docker-engine.sh' % (url, exc))
        try:
            cls.docker.images.get(BUSYBOX)
        except docker.errors.ImageNotFound:
            raise AssertionError('%s is missing on %s; make it with '
                                 'tools/build-base-images.sh busybox'
                                 % (BUSYBOX, url))
        cls.deploy = deployment.Deployment(
            extra={'api': {'max_upload_bytes': str(MAX_UPLOAD)}})
        cls.deploy.setUp()
        cls.api = cls.deploy.client
        cls.task_uuids = []
        cls.api.add_hosts(['upload-host-01'])

    @classmethod
    def tearDownClass(cls):
        try:
            cls.deploy.cleanUp()
        finally:
            for image in cls.docker.images.list():
                for tag in image.tags:
                    if any(u in tag for u in cls.task_uuids):
                        try:
                            cls.docker.images.remove(tag, force=True)
                        except docker.errors.APIError:
                            pass
            cls.docker.close()
        super().tearDownClass()

    def create(self, name=None):
        name = name or 'upload-%s' % uuid.uuid4().hex[:8]
        task = self.api.post('/v1/tasks', {
            'name': name, 'source': {'type': 'upload'},
            'command': ['sh', '/task/run.sh']}, expect=202)
        self.task_uuids.append(task['uuid'])
        self.assertEqual(('pending', {'type': 'upload'}),
                         (task['status'], task['source']))
        self.assertIn('waiting for the source archive: PUT /v1/tasks/%s/'
                      'source' % task['uuid'], task['status_reason'])
        return task

    def put(self, task, data, expect=202, content_type='application/gzip'):
        resp = self.api.request(
            'PUT', '/v1/tasks/%s/source' % task['uuid'], expect, data=data,
            headers={'Content-Type': content_type})
        return resp.json()

    def error(self, body, status, code, detail):
        self.assertEqual(1, len(body['errors']), body)
        error = body['errors'][0]
        self.assertEqual((status, code), (error['status'], error['code']),
                         error)
        self.assertIn(detail, error['detail'])
        self.assertTrue(error['request_id'].startswith('req-'))

    def stored_chunks(self, task):
        engine = sa.create_engine('sqlite:///%s/craton.sqlite'
                                  % self.deploy.dir)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(
                    'SELECT count(*) FROM task_upload_chunks c JOIN tasks t '
                    'ON t.id = c.task_id WHERE t.uuid = :u'),
                    {'u': task['uuid']}).scalar()
        finally:
            engine.dispose()

    def assertStillWaiting(self, task):
        now = self.api.get('/v1/tasks/%s' % task['uuid'])
        self.assertEqual(('pending', {'type': 'upload'}, None),
                         (now['status'], now['source'], now['image']))
        self.assertIn('waiting for the source archive', now['status_reason'])
        self.assertEqual(0, self.stored_chunks(task))

    def run_task(self, task):
        job = self.api.submit_job({'hosts': ['upload-host-01']},
                                  task=task['uuid'])
        job = self.api.wait_job(job['uuid'])
        self.assertEqual('succeeded', job['status'], job)
        log, complete = self.api.full_log(job['uuid'], 0)
        self.assertTrue(complete)
        return log.decode()

    def test_upload_build_approve_run_and_upload_again(self):
        task = self.create()
        # The sweep runs every second: it must not build a task that has
        # nothing to build yet.
        time.sleep(3)
        self.assertStillWaiting(task)

        data = task_archive('first\n')
        accepted = self.put(task, data)
        self.assertEqual('upload', accepted['source']['type'])
        self.assertEqual(len(data), accepted['source']['size'])
        self.assertEqual(64, len(accepted['source']['sha256']))
        self.assertEqual('pending', accepted['approval'])
        ready = self.api.wait_task(task['uuid'])
        self.assertEqual(accepted['source'], ready['source'])
        self.assertTrue(ready['image_digest'].startswith('sha256:'))
        self.api.post('/v1/tasks/%s/approve' % task['uuid'], expect=200)
        log = self.run_task(task)
        self.assertIn('hello from an uploaded task\nfirst\nfrom lib/data\n',
                      log)

        again = self.put(task, task_archive('second\n'))
        self.assertEqual(('pending', 'pending'),
                         (again['status'], again['approval']))
        self.assertNotEqual(accepted['source']['sha256'],
                            again['source']['sha256'])
        rebuilt = self.api.wait_task(task['uuid'])
        self.assertNotEqual(ready['image_digest'], rebuilt['image_digest'])
        self.assertEqual('pending', rebuilt['approval'])
        job = self.api.submit_job({'hosts': ['upload-host-01']},
                                  task=task['uuid'], expect=409)
        self.assertIn('not approved', str(job))
        self.api.post('/v1/tasks/%s/approve' % task['uuid'], expect=200)
        self.assertIn('\nsecond\n', self.run_task(task))

    def test_hostile_archives_are_refused_and_nothing_stored(self):
        task = self.create()
        for data, detail in (
                (hostile_archive(('passwd', tarfile.SYMTYPE, '/etc/passwd')),
                 "symlink 'passwd' -> '/etc/passwd' leads outside"),
                (hostile_archive(('../escape', tarfile.REGTYPE, '')),
                 "member '../escape' has a \"..\" component"),
                (hostile_archive(('a', tarfile.SYMTYPE, '.'),
                                 ('b', tarfile.SYMTYPE, 'a/..')),
                 "symlink 'b' -> 'a/..' leads outside"),
                (hostile_archive(('null', tarfile.CHRTYPE, '')),
                 "member 'null' is a character device"),
                (hostile_archive(('h', tarfile.LNKTYPE, '/etc/shadow')),
                 "hard link 'h' -> '/etc/shadow' is an absolute path"),
                (gzip.compress(b'not a tar at all' * 64),
                 'not a valid tar archive')):
            body = self.put(task, data, expect=400)
            self.error(body, 400, 'craton.task.invalid_archive', detail)
        time.sleep(2)
        self.assertStillWaiting(task)

    def test_too_large_and_wrong_type(self):
        task = self.create()
        noise = os.urandom(MAX_UPLOAD + 1)
        body = self.put(task, noise, expect=413)
        self.error(body, 413, 'craton.too_large',
                   'at most %d are accepted ([api] max_upload_bytes)'
                   % MAX_UPLOAD)
        bomb = task_archive('x', extra={'zeros': '\0' * (9 * MAX_UPLOAD)})
        self.assertLess(len(bomb), MAX_UPLOAD)
        body = self.put(task, bomb, expect=413)
        self.error(body, 413, 'craton.task.archive_too_large',
                   "member './zeros' brings the unpacked size past")
        body = self.put(task, task_archive('x'), expect=415,
                        content_type='application/x-tar')
        self.error(body, 415, 'craton.unsupported_media_type',
                   'Content-Type: application/gzip')
        self.assertStillWaiting(task)

    def test_not_an_upload_task_is_409(self):
        task = self.api.post('/v1/tasks', {
            'name': 'git-%s' % uuid.uuid4().hex[:8], 'command': ['true'],
            'source': {'type': 'git', 'url': 'https://127.0.0.1:1/x.git'}},
            expect=202)
        self.task_uuids.append(task['uuid'])
        body = self.put(task, task_archive('x'), expect=409)
        self.error(body, 409, 'craton.invalid_state', 'has a git source')
