# SPDX-License-Identifier: Apache-2.0
"""/v1/jobs: submission, inventory, cancel and step logs."""

import datetime
import json
import types
from unittest import mock

import sqlalchemy as sa
import testtools

from craton.api.controllers.v1 import job_submission
from craton.api.controllers.v1 import jobs as jobs_api
from craton.common import policy
from craton.common import states
from craton.db import api as db_api
from craton.objects import job as job_obj
from craton.objects import task as task_obj
from craton.tests.unit.api import base


class JobTestCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.r1 = self.make_region('r1', {'dc': 'r1', 'ntp': 'r1-ntp',
                                          'tier': 'region'})
        self.r2 = self.make_region('r2')
        self.c1 = self.make_cell('c1', self.r1, {'tier': 'cell',
                                                 'rack': 'c1'})
        self.c2 = self.make_cell('c2', self.r1)
        self.h1 = self.make_host('compute-01', self.r1, self.c1,
                                 ['compute'], {'tier': 'host'})
        self.h2 = self.make_host('compute-02', self.r1, self.c2,
                                 ['compute', 'gpu'], ip='10.0.0.2')
        self.h3 = self.make_host('storage-01', self.r1, None, ['storage'],
                                 ip='10.0.0.3')
        self.h4 = self.make_host('compute-99', self.r2, None, ['compute'],
                                 ip='10.0.0.4')
        self.disable = self.make_task('disable-compute', timeout=100)
        self.patch_task = self.make_task('patch-host')
        self.wf = self.make_workflow(
            'host-maintenance', [self.disable, self.patch_task],
            variables={'dry_run': False, 'reason': 'wf'},
            step_variables={'disable-compute': {'reason': 'patching'}})

    def submit(self, status=202, **body):
        return self.post('/jobs', body, status=status)


class TestSubmit(JobTestCase):

    def test_workflow_job(self):
        resp = self.submit(workflow='host-maintenance',
                           inventory={'hosts': ['compute-01']},
                           variables={'ticket': 'OPS-42'})
        job = resp.json
        self.assertEqual('pending', job['status'])
        self.assertEqual(self.wf.uuid, job['workflow_uuid'])
        self.assertIsNone(job['task_uuid'])
        self.assertEqual({'ticket': 'OPS-42'}, job['variables'])
        self.assertEqual(1, job['host_count'])
        self.assertEqual(['disable-compute', 'patch-host'],
                         [s['name'] for s in job['steps']])
        self.assertEqual([0, 1], [s['index'] for s in job['steps']])
        for step in job['steps']:
            self.assertEqual('pending', step['status'])
            self.assertEqual(base.DIGEST, step['image_digest'])
        self.assertEqual(job['uuid'], self.casts['run_job'].call_args[0][2])
        stored = job_obj.Job.get(self.ctx(), job['uuid'])
        first, second = sorted(stored.steps, key=lambda s: s.index)
        self.assertEqual({'dry_run': False, 'reason': 'patching'},
                         first.variables)
        self.assertEqual({'dry_run': False, 'reason': 'wf'},
                         second.variables)
        self.assertEqual(100, first.timeout)
        self.assertEqual(base.DIGEST, first.image)
        self.assertEqual(['python3', '/craton/task.py'], first.command)

    def test_a_task_many_steps_run_is_read_once(self):
        self.make_workflow('again-and-again', [self.disable] * 10 +
                           [self.patch_task])
        with mock.patch.object(task_obj.Task, 'get',
                               wraps=task_obj.Task.get) as get:
            resp = self.submit(workflow='again-and-again',
                               inventory={'hosts': ['compute-01']})
        self.assertEqual(11, len(resp.json['steps']))
        self.assertEqual(2, get.call_count)

    def test_task_job(self):
        resp = self.submit(task=self.patch_task.uuid,
                           inventory={'hosts': [self.h1.uuid]})
        self.assertEqual(self.patch_task.uuid, resp.json['task_uuid'])
        self.assertEqual(['patch-host'],
                         [s['name'] for s in resp.json['steps']])

    def test_inventory_union_and_resolution(self):
        resp = self.submit(task='patch-host', inventory={
            'hosts': ['storage-01'], 'labels': ['compute'], 'region': 'r1'})
        self.assertEqual(3, resp.json['host_count'])
        hosts = self.get('/jobs/%s/inventory' % resp.json['uuid']).json
        self.assertEqual(['compute-01', 'compute-02', 'storage-01'],
                         [h['name'] for h in hosts['hosts']])
        h1 = hosts['hosts'][0]
        self.assertEqual({'uuid': self.h1.uuid, 'name': 'compute-01',
                          'ip_address': '10.0.0.1', 'region': 'r1',
                          'cell': 'c1', 'labels': ['compute'],
                          'variables': {'dc': 'r1', 'ntp': 'r1-ntp',
                                        'tier': 'host', 'rack': 'c1'}}, h1)
        # No cell: region straight to host.
        self.assertEqual({'dc': 'r1', 'ntp': 'r1-ntp', 'tier': 'region'},
                         hosts['hosts'][2]['variables'])

    def test_all_selectors_must_match(self):
        resp = self.submit(task='patch-host', inventory={
            'labels': ['compute', 'gpu'], 'cell': 'c2'})
        hosts = self.get('/jobs/%s/inventory' % resp.json['uuid']).json
        self.assertEqual(['compute-02'], [h['name'] for h in hosts['hosts']])

    def test_inventory_pagination(self):
        resp = self.submit(task='patch-host',
                           inventory={'labels': ['compute']})
        path = '/jobs/%s/inventory' % resp.json['uuid']
        page = self.get(path + '?limit=2').json
        self.assertEqual(['compute-01', 'compute-02'],
                         [h['name'] for h in page['hosts']])
        page = self.app.get(page['next'], headers=self.headers()).json
        self.assertEqual(['compute-99'], [h['name'] for h in page['hosts']])
        self.assertNotIn('next', page)
        self.get(path + '?limit=1001', status=400)

    def test_bad_inventory(self):
        cases = [
            ({'hosts': ['nope', 'compute-01', 'ghost']},
             ('nope', 'ghost'), 'craton.job.invalid_inventory'),
            ({'region': 'atlantis'}, 'atlantis', None),
            ({'cell': 'c9'}, 'c9', None),
            ({'labels': ['none-such']}, 'no host', None),
            ({}, 'no host', None),
            ({'region': 'r2', 'cell': 'c1'}, 'no host', None),
        ]
        for inventory, text, code in cases:
            resp = self.submit(400, task='patch-host', inventory=inventory)
            self.assertError(resp, 400, code, text)
        self.casts['run_job'].assert_not_called()

    def test_hosts_of_another_project(self):
        region = self.make_region('r1', project='project-b')
        self.make_host('foreign', region, project='project-b')
        resp = self.submit(400, task='patch-host',
                           inventory={'hosts': ['foreign']})
        self.assertError(resp, 400, detail_contains='foreign')

    def test_exactly_one_target(self):
        for body in ({}, {'workflow': 'host-maintenance',
                          'task': 'patch-host'}):
            resp = self.submit(400, inventory={'hosts': ['compute-01']},
                               **body)
            self.assertError(resp, 400, detail_contains='exactly one')
        resp = self.submit(400, task='nope',
                           inventory={'hosts': ['compute-01']})
        self.assertError(resp, 400, detail_contains="'nope'")
        resp = self.submit(400, task='patch-host')
        self.assertError(resp, 400, detail_contains='inventory')

    def test_task_not_ready(self):
        self.make_task('half-built', status='building', approval='pending')
        self.make_workflow('wf2', [self.patch_task])
        resp = self.submit(409, task='half-built',
                           inventory={'hosts': ['compute-01']})
        self.assertError(resp, 409, 'craton.task.not_ready',
                         ("'half-built'", 'building'))

    def test_task_not_approved(self):
        self.patch('/tasks/patch-host', [
            {'op': 'replace', 'path': '/command', 'value': ['rm', '-rf']}])
        resp = self.submit(409, workflow='host-maintenance',
                           inventory={'hosts': ['compute-01']})
        self.assertError(resp, 409, 'craton.task.not_approved',
                         "'patch-host'")
        self.assertEqual([], self.get('/jobs').json['jobs'])

    def test_approved_digest_is_pinned(self):
        self.make_task('moved', approved_digest='sha256:' + 'b' * 64)
        resp = self.submit(409, task='moved',
                           inventory={'hosts': ['compute-01']})
        self.assertError(resp, 409, 'craton.task.not_approved')


class TestReadAndCancel(JobTestCase):

    def test_list_filters(self):
        j1 = self.submit(task='patch-host',
                         inventory={'hosts': ['compute-01']}).json
        j2 = self.submit(workflow='host-maintenance',
                         inventory={'hosts': ['compute-01']}).json
        self.assertEqual([j2['uuid']], [j['uuid'] for j in self.get(
            '/jobs?workflow=host-maintenance').json['jobs']])
        self.assertEqual([j2['uuid']], [j['uuid'] for j in self.get(
            '/jobs?workflow=%s' % self.wf.uuid).json['jobs']])
        self.assertEqual([j1['uuid']], [j['uuid'] for j in self.get(
            '/jobs?task=patch-host').json['jobs']])
        self.assertEqual([], self.get('/jobs?workflow=nope').json['jobs'])
        self.assertEqual(2, len(self.get('/jobs?status=pending')
                                .json['jobs']))
        self.assertEqual(j1, self.get('/jobs/' + j1['uuid']).json)
        self.get('/jobs/' + j1['uuid'], status=404, project='project-b')
        self.assertEqual([], self.get('/jobs',
                                      project='project-b').json['jobs'])
        self.get('/jobs?sort_key=name', status=400)

    def test_show_policy_target_is_the_project(self):
        # Every job endpoint checks its rule against the job's project
        # only; a rule written against another key of the target (an
        # operator's policy file) must not start matching the show.
        job = self.submit(task='patch-host',
                          inventory={'hosts': ['compute-01']}).json
        with mock.patch.object(policy, 'authorize',
                               wraps=policy.authorize) as authorize:
            self.get('/jobs/' + job['uuid'])
            self.post('/jobs/%s/cancel' % job['uuid'], status=202)
        targets = {c.args[0]: c.args[2] for c in authorize.call_args_list}
        self.assertEqual({'project_id': self.project},
                         targets['craton:job:get'])
        self.assertEqual(targets['craton:job:cancel'],
                         targets['craton:job:get'])

    def test_cancel(self):
        job = self.submit(task='patch-host',
                          inventory={'hosts': ['compute-01']}).json
        resp = self.post('/jobs/%s/cancel' % job['uuid'], status=202)
        self.assertEqual('cancelling', resp.json['status'])
        self.assertEqual(job['uuid'],
                         self.casts['cancel_job'].call_args[0][2])
        # Again while cancelling: still accepted.
        self.post('/jobs/%s/cancel' % job['uuid'], status=202)

    def test_cancel_racing_the_runner(self):
        # The runner starts the job (pending -> running) between the
        # cancel's read and its write: the cancel still lands.
        job = self.submit(task='patch-host',
                          inventory={'hosts': ['compute-01']}).json
        real_update = job_obj.Job.update
        raced = []

        def update(obj, values, expected_status=None, conductor=None):
            if not raced:
                raced.append(1)
                db_api.get_instance().update_job(
                    obj.uuid, {'status': states.JOB_RUNNING})
            return real_update(obj, values, expected_status, conductor)
        with mock.patch.object(job_obj.Job, 'update', update):
            resp = self.post('/jobs/%s/cancel' % job['uuid'], status=202)
        self.assertEqual('cancelling', resp.json['status'])

    def test_cancel_finished(self):
        for status in ('succeeded', 'failed', 'error', 'cancelled'):
            job = self.make_job(self.patch_task, status=status)
            resp = self.post('/jobs/%s/cancel' % job.uuid, status=409)
            self.assertError(resp, 409, 'craton.invalid_state', status)
        self.casts['cancel_job'].assert_not_called()

    def test_unknown_job(self):
        self.get('/jobs/not-a-uuid', status=404)
        resp = self.get('/jobs/6f1c8e0e-7a47-4d57-9a1e-2f6a1f0e7c11',
                        status=404)
        self.assertError(resp, 404, 'craton.job.not_found')


class TestList(JobTestCase):
    """The list reads its page as plain rows, the show reads a Job
    object: both must answer alike, and the list in a bounded number of
    queries.
    """

    # The contract of a job (API.md), as the list and the show give it.
    KEYS = {'uuid', 'workflow_uuid', 'task_uuid', 'project_id', 'user_id',
            'status', 'status_reason', 'variables', 'secrets', 'host_count',
            'steps', 'created_at', 'updated_at', 'started_at', 'finished_at',
            'links'}
    STEP_KEYS = {'index', 'name', 'task_uuid', 'image_digest', 'status',
                 'exit_code', 'status_reason', 'node', 'started_at',
                 'finished_at', 'result'}

    def finished_job(self, result, microsecond):
        """A two-step workflow job that ran: results, times, reasons."""
        uuid = self.submit(workflow='host-maintenance',
                           inventory={'hosts': ['compute-01']}).json['uuid']
        job = job_obj.Job.get(self.context, uuid)
        start = datetime.datetime(2026, 11, 30, 12, 0, 1, microsecond)
        end = start + datetime.timedelta(seconds=3, microseconds=250)
        self.assertTrue(job.update({
            'status': 'failed', 'status_reason': 'step 1 failed',
            'variables': {'reason': 'patching', 'n': [1, 2.5, None]},
            'secrets': ['db-password'], 'started_at': start,
            'finished_at': end}))
        job.steps[0].update({'status': 'succeeded', 'exit_code': 0,
                             'node': 'node-1', 'result': result,
                             'started_at': start, 'finished_at': end})
        job.steps[1].update({'status': 'failed', 'exit_code': 3,
                             'status_reason': 'exit code 3',
                             'started_at': end})
        return uuid

    def test_list_item_is_the_show_answer(self):
        self.finished_job({'changed': True, 'items': ['a', {'b': None}]},
                          123456)
        self.finished_job({'text': 'plain'}, 0)
        self.submit(task='patch-host', inventory={'hosts': ['compute-01']})
        listed = self.get('/jobs').json['jobs']
        self.assertEqual(3, len(listed))
        for item in listed:
            shown = self.get('/jobs/' + item['uuid']).json
            self.assertEqual(self.KEYS, set(item))
            for key in self.KEYS:
                self.assertEqual(shown[key], item[key], key)
            for step in item['steps']:
                self.assertEqual(self.STEP_KEYS, set(step))
        self.assertEqual({'changed': True, 'items': ['a', {'b': None}]},
                         listed[0]['steps'][0]['result'])
        self.assertEqual('2026-11-30T12:00:01.123456+00:00',
                         listed[0]['started_at'])
        self.assertEqual('2026-11-30T12:00:01+00:00',
                         listed[1]['steps'][0]['started_at'])
        self.assertEqual([0, 1], [st['index'] for st in listed[0]['steps']])

    def test_show_is_the_object_view(self):
        # Submit and cancel answer from the Job object (job_view); the
        # show reads plain values: both must say the same.
        uuid = self.finished_job({'changed': True, 'n': [1, None]}, 123456)
        shown = self.get('/jobs/' + uuid).json
        with mock.patch.object(jobs_api.utils, 'base_url',
                               return_value='http://localhost'):
            viewed = jobs_api.job_view(job_obj.Job.get(self.context, uuid))
        self.assertEqual(json.loads(json.dumps(viewed)), shown)
        pending = self.submit(task='patch-host',
                              inventory={'hosts': ['compute-01']}).json
        self.assertEqual(pending, self.get('/jobs/' + pending['uuid']).json)

    def count_queries(self, path):
        """The SQL statements (with their parameters) a GET sends."""
        statements = []

        def record(conn, cursor, statement, parameters, context, many):
            statements.append((statement, parameters))
        sa.event.listen(self.db.engine, 'before_cursor_execute', record)
        try:
            self.get(path)
        finally:
            sa.event.remove(self.db.engine, 'before_cursor_execute', record)
        return statements

    def test_queries_do_not_grow_with_the_page(self):
        uuids = [self.finished_job(None, 0) for _ in range(2)]
        for _ in range(4):
            self.submit(task='patch-host',
                        inventory={'hosts': ['compute-01']})
        one = self.count_queries('/jobs?limit=1')
        six = self.count_queries('/jobs?limit=6')
        self.assertEqual(len(one), len(six), six)
        # A marker costs the one read of the marker's row (not its steps).
        after = self.count_queries('/jobs?limit=6&marker=' + uuids[0])
        self.assertEqual(len(six) + 1, len(after), after)

    def test_page_is_read_in_index_order(self):
        for _ in range(3):
            self.submit(task='patch-host',
                        inventory={'hosts': ['compute-01']})
        page = [(st, params) for st, params in
                self.count_queries('/jobs?limit=2')
                if 'FROM jobs' in st and 'ORDER BY' in st]
        self.assertEqual(1, len(page))
        with self.db.engine.connect() as conn:
            plan = ' '.join(
                str(row[-1]) for row in conn.exec_driver_sql(
                    'EXPLAIN QUERY PLAN ' + page[0][0], page[0][1]))
        self.assertIn('jobs_project_id_created_at_idx', plan)
        self.assertNotIn('TEMP B-TREE', plan)


class TestLogs(JobTestCase):

    def logs(self, job, query='', index=0, status=200, **kw):
        return self.get('/jobs/%s/steps/%s/logs%s' % (job.uuid, index,
                                                      query),
                        status=status, **kw)

    def test_offsets_and_headers(self):
        job = self.make_job(self.patch_task, status='running',
                            step_status='running')
        step = job.steps[0]
        dbapi = db_api.get_instance()
        self.assertTrue(dbapi.append_step_log(step.id, 0, b'hello\n'))
        resp = self.logs(job)
        self.assertEqual('text/plain', resp.content_type)
        self.assertEqual(b'hello\n', resp.body)
        self.assertEqual('6', resp.headers['X-Craton-Log-Offset'])
        self.assertEqual('false', resp.headers['X-Craton-Log-Complete'])
        dbapi.append_step_log(step.id, 6, b'world\n')
        resp = self.logs(job, '?offset=6')
        self.assertEqual(b'world\n', resp.body)
        self.assertEqual('12', resp.headers['X-Craton-Log-Offset'])
        resp = self.logs(job, '?offset=3')
        self.assertEqual(b'lo\nworld\n', resp.body)
        job.steps[0].update({'status': 'succeeded'})
        resp = self.logs(job, '?offset=12')
        self.assertEqual(b'', resp.body)
        self.assertEqual('12', resp.headers['X-Craton-Log-Offset'])
        self.assertEqual('true', resp.headers['X-Craton-Log-Complete'])
        resp = self.logs(job, '?offset=6')
        self.assertEqual('true', resp.headers['X-Craton-Log-Complete'])

    def test_truncated_header_comes_from_the_step_not_the_bytes(self):
        job = self.make_job(self.patch_task, step_status='succeeded')
        dbapi = db_api.get_instance()
        # A step may print the marker itself: that is not a cut.
        forged = b'hello\n[craton] log cut at 6 bytes\n'
        self.assertTrue(dbapi.append_step_log(job.steps[0].id, 0, forged))
        resp = self.logs(job)
        self.assertNotIn('X-Craton-Log-Truncated', resp.headers)
        other = self.make_job(self.patch_task, step_status='succeeded')
        cut = b'x' * 10 + b'\n[craton] log cut at 10 bytes\n'
        self.assertTrue(dbapi.append_step_log(other.steps[0].id, 0, cut,
                                              truncated=True))
        resp = self.logs(other)
        self.assertEqual('true', resp.headers['X-Craton-Log-Truncated'])
        self.assertEqual('true', resp.headers['X-Craton-Log-Complete'])

    def test_skipped_step_is_complete(self):
        job = self.make_job(self.patch_task, status='failed',
                            step_status='skipped')
        resp = self.logs(job)
        self.assertEqual(b'', resp.body)
        self.assertEqual('true', resp.headers['X-Craton-Log-Complete'])

    def test_page_is_capped(self):
        job = self.make_job(self.patch_task, step_status='succeeded')
        dbapi = db_api.get_instance()
        chunk = b'x' * (600 * 1024)
        dbapi.append_step_log(job.steps[0].id, 0, chunk)
        dbapi.append_step_log(job.steps[0].id, len(chunk), chunk)
        resp = self.logs(job)
        self.assertEqual(1024 * 1024, len(resp.body))
        self.assertEqual('false', resp.headers['X-Craton-Log-Complete'])
        resp = self.logs(job, '?offset=%d' % (1024 * 1024))
        self.assertEqual(2 * len(chunk) - 1024 * 1024, len(resp.body))
        self.assertEqual('true', resp.headers['X-Craton-Log-Complete'])

    def test_errors(self):
        job = self.make_job(self.patch_task)
        for index in (1, 'x', -1):
            resp = self.logs(job, index=index, status=404)
            self.assertError(resp, 404)
        for query in ('?offset=-1', '?offset=abc', '?offset=99',
                      '?colour=1'):
            resp = self.logs(job, query, status=400)
            self.assertError(resp, 400)
        self.logs(job, status=404, project='project-b')
        resp = self.logs(job, status=403, persona='none')
        self.assertError(resp, 403, 'craton.forbidden')


class RunImageTest(testtools.TestCase):

    def test_local_image_id_without_registry(self):
        task = types.SimpleNamespace(image='craton/task-u:1',
                                     image_digest='sha256:aaa',
                                     registry_digest=None)
        self.assertEqual('sha256:aaa', job_submission.run_image(task))

    def test_registry_digest_pins_the_pushed_image(self):
        task = types.SimpleNamespace(
            image='127.0.0.1:5001/craton/task-u:3', image_digest='sha256:a',
            registry_digest='sha256:bbb')
        self.assertEqual('127.0.0.1:5001/craton/task-u@sha256:bbb',
                         job_submission.run_image(task))
