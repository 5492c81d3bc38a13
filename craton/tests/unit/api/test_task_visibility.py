# SPDX-License-Identifier: Apache-2.0
"""Task visibility (API.md "Tasks", "Auth and tenancy"): who lists, shows,
uses, changes and approves a private, shared or public task of project A.
"""

import itertools

from craton.objects import job as job_obj
from craton.tests.unit.api import base
from craton.tests.unit.common import test_archives

A, B = 'project-a', 'project-b'
VISIBILITIES = ('private', 'shared', 'public')
SHARED_ROLE = 'ops'

# persona -> (project, roles). Tasks belong to project A; the shared ones
# are shared with SHARED_ROLE.
PERSONAS = {
    'owner': (A, 'member,reader'),
    'admin_b': (B, 'admin,member,reader'),
    'role_b': (B, 'member,reader,' + SHARED_ROLE),
    'member_b': (B, 'member,reader'),
    'reader_b': (B, 'reader'),
}


def _row(private, shared, public):
    return dict(zip(VISIBILITIES, (private, shared, public), strict=True))


def _same(status):
    return _row(status, status, status)


# Another project's task that the caller sees: 403 for what they may not
# do with it; one they do not see: 404.
_SEEN_BY_ROLE = _row(404, 403, 403)
_PUBLIC_ONLY = _row(404, 404, 403)

# action -> persona -> visibility -> expected status (for 'list': whether
# the task is in the caller's list).
TABLE = {
    'list': {
        'owner': _same(True), 'admin_b': _row(False, False, True),
        'role_b': _row(False, True, True),
        'member_b': _row(False, False, True),
        'reader_b': _row(False, False, True)},
    'show_by_uuid': {
        'owner': _same(200), 'admin_b': _same(200),
        'role_b': _row(404, 200, 200), 'member_b': _row(404, 404, 200),
        'reader_b': _row(404, 404, 200)},
    'show_by_name': {
        'owner': _same(200), 'admin_b': _same(404), 'role_b': _same(404),
        'member_b': _same(404), 'reader_b': _same(404)},
    'patch': {
        'owner': _same(200), 'admin_b': _same(403),
        'role_b': _SEEN_BY_ROLE, 'member_b': _PUBLIC_ONLY,
        'reader_b': _PUBLIC_ONLY},
    'delete': {
        'owner': _same(204), 'admin_b': _same(403),
        'role_b': _SEEN_BY_ROLE, 'member_b': _PUBLIC_ONLY,
        'reader_b': _PUBLIC_ONLY},
    'rebuild': {
        'owner': _same(202), 'admin_b': _same(403),
        'role_b': _SEEN_BY_ROLE, 'member_b': _PUBLIC_ONLY,
        'reader_b': _PUBLIC_ONLY},
    'upload_source': {
        'owner': _same(202), 'admin_b': _same(403),
        'role_b': _SEEN_BY_ROLE, 'member_b': _PUBLIC_ONLY,
        'reader_b': _PUBLIC_ONLY},
    'approve': {
        'owner': _same(403), 'admin_b': _same(200),
        'role_b': _SEEN_BY_ROLE, 'member_b': _PUBLIC_ONLY,
        'reader_b': _PUBLIC_ONLY},
    'reject': {
        'owner': _same(403), 'admin_b': _same(200),
        'role_b': _SEEN_BY_ROLE, 'member_b': _PUBLIC_ONLY,
        'reader_b': _PUBLIC_ONLY},
    # Using a task: an admin sees every task but uses only what is visible
    # to the project (public, or shared with one of the caller's roles).
    'use_in_workflow': {
        'owner': _same(201), 'admin_b': _row(400, 400, 201),
        'role_b': _row(400, 201, 201), 'member_b': _row(400, 400, 201),
        'reader_b': _same(403)},
    'job_with_task': {
        'owner': _same(202), 'admin_b': _row(400, 400, 202),
        'role_b': _row(400, 202, 202), 'member_b': _row(400, 400, 202),
        'reader_b': _same(403)},
    'job_with_workflow': {
        'owner': _same(202), 'admin_b': _row(400, 400, 202),
        'role_b': _row(400, 202, 202), 'member_b': _row(400, 400, 202),
        'reader_b': _same(403)},
}

# What a 400 names, per action.
FIELDS = {'use_in_workflow': 'steps[0].task', 'job_with_task': "'task'",
          'job_with_workflow': "'workflow'"}


class VisibilityTestCase(base.APITestCase):

    def as_(self, persona, method, path, body=None, status='*',
            headers=None, **kw):
        """A request as ``persona``; ``headers`` may override its roles."""
        project, roles = PERSONAS[persona]
        return self.request(method, path, body, status=status,
                            project=project,
                            headers=dict({'X-Roles': roles}, **headers or {}),
                            **kw)

    def make_visible_task(self, name, visibility, project=A, **kw):
        kw.setdefault('shared_roles',
                      [SHARED_ROLE] if visibility == 'shared' else [])
        return self.make_task(name, project=project, visibility=visibility,
                              **kw)

    def host(self, project, n):
        region = self.make_region('r-%s' % n, project=project)
        return self.make_host('h-%s' % n, region, project=project)


class TestPersonaTable(VisibilityTestCase):

    def cell(self, n, action, persona, visibility):
        """Run ``action`` as ``persona`` on a fresh task of A; return the
        outcome: a status, or for 'list' whether the task was listed.
        """
        project = PERSONAS[persona][0]
        upload = action == 'upload_source'
        task = self.make_visible_task(
            'vis-%d' % n, visibility,
            **({'source': {'type': 'upload'}} if upload else {}))
        one = '/tasks/' + task.uuid
        if action == 'list':
            listed = self.as_(persona, 'get', '/tasks?limit=1000',
                              status=200).json['tasks']
            return task.uuid in [t['uuid'] for t in listed]
        if action == 'show_by_uuid':
            return self.as_(persona, 'get', one)
        if action == 'show_by_name':
            return self.as_(persona, 'get', '/tasks/' + task.name)
        if action == 'patch':
            return self.as_(persona, 'patch', one, [
                {'op': 'replace', 'path': '/description', 'value': 'x'}])
        if action == 'delete':
            return self.as_(persona, 'delete', one)
        if action in ('rebuild', 'approve', 'reject'):
            return self.as_(persona, 'post', '%s/%s' % (one, action))
        if upload:
            project_id, roles = PERSONAS[persona]
            return self.app.put(
                '/v1%s/source' % one, test_archives.archive(),
                headers=dict(self.headers(project=project_id),
                             **{'X-Roles': roles,
                                'Content-Type': 'application/gzip'}),
                expect_errors=True)
        if action == 'use_in_workflow':
            return self.as_(persona, 'post', '/workflows', {
                'name': 'wf-%d' % n, 'steps': [{'task': task.uuid}]})
        host = self.host(project, n)
        if action == 'job_with_task':
            body = {'task': task.uuid}
        else:
            # A workflow of the caller's project naming the task (made
            # while it was visible, or by the owner).
            body = {'workflow': self.make_workflow(
                'wf-%d' % n, [task], project=project).uuid}
        body['inventory'] = {'hosts': [host.uuid]}
        return self.as_(persona, 'post', '/jobs', body)

    def test_table(self):
        self.config(max_upload_bytes=1 << 20, group='api')
        counter = itertools.count()
        failures = []
        for action, personas in TABLE.items():
            for persona, row in personas.items():
                for visibility, expected in row.items():
                    outcome = self.cell(next(counter), action, persona,
                                        visibility)
                    status = outcome if action == 'list' \
                        else outcome.status_int
                    if status != expected:
                        failures.append('%s as %s on a %s task: %s, '
                                        'expected %s' % (
                                            action, persona, visibility,
                                            status, expected))
                        continue
                    if status == 403:
                        self.assertError(outcome, 403, 'craton.forbidden')
                    elif status == 404:
                        self.assertError(outcome, 404,
                                         'craton.task.not_found')
                    elif status == 400:
                        self.assertError(outcome, 400,
                                         detail_contains=FIELDS[action])
        self.assertEqual([], failures)


class TestUse(VisibilityTestCase):

    def setUp(self):
        super().setUp()
        self.host_b = self.host(B, 'b')

    def submit(self, body, persona='member_b', status=202):
        body = dict(body, inventory={'hosts': [self.host_b.uuid]})
        return self.as_(persona, 'post', '/jobs', body, status=status)

    def test_job_of_another_project_pins_the_approved_image(self):
        digest = 'sha256:' + 'b' * 64
        task = self.make_visible_task(
            'pub', 'public', image_digest=digest, approved_digest=digest,
            image='registry.example:5000/craton/task-x:3',
            registry_digest='sha256:' + 'c' * 64)
        job = self.submit({'task': task.uuid}).json
        self.assertEqual(B, job['project_id'])
        self.assertEqual(task.uuid, job['task_uuid'])
        self.assertEqual([(task.uuid, digest)],
                         [(s['task_uuid'], s['image_digest'])
                          for s in job['steps']])
        # What the step runs: the pushed image by its registry digest.
        stored = job_obj.Job.get(self.ctx(B), job['uuid'])
        self.assertEqual(
            'registry.example:5000/craton/task-x@sha256:' + 'c' * 64,
            stored.steps[0].image)
        self.casts['run_job'].assert_called_once()

    def test_unapproved_task_of_another_project_is_refused(self):
        task = self.make_visible_task('pub', 'public', approval='pending',
                                      approved_digest=None)
        resp = self.submit({'task': task.uuid}, status=409)
        self.assertError(resp, 409, 'craton.task.not_approved', 'pub')

    def test_name_resolves_in_the_own_project_only(self):
        self.make_visible_task('pub', 'public')
        resp = self.submit({'task': 'pub'}, status=400)
        self.assertError(resp, 400, detail_contains="'task'")
        resp = self.as_('member_b', 'post', '/workflows', {
            'name': 'wf', 'steps': [{'task': 'pub'}]}, status=400)
        self.assertError(resp, 400, detail_contains='steps[0].task')
        # The caller's own task of that name is the one found.
        own = self.make_visible_task('pub', 'private', project=B)
        job = self.submit({'task': 'pub'}).json
        self.assertEqual(own.uuid, job['task_uuid'])

    def test_back_to_private_keeps_jobs_and_refuses_new_ones(self):
        task = self.make_visible_task('pub', 'public')
        workflow = self.as_('member_b', 'post', '/workflows', {
            'name': 'wf-b', 'steps': [{'name': 'patch', 'task': task.uuid}]},
            status=201).json
        first = self.submit({'workflow': workflow['uuid']}).json
        second = self.submit({'task': task.uuid}).json
        self.as_('owner', 'patch', '/tasks/' + task.uuid, [
            {'op': 'replace', 'path': '/visibility', 'value': 'private'}],
            headers={'X-Roles': 'admin'}, status=200)

        # Jobs already submitted keep their steps and pinned image.
        for job in (first, second):
            now = self.as_('member_b', 'get', '/jobs/' + job['uuid'],
                           status=200).json
            self.assertEqual(job['steps'], now['steps'])
            self.assertEqual(job['status'], now['status'])
        # New ones are refused, naming the field (and the step's task).
        resp = self.submit({'task': task.uuid}, status=400)
        self.assertError(resp, 400, detail_contains=("'task'", task.uuid))
        resp = self.submit({'workflow': workflow['uuid']}, status=400)
        self.assertError(resp, 400, detail_contains=(
            "'workflow'", "step 'patch'", task.uuid))
        resp = self.as_('member_b', 'post', '/workflows', {
            'name': 'wf-new', 'steps': [{'task': task.uuid}]}, status=400)
        self.assertError(resp, 400, detail_contains='steps[0].task')
        resp = self.as_('member_b', 'put', '/workflows/wf-b', {
            'name': 'wf-b', 'steps': [{'task': task.uuid}]}, status=400)
        self.assertError(resp, 400, detail_contains='steps[0].task')
        # The workflow itself stays readable; its step no longer shows
        # the task's name.
        shown = self.as_('member_b', 'get', '/workflows/wf-b',
                         status=200).json
        self.assertEqual([(task.uuid, None)],
                         [(s['task'], s['task_name']) for s in
                          shown['steps']])
        self.assertEqual(404, self.as_('member_b', 'get',
                                       '/tasks/' + task.uuid).status_int)

    def test_losing_the_shared_role_refuses_new_jobs(self):
        task = self.make_visible_task('shared', 'shared')
        self.submit({'task': task.uuid}, persona='role_b')
        self.as_('owner', 'patch', '/tasks/' + task.uuid, [
            {'op': 'replace', 'path': '/shared_roles', 'value': ['other']}],
            headers={'X-Roles': 'admin'}, status=200)
        resp = self.submit({'task': task.uuid}, persona='role_b',
                           status=400)
        self.assertError(resp, 400, detail_contains="'task'")

    def test_roles_match_case_insensitively_and_by_implication(self):
        members = self.make_visible_task('members', 'shared',
                                         shared_roles=['member'])
        # Created through the API, role names are kept in lower case.
        created = self.as_('owner', 'post', '/tasks', {
            'name': 'api', 'source': {'type': 'git',
                                      'url': 'https://git.example.org/x'},
            'command': ['x'], 'visibility': 'shared',
            'shared_roles': ['Ops', 'ops']},
            headers={'X-Roles': 'admin'}, status=202).json
        self.assertEqual(['ops'], created['shared_roles'])
        self.as_('role_b', 'get', '/tasks/' + created['uuid'], status=200)
        self.as_('member_b', 'get', '/tasks/' + created['uuid'], status=404)
        # A token holding 'Ops' sees what was shared with 'ops'.
        self.as_('member_b', 'get', '/tasks/' + created['uuid'],
                 headers={'X-Roles': 'reader,Ops'}, status=200)
        # Shared with 'member': an admin-only token implies member.
        self.as_('member_b', 'get', '/tasks/' + members.uuid,
                 headers={'X-Roles': 'admin'}, status=200)
        self.as_('reader_b', 'get', '/tasks/' + members.uuid, status=404)


class TestSetVisibility(VisibilityTestCase):

    def patch_visibility(self, task, roles, project=A, status=200,
                         visibility='public', shared_roles=None):
        ops = [{'op': 'replace', 'path': '/visibility', 'value': visibility}]
        if shared_roles is not None:
            ops.append({'op': 'replace', 'path': '/shared_roles',
                        'value': shared_roles})
        return self.request('patch', '/tasks/' + task.uuid, ops,
                            status=status, project=project,
                            headers={'X-Roles': roles})

    def test_only_admins_set_visibility(self):
        task = self.make_task()
        for roles in ('member,reader', 'reader'):
            resp = self.patch_visibility(task, roles, status=403)
            self.assertError(resp, 403, 'craton.forbidden')
        resp = self.patch_visibility(task, 'member', status=403,
                                     visibility='private',
                                     shared_roles=['ops'])
        self.assertIn('craton:task:update_visibility',
                      resp.json['errors'][0]['detail'])
        # An admin of another project sees the task, but changes nothing.
        resp = self.patch_visibility(task, 'admin', project=B, status=403)
        self.assertError(resp, 403, 'craton.forbidden')
        self.assertEqual('private', self.get('/tasks/' + task.uuid)
                         .json['visibility'])

        resp = self.patch_visibility(task, 'admin', visibility='shared',
                                     shared_roles=['ops', 'audit'])
        self.assertEqual(('shared', ['audit', 'ops']),
                         (resp.json['visibility'],
                          resp.json['shared_roles']))
        # Approval and build are untouched by a change of visibility.
        self.assertEqual(('ready', 'approved'),
                         (resp.json['status'], resp.json['approval']))
        self.casts['build_task'].assert_not_called()
        # Members still change what is theirs to change.
        self.request('patch', '/tasks/' + task.uuid, [
            {'op': 'replace', 'path': '/description', 'value': 'd'},
            {'op': 'replace', 'path': '/visibility', 'value': 'shared'}],
            headers={'X-Roles': 'member'}, status=200)
        # Back to private, which only admins decide too.
        self.patch_visibility(task, 'member', visibility='private',
                              status=403)
        self.patch_visibility(task, 'admin', visibility='private')

    def test_create_with_visibility(self):
        body = {'name': 'pub', 'source': {'type': 'git',
                                          'url': 'https://g.example/x'},
                'command': ['x'], 'visibility': 'public'}
        resp = self.request('post', '/tasks', body, status=403,
                            headers={'X-Roles': 'member'})
        self.assertError(resp, 403, 'craton.forbidden')
        resp = self.request('post', '/tasks', dict(
            body, visibility='private', shared_roles=['ops']), status=403,
            headers={'X-Roles': 'member'})
        self.assertError(resp, 403, 'craton.forbidden')
        self.request('post', '/tasks', dict(body, visibility='private'),
                     status=202, headers={'X-Roles': 'member'})
        resp = self.request('post', '/tasks', dict(body, name='pub2'),
                            status=202, headers={'X-Roles': 'admin'})
        self.assertEqual('public', resp.json['visibility'])
        self.as_('reader_b', 'get', '/tasks/' + resp.json['uuid'],
                 status=200)


class TestListing(VisibilityTestCase):

    def setUp(self):
        super().setUp()
        self.tasks = {v: self.make_visible_task('a-' + v, v)
                      for v in VISIBILITIES}
        self.own = self.make_visible_task('b-own', 'private', project=B)

    def names(self, persona, query=''):
        resp = self.as_(persona, 'get', '/tasks' + query, status=200)
        return sorted(t['name'] for t in resp.json['tasks'])

    def test_filters_and_paging_see_visible_tasks(self):
        self.assertEqual(['a-public', 'a-shared', 'b-own'],
                         self.names('role_b'))
        self.assertEqual(['a-public'],
                         self.names('role_b', '?visibility=public'))
        self.assertEqual(['a-shared'], self.names('role_b', '?name=a-shared'))
        resp = self.as_('role_b', 'get', '/tasks?visibility=everyone',
                        status=400)
        self.assertError(resp, 400, detail_contains='visibility')
        # Walking the pages from a marker that is another project's task.
        seen, url = [], '/tasks?limit=1&sort_key=name'
        while url:
            resp = self.as_('role_b', 'get', url, status=200).json
            seen += [t['name'] for t in resp['tasks']]
            url = resp.get('next', '').replace('http://localhost/v1', '')
        self.assertEqual(['a-public', 'a-shared', 'b-own'], seen)
        # A marker the caller cannot see is refused like an unknown one.
        for marker in (self.tasks['private'].uuid, self.tasks['shared'].uuid):
            resp = self.as_('member_b', 'get', '/tasks?marker=' + marker,
                            status=400)
            self.assertError(resp, 400, detail_contains='marker')

    def test_all_projects(self):
        everything = ['a-private', 'a-public', 'a-shared', 'b-own']
        self.assertEqual(['a-public', 'b-own'], self.names('admin_b'))
        self.assertEqual(everything,
                         self.names('admin_b', '?all_projects=true'))
        self.assertEqual(['a-public', 'b-own'],
                         self.names('admin_b', '?all_projects=false'))
        for persona in ('member_b', 'reader_b', 'role_b'):
            resp = self.as_(persona, 'get', '/tasks?all_projects=true',
                            status=403)
            self.assertError(resp, 403, 'craton.forbidden')

    def test_all_projects_on_every_list(self):
        workflow = self.make_workflow('wf-a', [self.tasks['private']])
        job = self.make_job(self.tasks['private'])
        region = self.make_region('r-a')
        cell = self.make_cell('c-a', region)
        host = self.make_host('h-a', region, cell)
        for kind, uuid in (('workflows', workflow.uuid), ('jobs', job.uuid),
                           ('regions', region.uuid), ('cells', cell.uuid),
                           ('hosts', host.uuid)):
            listed = self.as_('admin_b', 'get', '/%s?all_projects=true'
                              % kind, status=200).json[kind]
            self.assertIn(uuid, [item['uuid'] for item in listed], kind)
            listed = self.as_('admin_b', 'get', '/' + kind,
                              status=200).json[kind]
            self.assertNotIn(uuid, [item['uuid'] for item in listed], kind)
            resp = self.as_('member_b', 'get', '/%s?all_projects=true'
                            % kind, status=403)
            self.assertError(resp, 403, 'craton.forbidden')


class TestDeleteInUse(VisibilityTestCase):

    def test_names_own_users_and_counts_the_others(self):
        task = self.make_visible_task('pub', 'public')
        self.make_workflow('wf-a', [task])
        self.make_workflow('secret-wf-b', [task], project=B)
        self.make_workflow('secret-wf-c', [task], project='project-c')
        job_b = self.make_job(task, status='running', project=B)
        done = self.make_job(task, status='succeeded', project=B)
        resp = self.as_('owner', 'delete', '/tasks/' + task.uuid,
                        status=409)
        error = self.assertError(resp, 409, 'craton.in_use', (
            "'pub'", 'wf-a', 'workflows of other projects: 2',
            'unfinished jobs of other projects: 1'))
        for secret in ('secret-wf-b', 'secret-wf-c', job_b.uuid, done.uuid):
            self.assertNotIn(secret, error['detail'])
        self.casts['delete_task_images'].assert_not_called()

    def test_names_own_unfinished_jobs(self):
        task = self.make_visible_task('pub', 'public')
        job = self.make_job(task, status='pending')
        self.make_job(task, status='failed')
        resp = self.as_('owner', 'delete', '/tasks/' + task.uuid,
                        status=409)
        self.assertError(resp, 409, 'craton.in_use',
                         ('unfinished jobs: ' + job.uuid,))
        self.assertNotIn('other projects', resp.json['errors'][0]['detail'])
