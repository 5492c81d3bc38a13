# SPDX-License-Identifier: Apache-2.0
"""Base for API tests: the whole WSGI stack from ``setup_app`` (noauth),
driven through webtest, with the conductor casts mocked.
"""

from unittest import mock

from oslo_utils import uuidutils
import webtest

from craton.api import app
from craton.common import context
from craton.common import policy
from craton.conductor import rpcapi
from craton import conf
from craton.objects import inventory
from craton.objects import job as job_obj
from craton.objects import task as task_obj
from craton.objects import workflow as workflow_obj
from craton.tests import base

PERSONAS = {
    'admin': 'admin,member,reader',
    'member': 'member,reader',
    'reader': 'reader',
    'none': 'other',
}
DIGEST = 'sha256:' + 'a' * 64


class APITestCase(base.TestCase):

    project = 'project-a'

    def setUp(self):
        super().setUp()
        policy.reset()
        self.addCleanup(policy.reset)
        self.casts = {}
        for name in ('build_task', 'delete_task_images', 'run_job',
                     'cancel_job'):
            patcher = mock.patch.object(rpcapi.ConductorAPI, name,
                                        autospec=True)
            self.casts[name] = patcher.start()
            self.addCleanup(patcher.stop)
        self.app = webtest.TestApp(app.setup_app(conf.CONF))

    # -- requests ---------------------------------------------------------

    def headers(self, persona='admin', project=None, user='user-a'):
        return {'X-Project-Id': project or self.project, 'X-User-Id': user,
                'X-Roles': PERSONAS[persona]}

    def request(self, method, path, body=None, status=None, persona='admin',
                project=None, **kwargs):
        headers = dict(self.headers(persona, project),
                       **kwargs.pop('headers', {}))
        func = getattr(self.app, method)
        if body is not None:
            func = getattr(self.app, method + '_json')
            kwargs['params'] = body
        return func('/v1' + path, headers=headers, status=status,
                    expect_errors=status == '*' or (
                        status is not None and status >= 400),
                    **kwargs)

    def get(self, path, status=200, **kw):
        return self.request('get', path, status=status, **kw)

    def post(self, path, body=None, status=None, **kw):
        return self.request('post', path, body, status=status, **kw)

    def put(self, path, body, status=200, **kw):
        return self.request('put', path, body, status=status, **kw)

    def patch(self, path, body, status=200, **kw):
        return self.request('patch', path, body, status=status, **kw)

    def delete(self, path, status=204, **kw):
        return self.request('delete', path, status=status, **kw)

    def assertError(self, resp, status, code=None, detail_contains=()):
        self.assertEqual(status, resp.status_int)
        self.assertEqual('application/json', resp.content_type)
        errors = resp.json['errors']
        self.assertEqual(1, len(errors))
        error = errors[0]
        self.assertEqual(status, error['status'])
        self.assertTrue(error['request_id'].startswith('req-'))
        self.assertTrue(error['title'])
        if code is not None:
            self.assertEqual(code, error['code'])
        if isinstance(detail_contains, str):
            detail_contains = (detail_contains,)
        for text in detail_contains:
            self.assertIn(text, error['detail'])
        return error

    # -- fixtures in the database -----------------------------------------

    def ctx(self, project=None):
        return context.RequestContext(project_id=project or self.project,
                                      user_id='user-a', roles=['admin'])

    def make_task(self, name='patch-host', status='ready',
                  approval='approved', project=None, **kw):
        values = dict(
            name=name, project_id=project or self.project, user_id='user-a',
            source={'type': 'git', 'url': 'https://git.example.org/t.git'},
            command=['python3', '/craton/task.py'], timeout=600,
            status=status, approval=approval, visibility='private',
            shared_roles=[], build_number=1,
            image_digest=DIGEST if status == 'ready' else None,
            approved_digest=DIGEST if approval == 'approved' else None)
        values.update(kw)
        task = task_obj.Task(self.ctx(project), **values)
        task.create()
        return task

    def make_workflow(self, name, tasks, project=None, variables=None,
                      step_variables=None):
        steps = [{'name': t.name, 'task_uuid': t.uuid,
                  'variables': (step_variables or {}).get(t.name, {}),
                  'timeout': None} for t in tasks]
        wf = workflow_obj.Workflow(
            self.ctx(project), name=name, project_id=project or self.project,
            user_id='user-a', variables=variables or {}, steps=steps)
        wf.create()
        return wf

    def make_region(self, name='r1', variables=None, project=None):
        region = inventory.Region(self.ctx(project), name=name,
                                  project_id=project or self.project,
                                  variables=variables or {})
        region.create()
        return region

    def make_cell(self, name, region, variables=None, project=None):
        cell = inventory.Cell(self.ctx(project), name=name,
                              project_id=project or self.project,
                              region_id=region.id,
                              variables=variables or {})
        cell.create()
        return cell

    def make_host(self, name, region, cell=None, labels=(), variables=None,
                  project=None, ip='10.0.0.1'):
        host = inventory.Host(self.ctx(project), name=name,
                              project_id=project or self.project,
                              region_id=region.id,
                              cell_id=cell.id if cell else None,
                              ip_address=ip, labels=list(labels),
                              variables=variables or {})
        host.create()
        return host

    def make_job(self, task, status='pending', hosts=(), project=None,
                 step_status='pending'):
        job = job_obj.Job.submit(
            self.ctx(project),
            {'project_id': project or self.project, 'user_id': 'user-a',
             'task_uuid': task.uuid, 'status': status, 'variables': {}},
            [{'name': task.name, 'task_uuid': task.uuid, 'image': DIGEST,
              'image_digest': DIGEST, 'command': task.command,
              'timeout': task.timeout, 'variables': {}}],
            [{'uuid': uuidutils.generate_uuid(), 'name': h} for h in hosts])
        if step_status != 'pending':
            job.steps[0].update({'status': step_status})
        return job
