# SPDX-License-Identifier: Apache-2.0
"""``openstack craton task …`` against a fake API."""

import gzip
import io
import os
import tarfile

import fixtures

from cratonclient.tests.unit import base

UUID = base.task()['uuid']


def members(body):
    """``{name: bytes or ('->', target)}`` of a gzipped tar."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(body))) as tar:
        for m in tar.getmembers():
            if m.issym():
                out[m.name] = ('->', m.linkname)
            elif m.isfile():
                out[m.name] = tar.extractfile(m).read()
            else:
                out[m.name] = 'dir'
    return out


class TestCreate(base.ShellTestCase):

    def setUp(self):
        super().setUp()
        self.api.post(self.url('/v1/tasks'), status_code=202,
                      json=base.task())

    def test_git_source_and_shell_split_command(self):
        self.run_json('task', 'create', 'audit', '--command',
                      'python3 /craton/task.py --msg "hello world" \'a b\'',
                      '--git-url', 'https://git.example.org/t.git',
                      '--git-ref', 'v2', '--git-path', 'audit',
                      '--description', 'd', '--timeout', '60')
        self.assertEqual({
            'name': 'audit',
            'command': ['python3', '/craton/task.py', '--msg', 'hello world',
                        'a b'],
            'source': {'type': 'git', 'url': 'https://git.example.org/t.git',
                       'ref': 'v2', 'path': 'audit'},
            'description': 'd', 'timeout': 60}, self.sent())

    def test_local_path(self):
        out = self.run_json('task', 'create', 'audit', '--command', 'true',
                            '--local-path', '/srv/tasks/audit')
        self.assertEqual({'type': 'local', 'path': '/srv/tasks/audit'},
                         self.sent()['source'])
        # -f json: command and source stay JSON values.
        self.assertEqual(['python3', '/craton/task.py'], out['command'])
        self.assertEqual({'type': 'upload'}, out['source'])

    def test_table_shows_the_command_as_a_shell_line(self):
        result = self.run_cli('task', 'create', 'audit', '--command', 'x',
                              '--local-path', '/srv/a')
        self.assertIn('python3 /craton/task.py', result.stdout)

    def test_exactly_one_source(self):
        result = self.run_cli('task', 'create', 'audit', '--command', 'x')
        self.assertEqual(2, result.rc)
        result = self.run_cli('task', 'create', 'audit', '--command', 'x',
                              '--local-path', '/a', '--git-url', 'u')
        self.assertEqual(2, result.rc)
        self.assertIn('not allowed with', result.stderr)
        self.assertFalse(self.api.called)

    def test_git_options_need_git_url(self):
        result = self.run_cli('task', 'create', 'audit', '--command', 'x',
                              '--local-path', '/a', '--git-ref', 'main')
        self.assert_one_error_line(result, '--git-ref', '--git-url')
        self.assertFalse(self.api.called)

    def test_bad_command(self):
        for command in ('', '"unbalanced'):
            result = self.run_cli('task', 'create', 'audit', '--command',
                                  command, '--local-path', '/a')
            self.assert_one_error_line(result, '--command')
        self.assertFalse(self.api.called)

    def _task_dir(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(tmp, 'Dockerfile'), 'w') as f:
            f.write('FROM scratch\n')
        os.mkdir(os.path.join(tmp, 'lib'))
        with open(os.path.join(tmp, 'lib', 'task.py'), 'wb') as f:
            f.write(b'print("hi")\n\xff')
        os.symlink('lib/task.py', os.path.join(tmp, 'main.py'))
        return tmp

    def test_from_dir_uploads_a_gzipped_tar_of_the_directory(self):
        tmp = self._task_dir()
        self.api.put(self.url('/v1/tasks/%s/source' % UUID), status_code=202,
                     json=base.task(source={'type': 'upload', 'size': 1}))
        out = self.run_json('task', 'create', 'audit', '--command',
                            'python3 /craton/lib/task.py', '--from-dir', tmp)
        create, upload = self.api.request_history
        self.assertEqual({'type': 'upload'}, create.json()['source'])
        self.assertEqual('PUT', upload.method)
        self.assertEqual('application/gzip', upload.headers['Content-Type'])
        self.assertEqual({'Dockerfile': b'FROM scratch\n', 'lib': 'dir',
                          'lib/task.py': b'print("hi")\n\xff',
                          'main.py': ('->', 'lib/task.py')},
                         members(upload.body))
        # The task is printed as the upload left it.
        self.assertEqual(1, out['source']['size'])

    def test_from_dir_without_dockerfile_creates_nothing(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        result = self.run_cli('task', 'create', 'audit', '--command', 'x',
                              '--from-dir', tmp)
        self.assert_one_error_line(result, 'Dockerfile', tmp)
        self.assertFalse(self.api.called)
        result = self.run_cli('task', 'create', 'audit', '--command', 'x',
                              '--from-dir', os.path.join(tmp, 'missing'))
        self.assert_one_error_line(result, 'not a directory')

    def test_refused_upload_deletes_the_new_task(self):
        tmp = self._task_dir()
        self.api.put(self.url('/v1/tasks/%s/source' % UUID), status_code=413,
                     json=base.error_body(413, 'archive too large',
                                          request_id='req-9'))
        self.api.delete(self.url('/v1/tasks/' + UUID), status_code=204)
        result = self.run_cli('task', 'create', 'audit', '--command', 'x',
                              '--from-dir', tmp)
        self.assert_one_error_line(result, 'archive too large', '413',
                                   'req-9')
        self.assertEqual(['POST', 'PUT', 'DELETE'],
                         [r.method for r in self.api.request_history])

    def _builds(self, *statuses, reason=None):
        self.api.get(self.url('/v1/tasks/' + UUID), [
            {'json': base.task(status=s,
                               status_reason=reason if s == 'error' else None)}
            for s in statuses])

    def test_wait_until_ready_plain_lines(self):
        self._builds('pending', 'building', 'building', 'ready')
        result = self.run_cli('task', 'create', 'audit', '--command', 'x',
                              '--local-path', '/a', '--wait', '-f', 'value',
                              '-c', 'status')
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual('ready\n', result.stdout)
        lines = result.stderr.splitlines()
        self.assertEqual(['task audit: pending', 'task audit: building',
                          'task audit: ready'],
                         [line.split(' (')[0] for line in lines])
        self.assertNotIn('\x1b', result.stderr)

    def test_wait_error_exits_1_with_the_reason(self):
        self._builds('building', 'error', reason='step 3: RUN false failed')
        result = self.run_cli('task', 'create', 'audit', '--command', 'x',
                              '--local-path', '/a', '--wait', '-f', 'json')
        self.assertEqual(1, result.rc)
        self.assertIn('task audit: error', result.stderr)
        self.assertIn('RUN false failed', result.stderr)
        self.assertIn('"status": "error"', result.stdout)

    def test_wait_on_a_terminal_redraws_one_line(self):
        self._builds('pending', 'building', 'ready')
        result = self.run_cli('task', 'create', 'audit', '--command', 'x',
                              '--local-path', '/a', '--wait', '-f', 'value',
                              '-c', 'status', tty=True)
        self.assertEqual(0, result.rc)
        # Drawn three times; each redraw moves up over the previous one.
        self.assertEqual(2, result.stderr.count('\x1b[1A'))
        self.assertEqual(3, result.stderr.count('\r\x1b[2K'))
        self.assertTrue(result.stderr.rstrip('\x1b[J').endswith('\n'))


class TestOthers(base.ShellTestCase):

    def test_list_filters_and_columns(self):
        self.api.get(self.url('/v1/tasks'), json={'tasks': [
            base.task(status='ready', approval='approved')]})
        result = self.run_cli('task', 'list', '--status', 'ready',
                              '--approval', 'approved', '--visibility',
                              'public', '-f', 'value')
        self.assertEqual({'status': ['ready'], 'approval': ['approved'],
                          'visibility': ['public']},
                         self.api.last_request.qs)
        self.assertEqual('%s audit ready approved private\n' % UUID,
                         result.stdout)
        out = self.run_json('task', 'list')
        self.assertEqual(['python3', '/craton/task.py'], out[0]['command'])

    def test_show_by_name(self):
        self.api.get(self.url('/v1/tasks/audit'), json=base.task())
        self.assertEqual(UUID, self.run_json('task', 'show', 'audit')['uuid'])

    def test_set(self):
        self.api.patch(self.url('/v1/tasks/audit'), json=base.task())
        self.run_json('task', 'set', 'audit', '--description', 'd',
                      '--command', "sh -c 'exit 0'", '--timeout', '30',
                      '--visibility', 'shared', '--shared-role', 'ops',
                      '--shared-role', 'dev')
        self.assertEqual([
            {'op': 'replace', 'path': '/description', 'value': 'd'},
            {'op': 'replace', 'path': '/command',
             'value': ['sh', '-c', 'exit 0']},
            {'op': 'replace', 'path': '/timeout', 'value': 30},
            {'op': 'replace', 'path': '/visibility', 'value': 'shared'},
            {'op': 'replace', 'path': '/shared_roles',
             'value': ['ops', 'dev']},
        ], self.sent())
        self.assertEqual('application/json-patch+json',
                         self.api.last_request.headers['Content-Type'])

    def test_set_refused_visibility_is_one_line(self):
        self.api.patch(self.url('/v1/tasks/audit'), status_code=403,
                       json=base.error_body(
                           403, 'Policy does not allow '
                                'craton:task:update_visibility to be '
                                'performed.', request_id='req-f'))
        result = self.run_cli('task', 'set', 'audit', '--visibility',
                              'public')
        self.assert_one_error_line(result, 'update_visibility', '403',
                                   'req-f')

    def test_approve_reject(self):
        self.api.post(self.url('/v1/tasks/audit/approve'),
                      json=base.task(approval='approved'))
        self.assertEqual('approved', self.run_json(
            'task', 'approve', 'audit')['approval'])
        self.assertIsNone(self.api.last_request.body)
        self.api.post(self.url('/v1/tasks/audit/reject'),
                      json=dict(base.task(approval='rejected'),
                                rejection_reason='no'))
        out = self.run_json('task', 'reject', 'audit', '--reason', 'no')
        self.assertEqual({'reason': 'no'}, self.sent())
        self.assertEqual('no', out['rejection_reason'])

    def test_approve_not_ready_shows_the_409(self):
        self.api.post(self.url('/v1/tasks/audit/approve'), status_code=409,
                      json=base.error_body(
                          409, "task 'audit' is building; only a ready task "
                               "can be approved", request_id='req-c'))
        result = self.run_cli('task', 'approve', 'audit')
        self.assert_one_error_line(result, "task 'audit' is building",
                                   '(HTTP 409)', 'req-c')

    def test_rebuild_and_wait(self):
        self.api.post(self.url('/v1/tasks/audit/rebuild'), status_code=202,
                      json=base.task())
        self.api.get(self.url('/v1/tasks/' + UUID),
                     [{'json': base.task(status='building')},
                      {'json': base.task(status='ready')}])
        result = self.run_cli('task', 'rebuild', 'audit', '--wait')
        self.assertEqual(0, result.rc)
        self.assertIn('task audit: ready', result.stderr)

    def test_rebuild_from_dir_uploads(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(tmp, 'Dockerfile'), 'w') as f:
            f.write('FROM x\n')
        self.api.put(self.url('/v1/tasks/audit/source'), status_code=202,
                     json=base.task())
        self.run_json('task', 'rebuild', 'audit', '--from-dir', tmp)
        self.assertEqual({'Dockerfile': b'FROM x\n'},
                         members(self.api.last_request.body))

    def test_delete_in_use(self):
        self.api.delete(self.url('/v1/tasks/audit'), status_code=409,
                        json=base.error_body(
                            409, "task 'audit' is used by workflows: nightly"))
        result = self.run_cli('task', 'delete', 'audit')
        self.assert_one_error_line(result, 'used by workflows: nightly')
