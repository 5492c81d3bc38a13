# SPDX-License-Identifier: Apache-2.0
"""Personas x endpoints under a real Keystone (tools/keystone.sh).

One table: every endpoint and method of API.md on resources of project A
and of project B,
against every persona, each cell with the status API.md and the default
policy (craton.common.policy) give it. The test prints the matrix size and
every mismatch, and fails on any mismatch not in :data:`KNOWN_BUGS`; it
also checks that no list answer holds a UUID of another project's private
resource. Besides A's and B's resources, each kind is also shown by a
UUID nobody has (target ``none``), which must answer as another
project's resource does, so that no caller learns which UUIDs exist.

Personas and their tokens:

- ``admin-a``, ``member-a``, ``reader-a``, ``member-b``, ``reader-b``:
  project-scoped tokens of users holding that role on proj-a / proj-b.
- ``member-c``: a user with no role on A nor B (member of proj-c): what
  "another project" sees of A and B.
- ``norole``: a user with no role anywhere. Keystone refuses (401) a
  project-scoped token without a role, so this persona has an *unscoped*
  token; API.md: "A token that is not scoped to a project is 403".
- ``system-admin``: Keystone's bootstrap admin with a system-scoped
  token (roles admin, member, reader, but no project): 403 as well, since
  every rule accepts project-scoped tokens only.
- ``notoken``; ``bogus`` (a random string); ``revoked``: a real token
  revoked before Craton first sees it. An expired token is not cheap to
  make (the test Keystone issues 2-hour tokens and a fernet token cannot
  be back-dated without Keystone's keys), so a revoked one stands in: both
  fail Keystone's validation the same way.

Identities the stock tools/keystone.sh does not create are created here
through Keystone's admin API, idempotently; nothing is ever deleted.
"""

import gzip
import io
import os
import secrets
import tarfile
import time
import uuid

import requests
import testtools

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment
from craton.tests.functional import jobtask

KEYSTONE = os.environ.get('CRATON_TEST_KEYSTONE_URL',
                          'http://127.0.0.1:5000/v3')
ADMIN_PASSWORD = 'craton-admin'
PASSWORD = 'secret'

# user, project, role: users beyond tools/keystone.sh's are made here.
IDENTITIES = [
    ('alice-member', 'proj-a', 'member'),
    ('bob-reader', 'proj-a', 'reader'),
    ('carol-member-b', 'proj-b', 'member'),
    ('ada-admin-a', 'proj-a', 'admin'),
    ('rita-reader-b', 'proj-b', 'reader'),
    ('oscar-member-c', 'proj-c', 'member'),
    ('nora-norole', None, None),
]

NOWHERE = str(uuid.uuid4())
# What the persona matrix stores in secrets; no answer may hold it.
SECRET_VALUE = 'persona-secret-value-%s' % uuid.uuid4().hex

LEVEL = {'reader': 1, 'member': 2, 'admin': 3}
IMPLIED = {'admin': {'admin', 'member', 'reader'},
           'member': {'member', 'reader'}, 'reader': {'reader'}}


class Persona:
    """``project`` is 'A', 'B', 'C', None (unscoped) or 'anon' (no valid
    token at all).
    """

    def __init__(self, name, user=None, project=None, role=None):
        self.name, self.user = name, user
        self.project, self.role = project, role
        self.level = LEVEL.get(role, 0)
        self.roles = IMPLIED.get(role, set())
        self.token = None


PERSONAS = [
    Persona('admin-a', 'ada-admin-a', 'A', 'admin'),
    Persona('member-a', 'alice-member', 'A', 'member'),
    Persona('reader-a', 'bob-reader', 'A', 'reader'),
    Persona('member-b', 'carol-member-b', 'B', 'member'),
    Persona('reader-b', 'rita-reader-b', 'B', 'reader'),
    Persona('member-c', 'oscar-member-c', 'C', 'member'),
    Persona('norole', 'nora-norole', None),
    Persona('system-admin', 'admin', 'system', 'admin'),
    Persona('notoken', project='anon'),
    Persona('bogus', project='anon'),
    Persona('revoked', project='anon'),
]

PROJECTS = {'A': 'proj-a', 'B': 'proj-b', 'C': 'proj-c'}
# Who makes a project's resources (and the fresh ones a cell consumes).
OWNER = {'A': 'admin-a', 'B': 'member-b', 'C': 'member-c'}

# (persona, method, path template, target project) -> why: cells whose
# mismatch is a known bug of the service, reported to the lead. Any other
# mismatch fails; so does a known bug's cell that starts to match (remove
# it from here then).
KNOWN_BUGS = {}


class Op:
    """One endpoint-method on one target.

    ``kind``: ``list``, ``list_all``, ``create`` or ``item``. ``level``:
    the role the rule needs on the target's project. ``owner``: the
    project ('A'/'B') of an item's target. ``target(fresh)`` gives the
    path's resource id; with ``fresh`` a new one the cell may consume.
    ``cross``: for tasks, what a caller of another project who can see the
    task may do (``get`` shows; ``admin`` approve/reject as admins may).
    """

    def __init__(self, name, method, path, kind, ok, level=1, owner=None,
                 target=None, body=None, cross=None, visible=None,
                 data=None, headers=None):
        self.name, self.method, self.path = name, method, path
        self.kind, self.ok, self.level = kind, ok, level
        self.owner, self.target, self.body = owner, target, body
        self.cross, self.visible = cross, visible
        self.data, self.headers = data, headers


def archive():
    """A gzipped tar holding only a Dockerfile (a cheap build)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w') as tar:
        data = b'FROM craton/python3:bookworm\n'
        info = tarfile.TarInfo('Dockerfile')
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:10])


class Keystone:
    """Just enough of Keystone's v3 API (admin token) to make identities."""

    def __init__(self):
        self.admin = self.token('admin', ADMIN_PASSWORD, 'admin')

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        resp = requests.request(method, KEYSTONE + path, json=body,
                                headers={'X-Auth-Token': self.admin},
                                timeout=30)
        if resp.status_code not in ok:
            raise AssertionError('keystone %s %s: %s %s' % (
                method, path, resp.status_code, resp.text[:300]))
        return resp.json() if resp.content else None

    @staticmethod
    def token(user, password, project=None, system=False):
        auth = {'identity': {'methods': ['password'], 'password': {
            'user': {'name': user, 'domain': {'id': 'default'},
                     'password': password}}}}
        if system:
            auth['scope'] = {'system': {'all': True}}
        elif project:
            auth['scope'] = {'project': {'name': project,
                                         'domain': {'id': 'default'}}}
        resp = requests.post(KEYSTONE + '/auth/tokens', json={'auth': auth},
                             timeout=30)
        resp.raise_for_status()
        return resp.headers['X-Subject-Token']

    def ensure(self, kind, name, extra):
        query = '/%s?name=%s' % (kind, name)
        if kind != 'roles':
            query += '&domain_id=default'
        found = self.call('GET', query)[kind]
        if found:
            return found[0]['id']
        single = kind[:-1]
        body = {single: dict(name=name, domain_id='default', **extra)}
        return self.call('POST', '/' + kind, body)[single]['id']

    def ensure_identity(self, user, project, role):
        uid = self.ensure('users', user, {'password': PASSWORD,
                                          'enabled': True})
        # Never touch the password of a user that can log in: a password
        # change revokes its tokens, which other tests may hold.
        try:
            self.token(user, PASSWORD)
        except requests.HTTPError:
            self.call('PATCH', '/users/%s' % uid,
                      {'user': {'password': PASSWORD, 'enabled': True}})
        if project:
            pid = self.ensure('projects', project,
                              {'description': 'Craton test project',
                               'enabled': True})
            rid = self.ensure('roles', role, {})
            self.call('PUT', '/projects/%s/users/%s/roles/%s'
                      % (pid, uid, rid))
        return uid

    def project_id(self, name):
        return self.call('GET', '/projects?name=%s&domain_id=default'
                         % name)['projects'][0]['id']

    def revoke(self, token):
        requests.delete(KEYSTONE + '/auth/tokens', timeout=30, headers={
            'X-Auth-Token': self.admin,
            'X-Subject-Token': token}).raise_for_status()


@dbfixtures.requires_functional
class PersonaMatrixTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.started = time.monotonic()
        ks = Keystone()
        for user, project, role in IDENTITIES:
            ks.ensure_identity(user, project, role)
        cls.project_ids = {k: ks.project_id(v) for k, v in PROJECTS.items()}
        cls.persona = {p.name: p for p in PERSONAS}
        for p in PERSONAS:
            if p.project == 'system':
                p.token = ks.token(p.user, ADMIN_PASSWORD, system=True)
            elif p.user:
                p.token = ks.token(p.user, PASSWORD, PROJECTS.get(p.project))
        cls.persona['bogus'].token = secrets.token_urlsafe(32)
        revoked = ks.token('alice-member', PASSWORD, 'proj-a')
        ks.revoke(revoked)
        cls.persona['revoked'].token = revoked

        cls.root = deployment.source_root()
        cls.deploy = deployment.Deployment(
            source_roots=[cls.root],
            extra=deployment.keystone_config(KEYSTONE))
        cls.deploy.setUp()
        cls.url = 'http://127.0.0.1:%d' % cls.deploy.port
        cls.session = requests.Session()
        try:
            cls._seed()
        except Exception:
            cls.deploy.cleanUp()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls._cancel_unfinished()
        finally:
            cls.deploy.cleanUp()
            super().tearDownClass()

    # -- HTTP as one persona ------------------------------------------------

    @classmethod
    def call(cls, persona, method, path, body=None, data=None,
             headers=None):
        p = cls.persona[persona] if isinstance(persona, str) else persona
        hdrs = dict(headers or {})
        if p.token:
            hdrs['X-Auth-Token'] = p.token
        # noauth headers must mean nothing under keystone.
        hdrs.update({'X-Project-Id': 'forged', 'X-Roles': 'admin'})
        kwargs = {'data': data} if data is not None else {'json': body}
        return cls.session.request(method, cls.url + path, headers=hdrs,
                                   timeout=120, **kwargs)

    @classmethod
    def ok(cls, persona, method, path, body=None, expect=None, **kw):
        resp = cls.call(persona, method, path, body, **kw)
        if expect is not None and resp.status_code != expect:
            raise AssertionError('%s %s as %s: %s %s' % (
                method, path, persona, resp.status_code, resp.text[:500]))
        return resp.json() if resp.content else None

    # -- seeding --------------------------------------------------------------

    @classmethod
    def _upload_task(cls, project, **extra):
        body = dict({'name': unique('up'), 'command': ['true'],
                     'source': {'type': 'upload'}}, **extra)
        task = cls.ok(OWNER[project], 'POST', '/v1/tasks', body, 202)
        cls.private[project].add(task['uuid'])
        return task['uuid']

    @classmethod
    def _wait(cls, persona, path, field, wanted, timeout=600):
        deadline = time.monotonic() + timeout
        while True:
            got = cls.ok(persona, 'GET', path, expect=200)
            if got[field] in wanted:
                return got
            if time.monotonic() > deadline:
                raise AssertionError('%s not %s: %s' % (path, wanted, got))
            time.sleep(0.5)

    @classmethod
    def _seed(cls):
        """Resources of A, B (and C, for C's own writes) as their owners
        make them; ``cls.res[project][kind]`` their UUIDs.
        """
        cls.private = {'A': set(), 'B': set(), 'C': set()}
        cls.res = {'A': {}, 'B': {}, 'C': {}}
        path = jobtask.make(cls.root)
        built = {}
        # A's job task is public so that B and C may run it (and see it).
        for project, extra in (('A', {'visibility': 'public'}), ('B', {})):
            built[project] = cls.ok(OWNER[project], 'POST', '/v1/tasks', dict(
                {'name': 'persona-job', 'command': jobtask.COMMAND,
                 'source': {'type': 'local', 'path': path}}, **extra),
                202)['uuid']
        cls.private['B'].add(built['B'])
        for project in ('A', 'B', 'C'):
            res, owner = cls.res[project], OWNER[project]
            res['region'] = cls.ok(owner, 'POST', '/v1/regions',
                                   {'name': 'persona-region'}, 201)['uuid']
            res['cell'] = cls.ok(owner, 'POST', '/v1/cells', {
                'name': 'persona-cell', 'region': 'persona-region'},
                201)['uuid']
            res['host'] = cls.ok(owner, 'POST', '/v1/hosts', {
                'name': 'persona-host', 'region': 'persona-region',
                'ip_address': '127.0.0.9'}, 201)['uuid']
            res['secret'] = cls.ok(owner, 'POST', '/v1/secrets', {
                'name': 'persona-secret', 'value': SECRET_VALUE},
                201)['uuid']
            cls.private[project].update(
                (res['region'], res['cell'], res['host'], res['secret']))
        for project in ('A', 'B'):
            res = cls.res[project]
            res['task'] = cls._upload_task(project)
            res['reject'] = cls._upload_task(project)
        cls.res['A']['public'] = cls._upload_task('A', visibility='public')
        cls.res['A']['shared'] = cls._upload_task(
            'A', visibility='shared', shared_roles=['member'])
        cls.private['A'] -= {cls.res['A']['public'], cls.res['A']['shared']}
        for project in ('A', 'B'):
            cls._wait(OWNER[project], '/v1/tasks/%s' % built[project],
                      'status', ('ready',))
            cls.ok('admin-a', 'POST', '/v1/tasks/%s/approve'
                   % built[project], expect=200)
            cls.res[project]['ready'] = built[project]
        cls.job_task = built['A']
        for project in ('A', 'B'):
            res, owner = cls.res[project], OWNER[project]
            res['workflow'] = cls.ok(owner, 'POST', '/v1/workflows', {
                'name': 'persona-wf', 'steps': [{'task': cls.job_task}]},
                201)['uuid']
            res['job'] = cls._job(project, sleep=0)
            cls.private[project].update((res['workflow'], res['job']))
        for project in ('A', 'B'):
            cls._wait(OWNER[project], '/v1/jobs/%s' % cls.res[project]['job'],
                      'status', ('succeeded',), timeout=300)
        for project in ('A', 'B'):
            # The audit trail's first event of the project (its region's
            # creation, or a task's): events are never deleted.
            cls.res[project]['event'] = cls.ok(
                OWNER[project], 'GET', '/v1/events?limit=1',
                expect=200)['events'][0]['uuid']
            cls.private[project].add(cls.res[project]['event'])

    @classmethod
    def _job(cls, project, sleep):
        job = cls.ok(OWNER[project], 'POST', '/v1/jobs', {
            'task': cls.job_task, 'inventory': {'hosts': ['persona-host']},
            'variables': {'sleep': sleep}}, 202)
        cls.private[project].add(job['uuid'])
        return job['uuid']

    @classmethod
    def _cancel_unfinished(cls):
        for project in ('A', 'B', 'C'):
            owner = OWNER[project]
            for status in ('pending', 'running'):
                resp = cls.call(owner, 'GET',
                                '/v1/jobs?limit=1000&status=' + status)
                for job in resp.json().get('jobs', []):
                    cls.call(owner, 'POST', '/v1/jobs/%s/cancel'
                             % job['uuid'])

    # -- fresh targets a cell consumes ---------------------------------------

    @classmethod
    def _fresh(cls, kind, project):
        owner = OWNER[project]
        if kind == 'task':
            return cls._upload_task(project)
        if kind == 'job':
            return cls._job(project, sleep=60)
        if kind == 'workflow':
            body = {'name': unique('wf'), 'steps': [{'task': cls.job_task}]}
            path = '/v1/workflows'
        elif kind == 'region':
            body, path = {'name': unique('rg')}, '/v1/regions'
        elif kind == 'cell':
            body = {'name': unique('cl'), 'region': 'persona-region'}
            path = '/v1/cells'
        elif kind == 'secret':
            body = {'name': unique('sc'), 'value': SECRET_VALUE}
            path = '/v1/secrets'
        else:
            body = {'name': unique('hs'), 'region': 'persona-region'}
            path = '/v1/hosts'
        made = cls.ok(owner, 'POST', path, body, 201)['uuid']
        cls.private[project].add(made)
        return made

    # -- the table ------------------------------------------------------------

    @classmethod
    def operations(cls):
        ops = []

        def item(kind, key, fresh=False):
            def target(use_fresh, project):
                if project == 'none':
                    return NOWHERE
                if fresh and use_fresh:
                    return cls._fresh(kind, project)
                return cls.res[project][key]
            return target

        def task_visible(key):
            def visible(p, project):
                if p.level >= LEVEL['admin']:
                    return True     # admins see any task by UUID
                if key == 'public':
                    return True
                if key == 'shared':
                    return bool(p.roles & {'member'})
                return False
            return visible

        def private(p, project):
            return False

        patch_desc = [{'op': 'replace', 'path': '/description',
                       'value': 'changed'}]
        # Tasks.
        ops += [
            Op('task list', 'GET', '/v1/tasks', 'list', 200),
            Op('task list all', 'GET', '/v1/tasks?all_projects=true',
               'list_all', 200),
            Op('task create', 'POST', '/v1/tasks', 'create', 202, 2,
               body=lambda: {'name': unique('c'), 'command': ['true'],
                             'source': {'type': 'upload'}}),
        ]
        for owner in ('A', 'B'):
            vis = task_visible('private')
            # A's ready task is the public one every project's jobs run.
            ready_vis = task_visible('public' if owner == 'A' else 'private')
            ops += [
                Op('task show', 'GET', '/v1/tasks/{id}', 'item', 200, 1,
                   owner, item('task', 'task'), cross='get', visible=vis),
                Op('task patch', 'PATCH', '/v1/tasks/{id}', 'item', 200, 2,
                   owner, item('task', 'task'), body=lambda: patch_desc,
                   visible=vis),
                Op('task delete', 'DELETE', '/v1/tasks/{id}', 'item', 204, 2,
                   owner, item('task', 'task', fresh=True), visible=vis),
                Op('task approve', 'POST', '/v1/tasks/{id}/approve', 'item',
                   200, 3, owner, item('task', 'ready'), cross='admin',
                   visible=ready_vis),
                Op('task reject', 'POST', '/v1/tasks/{id}/reject', 'item',
                   200, 3, owner, item('task', 'reject'), cross='admin',
                   body=lambda: {'reason': 'persona matrix'}, visible=vis),
                Op('task rebuild', 'POST', '/v1/tasks/{id}/rebuild', 'item',
                   202, 2, owner, item('task', 'task', fresh=True),
                   visible=vis),
                Op('task source', 'PUT', '/v1/tasks/{id}/source', 'item',
                   202, 2, owner, item('task', 'task', fresh=True),
                   visible=vis, data=archive(),
                   headers={'Content-Type': 'application/gzip'}),
            ]
        for key in ('public', 'shared'):
            ops += [
                Op('task show %s' % key, 'GET', '/v1/tasks/{id}', 'item',
                   200, 1, 'A', item('task', key), cross='get',
                   visible=task_visible(key)),
                Op('task patch %s' % key, 'PATCH', '/v1/tasks/{id}', 'item',
                   200, 2, 'A', item('task', key), body=lambda: patch_desc,
                   visible=task_visible(key)),
            ]
        # Workflows.
        wf_body = lambda: {'name': unique('wf'),  # noqa: E731
                           'steps': [{'task': cls.job_task}]}
        ops += [
            Op('workflow list', 'GET', '/v1/workflows', 'list', 200),
            Op('workflow list all', 'GET', '/v1/workflows?all_projects=true',
               'list_all', 200),
            Op('workflow create', 'POST', '/v1/workflows', 'create', 201, 2,
               body=wf_body),
        ]
        for owner in ('A', 'B'):
            ops += [
                Op('workflow show', 'GET', '/v1/workflows/{id}', 'item', 200,
                   1, owner, item('workflow', 'workflow'), visible=private),
                Op('workflow replace', 'PUT', '/v1/workflows/{id}', 'item',
                   200, 2, owner, item('workflow', 'workflow'),
                   body=lambda: {'name': 'persona-wf', 'description': 'x',
                                 'steps': [{'task': cls.job_task}]},
                   visible=private),
                Op('workflow delete', 'DELETE', '/v1/workflows/{id}', 'item',
                   204, 2, owner, item('workflow', 'workflow', fresh=True),
                   visible=private),
            ]
        # Jobs.
        ops += [
            Op('job list', 'GET', '/v1/jobs', 'list', 200),
            Op('job list all', 'GET', '/v1/jobs?all_projects=true',
               'list_all', 200),
            Op('job create', 'POST', '/v1/jobs', 'create', 202, 2,
               body=lambda: {'task': cls.job_task,
                             'inventory': {'hosts': ['persona-host']}}),
        ]
        for owner in ('A', 'B'):
            ops += [
                Op('job show', 'GET', '/v1/jobs/{id}', 'item', 200, 1, owner,
                   item('job', 'job'), visible=private),
                Op('job inventory', 'GET', '/v1/jobs/{id}/inventory', 'item',
                   200, 1, owner, item('job', 'job'), visible=private),
                Op('job step log', 'GET', '/v1/jobs/{id}/steps/0/logs',
                   'item', 200, 1, owner, item('job', 'job'),
                   visible=private),
                Op('job cancel', 'POST', '/v1/jobs/{id}/cancel', 'item', 202,
                   2, owner, item('job', 'job', fresh=True),
                   visible=private),
            ]
        # The audit trail: read-only.
        ops += [
            Op('event list', 'GET', '/v1/events', 'list', 200),
            Op('event list all', 'GET', '/v1/events?all_projects=true',
               'list_all', 200),
        ]
        for owner in ('A', 'B'):
            ops.append(Op('event show', 'GET', '/v1/events/{id}', 'item',
                          200, 1, owner, item('event', 'event'),
                          visible=private))
        # Inventory.
        for kind, plural, create, patch in (
                ('region', 'regions', lambda: {'name': unique('rg')},
                 patch_desc),
                ('cell', 'cells', lambda: {'name': unique('cl'),
                                           'region': 'persona-region'},
                 patch_desc),
                ('host', 'hosts', lambda: {'name': unique('hs'),
                                           'region': 'persona-region'},
                 [{'op': 'replace', 'path': '/variables',
                   'value': {'k': 'v'}}])):
            base = '/v1/' + plural
            ops += [
                Op('%s list' % kind, 'GET', base, 'list', 200),
                Op('%s list all' % kind, 'GET', base + '?all_projects=true',
                   'list_all', 200),
                Op('%s create' % kind, 'POST', base, 'create', 201, 2,
                   body=create),
            ]
            for owner in ('A', 'B'):
                ops += [
                    Op('%s show' % kind, 'GET', base + '/{id}', 'item', 200,
                       1, owner, item(kind, kind), visible=private),
                    Op('%s patch' % kind, 'PATCH', base + '/{id}', 'item',
                       200, 2, owner, item(kind, kind),
                       body=lambda patch=patch: patch, visible=private),
                    Op('%s delete' % kind, 'DELETE', base + '/{id}', 'item',
                       204, 2, owner, item(kind, kind, fresh=True),
                       visible=private),
                ]
        # Secrets: metadata for readers, writes for members.
        ops += [
            Op('secret list', 'GET', '/v1/secrets', 'list', 200),
            Op('secret list all', 'GET', '/v1/secrets?all_projects=true',
               'list_all', 200),
            Op('secret create', 'POST', '/v1/secrets', 'create', 201, 2,
               body=lambda: {'name': unique('sc'), 'value': SECRET_VALUE}),
        ]
        for owner in ('A', 'B'):
            ops += [
                Op('secret show', 'GET', '/v1/secrets/{id}', 'item', 200, 1,
                   owner, item('secret', 'secret'), visible=private),
                Op('secret replace', 'PUT', '/v1/secrets/{id}', 'item', 200,
                   2, owner, item('secret', 'secret'),
                   body=lambda: {'value': SECRET_VALUE}, visible=private),
                Op('secret delete', 'DELETE', '/v1/secrets/{id}', 'item',
                   204, 2, owner, item('secret', 'secret', fresh=True),
                   visible=private),
            ]
        # Creates that name another project's resource by UUID: 400 naming
        # the field, as for one that does not exist (API.md, Basics).
        for owner in ('A', 'B'):
            res = cls.res[owner]
            ops += [
                Op('host create in region', 'POST', '/v1/hosts', 'create_ref',
                   201, 2, owner, body=lambda r=res: {
                       'name': unique('hs'), 'region': r['region']}),
                Op('cell create in region', 'POST', '/v1/cells', 'create_ref',
                   201, 2, owner, body=lambda r=res: {
                       'name': unique('cl'), 'region': r['region']}),
                Op('workflow create with task', 'POST', '/v1/workflows',
                   'create_ref', 201, 2, owner, body=lambda r=res: {
                       'name': unique('wf'), 'steps': [{'task': r['task']}]}),
                Op('job create on host', 'POST', '/v1/jobs', 'create_ref',
                   202, 2, owner, body=lambda r=res: {
                       'task': cls.job_task,
                       'inventory': {'hosts': [r['host']]}}),
            ]
        # A UUID that is nobody's: the same answer as another project's
        # resource (404), so that no caller learns which UUIDs exist.
        for kind, plural in (('task', 'tasks'), ('workflow', 'workflows'),
                             ('job', 'jobs'), ('region', 'regions'),
                             ('cell', 'cells'), ('host', 'hosts'),
                             ('event', 'events'),
                             ('secret', 'secrets')):
            ops.append(Op('%s show' % kind, 'GET', '/v1/%s/{id}' % plural,
                          'item', 200, 1, 'none', item(kind, kind),
                          visible=private))
        return ops

    @staticmethod
    def expected(p, op):
        """The status API.md and the default policy give ``p`` on ``op``."""
        if p.project == 'anon':
            return 401
        if p.project in (None, 'system'):
            return 403      # not scoped to a project
        if op.kind == 'list':
            return op.ok if p.level >= 1 else 403
        if op.kind == 'list_all':
            return op.ok if p.level >= LEVEL['admin'] else 403
        if op.kind == 'create':
            return op.ok if p.level >= op.level else 403
        if op.kind == 'create_ref':
            if p.level < op.level:
                return 403
            return op.ok if p.project == op.owner else 400
        if p.project == op.owner:
            return op.ok if p.level >= op.level else 403
        if not op.visible(p, op.owner):
            return 404
        # Another project's task the caller sees: show it; admins also
        # approve and reject it; nothing else.
        if op.cross == 'get' or (op.cross == 'admin' and
                                 p.level >= LEVEL['admin']):
            return op.ok
        return 403

    # -- the test -------------------------------------------------------------

    def test_matrix(self):
        ops = self.operations()
        cells = mismatches = 0
        found, known_hit, lists, leaked_values = [], [], [], []
        for op in ops:
            for p in PERSONAS:
                want = self.expected(p, op)
                path = op.path
                if op.target is not None:
                    ident = op.target(200 <= want < 300, op.owner)
                    path = path.replace('{id}', ident)
                body = op.body() if op.body else None
                resp = self.call(p, op.method, path, body, data=op.data,
                                 headers=op.headers)
                if SECRET_VALUE.encode() in resp.content:
                    leaked_values.append('%s %s %s' % (p.name, op.method,
                                                       path))
                cells += 1
                got = resp.status_code
                if op.kind in ('list', 'list_all') and got == 200:
                    lists.append((p, op, resp.json()))
                key = (p.name, op.method, op.path, op.owner)
                if got == want and key in KNOWN_BUGS:
                    mismatches += 1
                    found.append('%s %s %s [%s] now answers %s as expected: '
                                 'remove it from KNOWN_BUGS' % (key + (got,)))
                if got != want:
                    line = ('%-12s %-6s %-30s [%s] (%s) expected %s, got '
                            '%s: %s' % (p.name, op.method, op.path,
                                        op.owner or '-', op.name, want, got,
                                        resp.text[:200].replace('\n', ' ')))
                    if key in KNOWN_BUGS:
                        known_hit.append(line + '  (KNOWN: %s)'
                                         % KNOWN_BUGS[key])
                    else:
                        mismatches += 1
                        found.append(line)
        leaks = self._leaks(lists) + [
            'secret value in the answer to ' + v for v in leaked_values]
        elapsed = time.monotonic() - self.started
        print('\npersona matrix: %d personas x %d endpoint-methods = %d '
              'cells, %d mismatches (%d known bugs), %d leaks, %.0f s'
              % (len(PERSONAS), len(ops), cells, mismatches, len(known_hit),
                 len(leaks), elapsed))
        for line in known_hit:
            print('  known   ' + line)
        for line in found:
            print('  MISMATCH ' + line)
        for line in leaks:
            print('  LEAK    ' + line)
        self.assertEqual(len(PERSONAS) * len(ops), cells)
        self.assertEqual([], found)
        self.assertEqual([], leaks)

    def _leaks(self, lists):
        """UUIDs of another project's private resources in a list answer
        (an admin's ``?all_projects=true`` lists excepted).
        """
        leaks = []
        for p, op, answer in lists:
            if op.kind == 'list_all':
                continue
            seen = {item.get('uuid') for items in answer.values()
                    if isinstance(items, list) for item in items}
            for project, uuids in self.private.items():
                if project == p.project:
                    continue
                for hit in seen & uuids:
                    leaks.append('%s %s lists %s of project %s' % (
                        p.name, op.path, hit, project))
        return leaks

    def test_visible_tasks_are_listed(self):
        """Task visibility in lists: A's public task is listed to every
        other project; the shared one (roles ``member``) to members only;
        A's private tasks to none; ``?all_projects`` shows B's to admins.
        """
        public, shared = self.res['A']['public'], self.res['A']['shared']
        private_a = self.res['A']['task']

        def listed(persona, query=''):
            answer = self.ok(persona, 'GET', '/v1/tasks?limit=1000' + query,
                             expect=200)
            return {t['uuid'] for t in answer['tasks']}

        for persona, sees_shared in (('member-b', True), ('reader-b', False),
                                     ('member-c', True)):
            uuids = listed(persona)
            self.assertIn(public, uuids, persona)
            self.assertEqual(sees_shared, shared in uuids, persona)
            self.assertNotIn(private_a, uuids, persona)
        self.assertNotIn(self.res['B']['task'], listed('admin-a'))
        self.assertIn(self.res['B']['task'],
                      listed('admin-a', '&all_projects=true'))
