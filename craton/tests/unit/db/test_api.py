# SPDX-License-Identifier: Apache-2.0
"""The database API: claims, conditional writes, logs and pagination."""

from craton.common import exception
from craton.db import api as db_api
from craton.tests import base

TASK = '11111111-1111-1111-1111-111111111111'


class DBAPITest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dbapi = db_api.get_instance()

    def _job(self, steps=1):
        return self.dbapi.create_job(
            {'project_id': 'p', 'status': 'pending'},
            [{'name': 's%d' % i, 'task_uuid': TASK, 'timeout': 5}
             for i in range(steps)])

    def test_claim_is_exclusive(self):
        job = self._job()
        self.assertTrue(self.dbapi.claim_job(job.uuid, 'c1'))
        self.assertFalse(self.dbapi.claim_job(job.uuid, 'c2'))
        self.assertEqual([job.uuid], self.dbapi.list_job_claims('c1'))
        self.assertEqual([], self.dbapi.list_unclaimed_jobs())

    def test_takeover_only_from_the_named_owner(self):
        job = self._job()
        self.dbapi.claim_job(job.uuid, 'c1')
        self.assertFalse(self.dbapi.claim_job(job.uuid, 'c3',
                                              from_host='c2'))
        self.assertTrue(self.dbapi.claim_job(job.uuid, 'c2',
                                             from_host='c1'))
        self.assertEqual([job.uuid], self.dbapi.list_job_claims('c2'))

    def test_finished_jobs_cannot_be_claimed(self):
        job = self._job()
        self.dbapi.update_job(job.uuid, {'status': 'succeeded'})
        self.assertFalse(self.dbapi.claim_job(job.uuid, 'c1'))
        self.assertEqual([], self.dbapi.list_unclaimed_jobs())

    def test_update_job_respects_owner_and_status(self):
        job = self._job()
        self.dbapi.claim_job(job.uuid, 'c1')
        self.assertFalse(self.dbapi.update_job(
            job.uuid, {'status': 'running'}, conductor='c2'))
        self.assertFalse(self.dbapi.update_job(
            job.uuid, {'status': 'running'}, expected_status='running'))
        self.assertTrue(self.dbapi.update_job(
            job.uuid, {'status': 'running'}, expected_status='pending',
            conductor='c1'))

    def test_log_appends_only_at_the_end(self):
        step = self._job().steps[0]
        self.assertTrue(self.dbapi.append_step_log(step.id, 0, b'abc'))
        # A second writer at an old offset is refused: nothing doubles.
        self.assertFalse(self.dbapi.append_step_log(step.id, 0, b'abc'))
        self.assertFalse(self.dbapi.append_step_log(step.id, 5, b'x'))
        self.assertTrue(self.dbapi.append_step_log(step.id, 3, b'defg'))
        self.assertEqual(b'abcdefg', self.dbapi.get_step_log(step.id, 0, 100))
        self.assertEqual(b'cde', self.dbapi.get_step_log(step.id, 2, 3))
        self.assertEqual(b'', self.dbapi.get_step_log(step.id, 7, 100))
        self.assertEqual(7, self.dbapi.get_job_step(step.job_id,
                                                    0).log_bytes)

    def test_conductor_heartbeats(self):
        self.dbapi.register_conductor('c1')
        self.assertEqual([], self.dbapi.list_dead_conductors(60))
        self.assertEqual(['c1'], self.dbapi.list_dead_conductors(-1))
        self.dbapi.unregister_conductor('c1')
        self.assertEqual(['c1'], self.dbapi.list_dead_conductors(60))
        self.assertTrue(self.dbapi.touch_conductor('c1'))
        self.assertEqual([], self.dbapi.list_dead_conductors(60))

    def test_pagination_never_skips_or_repeats(self):
        for i in range(7):
            # Equal sort values force the tie-break on id.
            self.dbapi.create_region({'project_id': 'p',
                                      'name': 'r%d' % i,
                                      'description': 'same'})
        for key in ('name', 'description', 'created_at'):
            for direction in ('asc', 'desc'):
                seen, marker = [], None
                while True:
                    page = self.dbapi.list_regions(
                        'p', limit=3, marker=marker, sort_key=key,
                        sort_dir=direction)
                    seen += [r.name for r in page]
                    if len(page) < 3:
                        break
                    marker = page[-1].uuid
                self.assertEqual(7, len(seen), (key, direction))
                self.assertEqual(7, len(set(seen)), (key, direction))

    def test_bad_marker_is_invalid(self):
        self.assertRaises(exception.InvalidParameter, self.dbapi.list_regions,
                          'p', marker='22222222-2222-2222-2222-222222222222')

    def test_marker_of_another_project_is_invalid(self):
        other = self.dbapi.create_region({'project_id': 'q', 'name': 'r'})
        self.assertRaises(exception.InvalidParameter, self.dbapi.list_regions,
                          'p', marker=other.uuid)
        self.assertEqual([], self.dbapi.list_regions(None, marker=other.uuid))

    def test_hosts_by_all_labels(self):
        region = self.dbapi.create_region({'project_id': 'p', 'name': 'r'})
        for name, labels in (('a', ['x', 'y']), ('b', ['x']), ('c', [])):
            self.dbapi.create_host({'project_id': 'p', 'name': name,
                                    'region_id': region.id,
                                    'labels': labels})
        found = self.dbapi.find_hosts('p', {'labels': ['x', 'y']})
        self.assertEqual(['a'], [h.name for h in found])
        found = self.dbapi.find_hosts('p', {'labels': ['x']})
        self.assertEqual(['a', 'b'], [h.name for h in found])


class NextWorkTest(base.TestCase):
    """The fair order in which free workers take queued jobs and builds."""

    def setUp(self):
        super().setUp()
        self.dbapi = db_api.get_instance()

    def _job(self, project, status='pending'):
        return self.dbapi.create_job(
            {'project_id': project, 'status': status},
            [{'name': 's', 'task_uuid': TASK, 'timeout': 5}]).uuid

    def test_each_project_offers_its_oldest_job_fewest_running_first(self):
        a1, a2 = self._job('a'), self._job('a')
        b1, b2 = self._job('b'), self._job('b')
        c1 = self._job('c')
        self._job('d', status='succeeded')
        # Oldest first, one each.
        self.assertEqual([a1, b1, c1], self.dbapi.list_next_jobs())
        self.assertTrue(self.dbapi.claim_job(a1, 'c1'))
        # a has one running: b and c first, though a2 is older.
        self.assertEqual([b1, c1, a2], self.dbapi.list_next_jobs())
        self.assertTrue(self.dbapi.claim_job(b1, 'c2'))
        self.assertEqual([c1, a2, b2], self.dbapi.list_next_jobs())
        # A finished job no longer counts as running.
        self.dbapi.update_job(a1, {'status': 'succeeded'})
        self.assertEqual([a2, c1, b2], self.dbapi.list_next_jobs())
        self.assertEqual([a2], self.dbapi.list_next_jobs(limit=1))
        self.assertEqual([c1, b2], self.dbapi.list_next_jobs(exclude=a2))

    def _task(self, project, name, status='pending', source=None):
        return self.dbapi.create_task({
            'project_id': project, 'name': name,
            'source': source or {'type': 'git'}, 'command': ['x'],
            'timeout': 5, 'status': status, 'approval': 'pending',
            'visibility': 'private'}).uuid

    def test_builds_in_the_same_order(self):
        self._task('a', 'upload', source={'type': 'upload'})
        self._task('a', 'done', status='ready')
        a1, a2 = self._task('a', 'a1'), self._task('a', 'a2')
        b1 = self._task('b', 'b1', status='syncing')
        self.assertEqual([a1, b1], self.dbapi.list_next_builds())
        self.assertTrue(self.dbapi.claim_task(a1, 'c1'))
        self.assertEqual([b1, a2], self.dbapi.list_next_builds())
        self.assertEqual([a2], self.dbapi.list_next_builds(exclude=b1))


class TaskExtrasTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dbapi = db_api.get_instance()
        self.task = self.dbapi.create_task({
            'project_id': 'p', 'name': 't', 'source': {'type': 'upload'},
            'command': ['x'], 'timeout': 5, 'status': 'pending',
            'approval': 'pending', 'visibility': 'private'})

    def test_task_nodes_upsert_and_clear(self):
        self.dbapi.set_task_node(self.task.uuid, 'n1', 'node-1', 'failed',
                                 'img@sha256:1', reason='pull refused')
        self.dbapi.set_task_node(self.task.uuid, 'n1', 'node-1', 'synced',
                                 'img@sha256:1')
        self.dbapi.set_task_node(self.task.uuid, 'n2', 'node-2', 'synced',
                                 'img@sha256:1')
        rows = self.dbapi.list_task_nodes(self.task.uuid)
        self.assertEqual([('node-1', 'synced', None), ('node-2', 'synced',
                                                       None)],
                         [(r.hostname, r.status, r.reason) for r in rows])
        self.dbapi.clear_task_nodes(self.task.uuid)
        self.assertEqual([], self.dbapi.list_task_nodes(self.task.uuid))

    def test_upload_round_trip_in_chunks(self):
        from craton.db.sqlalchemy import task_extras
        self.assertIsNone(self.dbapi.get_task_upload(self.task.uuid))
        data = bytes(range(256)) * (task_extras.UPLOAD_CHUNK_BYTES // 100)
        self.dbapi.put_task_upload(self.task.uuid, data)
        self.assertEqual(data, self.dbapi.get_task_upload(self.task.uuid))
        self.dbapi.put_task_upload(self.task.uuid, b'small')
        self.assertEqual(b'small', self.dbapi.get_task_upload(self.task.uuid))

    def test_deleting_the_task_deletes_its_extras(self):
        self.dbapi.put_task_upload(self.task.uuid, b'abc')
        self.dbapi.set_task_node(self.task.uuid, 'n1', 'node-1', 'synced',
                                 'img')
        self.dbapi.destroy_task(None, self.task.uuid)
        from craton.db.sqlalchemy import models
        self.assertEqual(0, self.db.count(models.TaskNode))
        self.assertEqual(0, self.db.count(models.TaskUploadChunk))


class TaskStatusTest(base.TestCase):
    """Conditional task status writes and the delete through deleting."""

    def setUp(self):
        super().setUp()
        self.dbapi = db_api.get_instance()
        self.task = self.dbapi.create_task({
            'project_id': 'p', 'name': 't', 'source': {'type': 'git'},
            'command': ['x'], 'timeout': 5, 'status': 'building',
            'approval': 'pending', 'visibility': 'private'})

    def test_update_task_status_only_from_the_expected_status(self):
        self.assertIsNone(self.dbapi.update_task_status(
            self.task.uuid, 'pending', {'status': 'building'}))
        row = self.dbapi.update_task_status(
            self.task.uuid, ('pending', 'building'),
            {'status': 'ready', 'image': 'img', 'shared_roles': ['b', 'a']})
        self.assertEqual(('ready', 'img', ['a', 'b']),
                         (row.status, row.image,
                          [r.role for r in row.shared_roles]))
        self.assertIsNotNone(row.updated_at)
        self.assertIsNone(self.dbapi.update_task_status(
            '22222222-2222-2222-2222-222222222222', 'ready',
            {'status': 'pending'}))

    def test_destroy_task_only_from_the_expected_status(self):
        self.assertFalse(self.dbapi.destroy_task(None, self.task.uuid,
                                                 expected_status='ready'))
        self.assertEqual('building',
                         self.dbapi.get_task(None, self.task.uuid).status)
        self.assertTrue(self.dbapi.destroy_task(
            None, self.task.uuid, expected_status=('ready', 'building')))
        self.assertRaises(exception.TaskNotFound, self.dbapi.get_task, None,
                          self.task.uuid)
        self.assertRaises(exception.TaskNotFound, self.dbapi.destroy_task,
                          None, self.task.uuid)


class SecretReferencesTest(base.TestCase):
    """A workflow or job written after a secret it names was deleted is
    refused in its own transaction (the API resolved the name earlier).
    """

    def setUp(self):
        super().setUp()
        self.dbapi = db_api.get_instance()
        self.secret = self.dbapi.create_secret({
            'project_id': 'p', 'name': 'gone', 'backend': 'fernet',
            'ciphertext': b'x'})
        self.dbapi.destroy_secret('p', self.secret.uuid)

    def test_job_naming_a_deleted_secret(self):
        error = self.assertRaises(
            exception.InvalidParameter, self.dbapi.create_job,
            {'project_id': 'p', 'status': 'pending'},
            [{'name': 's', 'task_uuid': 't', 'timeout': 5,
              'secrets': [self.secret.uuid]}])
        self.assertIn(self.secret.uuid, str(error))
        self.assertEqual([], self.dbapi.list_jobs('p'))

    def test_workflow_naming_a_deleted_secret(self):
        for values, steps in (({'secrets': ['gone']}, []),
                              ({}, [{'secrets': ['gone']}])):
            steps = [dict({'name': 's', 'task_uuid': 't'}, **st)
                     for st in steps or [{}]]
            self.assertRaises(exception.InvalidParameter,
                              self.dbapi.create_workflow,
                              dict({'project_id': 'p', 'name': 'w'},
                                   **values), steps)
        self.assertEqual([], self.dbapi.list_workflows('p'))
