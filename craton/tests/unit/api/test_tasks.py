# SPDX-License-Identifier: Apache-2.0
"""/v1/tasks."""

import fixtures

from craton.common import fsm
from craton.db import api as db_api
from craton.objects import task as task_obj
from craton.tests.unit.api import base

GIT = {'type': 'git', 'url': 'https://git.example.org/ops/tasks.git',
       'ref': 'main', 'path': 'patch-host'}


def task_body(**kw):
    body = {'name': 'patch-host', 'description': 'apply security patches',
            'source': dict(GIT), 'command': ['python3', '/craton/task.py'],
            'timeout': 1800}
    body.update(kw)
    return body


class TestCreate(base.APITestCase):

    def test_create(self):
        resp = self.post('/tasks', task_body(), status=202)
        task = resp.json
        self.assertEqual('pending', task['status'])
        self.assertEqual('pending', task['approval'])
        self.assertEqual('private', task['visibility'])
        self.assertEqual(1800, task['timeout'])
        self.assertEqual('project-a', task['project_id'])
        self.assertEqual('user-a', task['user_id'])
        for hidden in ('id', 'conductor', 'approved_digest',
                       'build_number'):
            self.assertNotIn(hidden, task)
        for field in ('image', 'image_digest', 'registry_digest',
                      'approved_by', 'approved_at', 'status_reason',
                      'created_at', 'updated_at', 'shared_roles'):
            self.assertIn(field, task)
        self.assertEqual('http://localhost/v1/tasks/' + task['uuid'],
                         task['links'][0]['href'])
        self.casts['build_task'].assert_called_once_with(
            self.casts['build_task'].call_args[0][0], self.any_context(),
            task['uuid'])

    def any_context(self):
        return self.casts['build_task'].call_args[0][1]

    def test_default_timeout(self):
        body = task_body()
        del body['timeout']
        self.assertEqual(3600, self.post('/tasks', body,
                                         status=202).json['timeout'])

    def test_credentials_never_shown(self):
        body = task_body(source={'type': 'git',
                                 'url': 'https://bob:s3cret@git.example.org/x'})
        resp = self.post('/tasks', body, status=202)
        self.assertNotIn('s3cret', resp.text)
        resp = self.get('/tasks/patch-host')
        self.assertNotIn('s3cret', resp.text)
        self.assertNotIn('s3cret', self.get('/tasks').text)

    def test_invalid(self):
        cases = [
            ({'timeout': 0}, 'timeout'), ({'timeout': 86401}, 'timeout'),
            ({'command': []}, 'command'), ({'command': ['']}, 'command'),
            ({'name': ''}, 'name'),
            ({'name': '6f1c8e0e-7a47-4d57-9a1e-2f6a1f0e7c11'}, 'UUID'),
            ({'source': {'type': 'git', 'url': 'ext::sh -c x'}}, 'url'),
            ({'source': {'type': 'git', 'url': 'https://g.example/x',
                         'ref': '-x'}}, 'ref'),
            ({'source': {'type': 'local', 'path': 'relative'}}, 'path'),
            ({'source': {'type': 'upload', 'sha256': 'ab'}}, 'source.sha256'),
            ({'source': {'type': 'svn'}}, 'type'),
            ({'visibility': 'everyone'}, 'visibility'),
            ({'visibility': 'shared'}, 'shared_roles'),
            ({'visibility': 'shared', 'shared_roles': ['']},
             'shared_roles'),
            ({'visibility': 'shared', 'shared_roles': [' ops']},
             'shared_roles'),
            ({'visibility': 'shared', 'shared_roles': ['x' * 256]},
             'shared_roles'),
        ]
        for change, text in cases:
            resp = self.post('/tasks', task_body(**change), status=400)
            self.assertError(resp, 400, detail_contains=text)
        self.casts['build_task'].assert_not_called()

    def test_duplicate_name(self):
        self.post('/tasks', task_body(), status=202)
        resp = self.post('/tasks', task_body(), status=409)
        self.assertError(resp, 409, 'craton.duplicate', 'patch-host')


class TestRead(base.APITestCase):

    def test_get_by_uuid_and_name(self):
        task = self.make_task()
        self.assertEqual(task.uuid,
                         self.get('/tasks/' + task.uuid).json['uuid'])
        self.assertEqual(task.uuid,
                         self.get('/tasks/patch-host').json['uuid'])

    def test_filters(self):
        self.make_task('a', status='ready', approval='approved')
        self.make_task('b', status='error', approval='pending')
        names = [t['name'] for t in
                 self.get('/tasks?status=error').json['tasks']]
        self.assertEqual(['b'], names)
        names = [t['name'] for t in
                 self.get('/tasks?approval=approved').json['tasks']]
        self.assertEqual(['a'], names)
        names = [t['name'] for t in self.get('/tasks?name=a').json['tasks']]
        self.assertEqual(['a'], names)
        self.assertEqual(2, len(self.get(
            '/tasks?visibility=private').json['tasks']))

    def test_tenancy(self):
        # A private task, to members of another project (admins: see
        # test_task_visibility).
        task = self.make_task()
        other = {'project': 'project-b', 'persona': 'member'}
        for path in ('/tasks/' + task.uuid, '/tasks/patch-host'):
            resp = self.get(path, status=404, **other)
            self.assertError(resp, 404, 'craton.task.not_found')
        self.assertEqual([], self.get('/tasks', **other).json['tasks'])
        self.assertEqual([], self.get('/tasks', project='project-b')
                         .json['tasks'])
        self.post('/tasks/%s/approve' % task.uuid, status=404, **other)
        self.delete('/tasks/' + task.uuid, status=404, **other)
        self.patch('/tasks/' + task.uuid,
                   [{'op': 'replace', 'path': '/timeout', 'value': 5}],
                   status=404, **other)
        # The same name is free in another project.
        self.post('/tasks', task_body(), status=202, project='project-b')

    def test_sort_and_paginate(self):
        for name in ('c', 'a', 'e', 'b', 'd'):
            self.make_task(name)
        resp = self.get('/tasks?limit=2&sort_key=name&sort_dir=desc')
        self.assertEqual(['e', 'd'],
                         [t['name'] for t in resp.json['tasks']])
        seen = [t['name'] for t in resp.json['tasks']]
        url = resp.json['next']
        self.assertTrue(url.startswith('http://localhost/v1/tasks?'))
        while url:
            resp = self.app.get(url, headers=self.headers())
            seen += [t['name'] for t in resp.json['tasks']]
            url = resp.json.get('next')
        self.assertEqual(['e', 'd', 'c', 'b', 'a'], seen)
        resp = self.get('/tasks?limit=5')
        self.assertNotIn('next', resp.json)


class TestPatch(base.APITestCase):

    def test_description_and_timeout(self):
        task = self.make_task()
        resp = self.patch('/tasks/patch-host', [
            {'op': 'replace', 'path': '/description', 'value': 'new'},
            {'op': 'replace', 'path': '/timeout', 'value': 60}])
        self.assertEqual('new', resp.json['description'])
        self.assertEqual(60, resp.json['timeout'])
        # Neither touches the build nor the approval.
        self.assertEqual('ready', resp.json['status'])
        self.assertEqual('approved', resp.json['approval'])
        self.casts['build_task'].assert_not_called()
        self.assertEqual(task.uuid, resp.json['uuid'])

    def test_source_change_rebuilds_and_resets_approval(self):
        self.make_task()
        resp = self.patch('/tasks/patch-host', [
            {'op': 'add', 'path': '/source/ref', 'value': 'v2'}])
        self.assertEqual('v2', resp.json['source']['ref'])
        self.assertEqual('pending', resp.json['status'])
        self.assertEqual('pending', resp.json['approval'])
        self.assertIsNone(resp.json['approved_by'])
        self.assertEqual(1, self.casts['build_task'].call_count)

    def test_command_change_resets_approval_only(self):
        self.make_task()
        resp = self.patch('/tasks/patch-host', [
            {'op': 'replace', 'path': '/command', 'value': ['sh', '-c', 'x']}])
        self.assertEqual(['sh', '-c', 'x'], resp.json['command'])
        self.assertEqual('ready', resp.json['status'])
        self.assertEqual('pending', resp.json['approval'])
        self.casts['build_task'].assert_not_called()

    def test_rules(self):
        self.make_task()
        cases = [
            ([{'op': 'replace', 'path': '/name', 'value': 'x'}], '/name'),
            ([{'op': 'replace', 'path': '/status', 'value': 'ready'}],
             '/status'),
            ([{'op': 'replace', 'path': '/approval', 'value': 'approved'}],
             '/approval'),
            ([{'op': 'copy', 'from': '/status', 'path': '/description'}],
             '/status'),
            ([{'op': 'test', 'path': '/source/url', 'value': 'x'}],
             '/source/url'),
            ([{'op': 'merge', 'path': '/description', 'value': 'x'}],
             'body[0].op'),
            ([{'op': 'replace', 'path': '/timeout', 'value': 0}], 'timeout'),
            ([{'op': 'remove', 'path': '/command'}], 'command'),
            ([{'op': 'replace', 'path': '/visibility', 'value': 'all'}],
             'visibility'),
            ([{'op': 'replace', 'path': '/visibility', 'value': 'shared'}],
             'shared_roles'),
            ([{'op': 'add', 'path': '/shared_roles', 'value': 'ops'}],
             'shared_roles'),
            ([{'op': 'replace', 'path': '/source/url',
               'value': 'ext::sh'}], 'url'),
            ([{'op': 'remove', 'path': '/nothing/here'}], '/nothing'),
            ([{'op': 'replace', 'path': '/source/nope', 'value': 1}],
             'source'),
            ([], 'body'), ({'op': 'replace'}, 'body'), ([1], 'body'),
            ([{'op': 'replace', 'path': '/timeout'}], 'value'),
        ]
        for patch, text in cases:
            resp = self.patch('/tasks/patch-host', patch, status=400)
            self.assertError(resp, 400, detail_contains=text)
        task = self.get('/tasks/patch-host').json
        self.assertEqual('approved', task['approval'])

    def test_patch_keeps_hidden_credentials(self):
        self.make_task(source={'type': 'git',
                               'url': 'https://bob:tok@git.example.org/x'})
        resp = self.patch('/tasks/patch-host', [
            {'op': 'add', 'path': '/source/ref', 'value': 'v2'}])
        self.assertEqual('https://***@git.example.org/x',
                         resp.json['source']['url'])
        from craton.objects import task as task_obj
        stored = task_obj.Task.get(self.ctx(), 'patch-host')
        self.assertEqual('https://bob:tok@git.example.org/x',
                         stored.source['url'])


class TestActions(base.APITestCase):

    def test_approve(self):
        task = self.make_task(approval='pending', approved_digest=None)
        resp = self.post('/tasks/patch-host/approve', status=200)
        self.assertEqual('approved', resp.json['approval'])
        self.assertEqual('user-a', resp.json['approved_by'])
        self.assertIsNotNone(resp.json['approved_at'])
        from craton.objects import task as task_obj
        stored = task_obj.Task.get(self.ctx(), task.uuid)
        self.assertEqual(base.DIGEST, stored.approved_digest)

    def test_approve_not_ready(self):
        self.make_task(status='building', approval='pending')
        resp = self.post('/tasks/patch-host/approve', status=409)
        self.assertError(resp, 409, 'craton.invalid_state',
                         ('patch-host', 'building'))

    def test_approve_racing_a_build(self):
        # A rebuild finishes with another image between the approve's
        # read and its write: the approval must not land on an image the
        # admin did not see; the second look approves the new one.
        task = self.make_task(approval='pending', approved_digest=None)
        real = task_obj.Task.approve
        rebuilt = 'sha256:' + 'e' * 64

        def approve(obj, user_id, at):
            if obj.image_digest != rebuilt:
                db_api.get_instance().update_task(None, task.uuid,
                                       {'image_digest': rebuilt})
            return real(obj, user_id, at)
        self.useFixture(fixtures.MockPatchObject(task_obj.Task, 'approve',
                                                 approve))
        resp = self.post('/tasks/patch-host/approve', status=200)
        self.assertEqual(('approved', rebuilt),
                         (resp.json['approval'], resp.json['image_digest']))
        stored = task_obj.Task.get(self.ctx(), task.uuid)
        self.assertEqual(rebuilt, stored.approved_digest)

    def test_approve_racing_a_rebuild_that_is_still_running(self):
        task = self.make_task(approval='pending', approved_digest=None)
        real = task_obj.Task.approve

        def approve(obj, user_id, at):
            db_api.get_instance().update_task(None, task.uuid,
                                              {'status': 'building'})
            return real(obj, user_id, at)
        self.useFixture(fixtures.MockPatchObject(task_obj.Task, 'approve',
                                                 approve))
        resp = self.post('/tasks/patch-host/approve', status=409)
        self.assertError(resp, 409, 'craton.invalid_state',
                         ('patch-host', 'building'))
        stored = task_obj.Task.get(self.ctx(), task.uuid)
        self.assertEqual(('pending', None),
                         (stored.approval, stored.approved_digest))

    def test_reject(self):
        self.make_task()
        resp = self.post('/tasks/patch-host/reject',
                         {'reason': 'curl | sh'}, status=200)
        self.assertEqual('rejected', resp.json['approval'])
        self.assertEqual('curl | sh', resp.json['rejection_reason'])
        self.assertIsNone(resp.json['approved_by'])
        resp = self.post('/tasks/patch-host/reject', status=200)
        self.assertEqual('rejected', resp.json['approval'])
        resp = self.post('/tasks/patch-host/reject', {'why': 'x'},
                         status=400)
        self.assertError(resp, 400)

    def test_rebuild(self):
        task = self.make_task(status='error', approval='pending')
        resp = self.post('/tasks/patch-host/rebuild', status=202)
        self.assertEqual('pending', resp.json['status'])
        self.assertEqual(task.uuid, self.casts['build_task'].call_args[0][2])

    def test_delete(self):
        task = self.make_task()
        self.delete('/tasks/patch-host')
        self.get('/tasks/' + task.uuid, status=404)
        self.assertEqual(task.uuid,
                         self.casts['delete_task_images'].call_args[0][2])

    def test_delete_in_use(self):
        task = self.make_task()
        self.make_workflow('maintenance', [task])
        resp = self.delete('/tasks/patch-host', status=409)
        self.assertError(resp, 409, 'craton.in_use', 'maintenance')
        self.casts['delete_task_images'].assert_not_called()


class TestStatusRaces(base.APITestCase):
    """A conductor moves the task between the API's read and its write."""

    def race(self, after_get, after_refresh=None):
        """Run ``after_get(task)`` on a fresh copy of the task right after
        the API reads it, and ``after_refresh(task)`` right after the API
        reads its status again.
        """
        real_get = task_obj.Task.get.__func__
        real_refresh = task_obj.Task.refresh_status
        pending = {'get': after_get, 'refresh': after_refresh}

        def conductor(when, uuid):
            move = pending.pop(when, None)
            if move is not None:
                move(real_get(task_obj.Task, self.ctx(), uuid))

        def get(cls, context, ident, any_project=False):
            task = real_get(cls, context, ident, any_project=any_project)
            conductor('get', task.uuid)
            return task

        def refresh_status(task):
            real_refresh(task)
            conductor('refresh', task.uuid)
        self.useFixture(fixtures.MockPatchObject(
            task_obj.Task, 'get', classmethod(get)))
        self.useFixture(fixtures.MockPatchObject(
            task_obj.Task, 'refresh_status', refresh_status))

    def stored(self, task):
        return task_obj.Task.get(self.ctx(), task.uuid)

    @staticmethod
    def finish(task):
        assert task.transition(fsm.TASK_DONE)

    @staticmethod
    def build_again(task):
        assert task.start_build()

    def test_rebuild_racing_the_end_of_a_build(self):
        task = self.make_task(status='building', approval='pending')
        self.race(self.finish)
        resp = self.post('/tasks/patch-host/rebuild', status=202)
        self.assertEqual('pending', resp.json['status'])
        self.assertEqual('pending', self.stored(task).status)
        self.assertEqual(1, self.casts['build_task'].call_count)

    def test_rebuild_losing_twice_is_a_conflict(self):
        task = self.make_task(status='building', approval='pending')
        self.race(self.finish, self.build_again)
        resp = self.post('/tasks/patch-host/rebuild', status=409)
        self.assertError(resp, 409, 'craton.invalid_state',
                         ("task 'patch-host' changed meanwhile (it is "
                          "building now); try again",))
        self.assertEqual('building', self.stored(task).status)
        self.casts['build_task'].assert_not_called()

    def test_source_change_racing_the_end_of_a_build(self):
        task = self.make_task(status='building')
        self.race(self.finish)
        resp = self.patch('/tasks/patch-host', [
            {'op': 'add', 'path': '/source/ref', 'value': 'v2'}])
        self.assertEqual(('pending', 'pending', 'v2'),
                         (resp.json['status'], resp.json['approval'],
                          resp.json['source']['ref']))
        stored = self.stored(task)
        self.assertEqual(('pending', 'v2'),
                         (stored.status, stored.source['ref']))
        self.assertEqual(1, self.casts['build_task'].call_count)

    def test_delete_racing_the_end_of_a_build(self):
        task = self.make_task(status='building')
        self.race(self.finish)
        self.delete('/tasks/patch-host')
        self.get('/tasks/' + task.uuid, status=404)
        self.assertEqual(task.uuid,
                         self.casts['delete_task_images'].call_args[0][2])

    def test_delete_losing_twice_is_a_conflict(self):
        task = self.make_task(status='building')
        self.race(self.finish, self.build_again)
        resp = self.delete('/tasks/patch-host', status=409)
        self.assertError(resp, 409, 'craton.invalid_state',
                         'changed meanwhile')
        self.assertEqual('building', self.stored(task).status)
        self.casts['delete_task_images'].assert_not_called()

    def test_delete_racing_a_delete(self):
        task = self.make_task()
        self.race(lambda other: other.destroy())
        resp = self.delete('/tasks/patch-host', status=404)
        self.assertError(resp, 404, 'craton.task.not_found', task.uuid)
