# SPDX-License-Identifier: Apache-2.0
"""/v1/workflows."""

from craton.tests.unit.api import base


class TestWorkflows(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.disable = self.make_task('disable-compute')
        self.patch_task = self.make_task('patch-host')

    def body(self, **kw):
        body = {'name': 'host-maintenance', 'description': 'monthly',
                'variables': {'dry_run': False},
                'steps': [{'name': 'disable', 'task': 'disable-compute',
                           'variables': {'reason': 'patching'},
                           'timeout': 300},
                          {'task': self.patch_task.uuid}]}
        body.update(kw)
        return body

    def test_create_and_get(self):
        resp = self.post('/workflows', self.body(), status=201)
        wf = resp.json
        self.assertEqual({'dry_run': False}, wf['variables'])
        self.assertEqual([
            {'name': 'disable', 'task': self.disable.uuid,
             'task_name': 'disable-compute',
             'variables': {'reason': 'patching'}, 'timeout': 300,
             'secrets': []},
            {'name': 'patch-host', 'task': self.patch_task.uuid,
             'task_name': 'patch-host', 'variables': {}, 'timeout': None,
             'secrets': []},
        ], wf['steps'])
        self.assertEqual([], wf['secrets'])
        self.assertEqual(wf, self.get('/workflows/host-maintenance').json)
        self.assertEqual([wf], self.get('/workflows').json['workflows'])

    def test_invalid_steps(self):
        cases = [
            ({'steps': []}, 'steps'),
            ({'steps': [{'task': 'nope'}]}, ("steps[0].task", "'nope'")),
            ({'steps': [{'task': 'patch-host'}, {'task': 'patch-host'}]},
             ('steps[1].name', 'patch-host')),
            ({'steps': [{'task': 'patch-host', 'timeout': 0}]},
             'steps[0].timeout'),
            ({'steps': [{'task': 'patch-host', 'variables': [1]}]},
             'variables'),
            ({'steps': [{'name': 'x'}]}, 'task'),
            ({'variables': 'x'}, 'variables'),
        ]
        for change, text in cases:
            resp = self.post('/workflows', self.body(**change), status=400)
            self.assertError(resp, 400, detail_contains=text)

    def test_task_of_another_project(self):
        self.make_task('foreign', project='project-b')
        resp = self.post('/workflows', self.body(steps=[{'task':
                                                         'foreign'}]),
                         status=400)
        self.assertError(resp, 400, detail_contains="'foreign'")

    def test_put_replaces(self):
        self.post('/workflows', self.body(), status=201)
        resp = self.put('/workflows/host-maintenance', {
            'name': 'renamed', 'steps': [{'task': 'disable-compute'}]})
        self.assertEqual('renamed', resp.json['name'])
        self.assertIsNone(resp.json['description'])
        self.assertEqual({}, resp.json['variables'])
        self.assertEqual(['disable-compute'],
                         [s['name'] for s in resp.json['steps']])
        self.get('/workflows/host-maintenance', status=404)

    def test_delete(self):
        self.post('/workflows', self.body(), status=201)
        self.delete('/workflows/host-maintenance')
        self.get('/workflows/host-maintenance', status=404)

    def test_delete_while_a_job_runs_it(self):
        resp = self.post('/workflows', self.body(), status=201)
        region = self.make_region()
        self.make_host('h1', region)
        self.post('/jobs', {'workflow': resp.json['uuid'],
                            'inventory': {'hosts': ['h1']}}, status=202)
        resp = self.delete('/workflows/host-maintenance', status=409)
        self.assertError(resp, 409, 'craton.in_use', 'host-maintenance')

    def test_tenancy(self):
        self.post('/workflows', self.body(), status=201)
        self.get('/workflows/host-maintenance', status=404,
                 project='project-b')
        self.assertEqual([], self.get('/workflows', project='project-b')
                         .json['workflows'])
