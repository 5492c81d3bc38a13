# SPDX-License-Identifier: Apache-2.0
"""Versioned objects: fingerprints and round trips through the database."""

from oslo_utils import timeutils
from oslo_versionedobjects import fixture as ovo_fixture
import sqlalchemy as sa

from craton.common import context
from craton.common import exception
from craton.common import fsm
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton.objects import base as obj_base
from craton.objects import inventory
from craton.objects import job as job_obj
from craton.objects import task as task_obj
from craton.objects import workflow as workflow_obj
from craton.tests import base

# Changing an object's fields changes its fingerprint: bump its VERSION
# and update the hash here in the same change.
EXPECTED = {
    'Cell': '1.0-b9240a2bd4081b050a94667b8cbca15a',
    'Event': '1.0-7de60815fe567da714bd2e8a1928a5d0',
    'EventPayload': '1.0-f584d2a29adde2e041b9f17eeb85b129',
    'Host': '1.0-db4c94f3fe9eab38cde06651d55ffeef',
    'Job': '1.1-8174f3cb661c6610249f5df134ba4ea6',
    'JobStep': '1.2-7249c6a2b3aebc3180291f7afbf5d732',
    'Region': '1.0-6cb56de818f2927e0430923949c053c7',
    'Secret': '1.0-0fc0eeee4bf5cb32c3ec13e182c8e098',
    'Task': '1.0-10602cdbca804478a7796e174782dd45',
    'Workflow': '1.1-cd4dc6dbfa0e2fd1e83a41600f2c1d74',
}


class FingerprintTest(base.TestCase):

    def test_versions(self):
        checker = ovo_fixture.ObjectVersionChecker(
            obj_base.CratonObjectRegistry.obj_classes())
        expected, actual = checker.test_hashes(EXPECTED)
        self.assertEqual(expected, actual,
                         'An object changed: bump its VERSION and update '
                         'EXPECTED in this test.')


class ObjectsTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.other = context.RequestContext(project_id='project-b',
                                            user_id='user-b')

    def _region(self, name='r1', **kw):
        region = inventory.Region(self.context, project_id='project-a',
                                  name=name, **kw)
        region.create()
        return region

    def test_host_carries_region_cell_and_labels(self):
        region = self._region(variables={'a': 1})
        cell = inventory.Cell(self.context, project_id='project-a',
                              name='c1', region_id=region.id)
        cell.create()
        host = inventory.Host(self.context, project_id='project-a',
                              name='h1', region_id=region.id,
                              cell_id=cell.id, labels=['b', 'a', 'b'])
        host.create()
        host = inventory.Host.get(self.context, 'h1')
        self.assertEqual(('r1', 'c1', ['a', 'b']),
                         (host.region, host.cell, host.labels))
        host.labels = ['z']
        host.save()
        self.assertEqual(['z'], inventory.Host.get(self.context,
                                                   host.uuid).labels)

    def test_other_project_cannot_see(self):
        self._region()
        self.assertRaises(exception.RegionNotFound, inventory.Region.get,
                          self.other, 'r1')
        self.assertEqual([], inventory.Region.list(self.other))

    def test_duplicate_name_is_conflict(self):
        self._region()
        self.assertRaises(exception.Duplicate, self._region)
        # The same name in another project is fine.
        inventory.Region(self.other, project_id='project-b',
                         name='r1').create()

    def test_region_in_use_cannot_be_deleted(self):
        region = self._region()
        inventory.Host(self.context, project_id='project-a', name='h1',
                       region_id=region.id, labels=[]).create()
        err = self.assertRaises(exception.InUse, region.destroy)
        self.assertIn('h1', str(err))

    def _task(self, name='t1'):
        task = task_obj.Task(
            self.context, project_id='project-a', name=name,
            source={'type': 'local', 'path': '/srv/t'}, command=['run'],
            timeout=60, status='ready', approval='approved',
            visibility='private')
        task.create()
        return task

    def test_list_all_reads_every_page_in_order(self):
        made = [self._task('t%d' % i).uuid for i in range(5)]
        admin = context.get_admin_context()
        self.assertEqual(made, [t.uuid for t in task_obj.Task.list_all(
            admin, {'status': 'ready'}, page=2)])
        self.assertEqual(made[:1], [t.uuid for t in task_obj.Task.list_all(
            admin, {'name': 't0'}, page=1)])

    def test_task_shared_roles_and_who_sees_it(self):
        task = task_obj.Task(
            self.context, project_id='project-a', name='t1',
            source={'type': 'local', 'path': '/srv/t'}, command=['run'],
            timeout=60, status='ready', approval='approved',
            visibility='shared', shared_roles=['ops', 'audit', 'ops'])
        task.create()
        self.assertEqual(['audit', 'ops'], task.shared_roles)
        ops = context.RequestContext(project_id='project-b', user_id='u',
                                     roles=['member', 'ops'])
        self.assertEqual(task.uuid, task_obj.Task.get(ops, task.uuid).uuid)
        self.assertTrue(task.shared_with(ops))
        self.assertEqual([task.uuid], [t.uuid for t in
                                       task_obj.Task.list(ops)])
        # By name only in the caller's own project.
        self.assertRaises(exception.TaskNotFound, task_obj.Task.get, ops,
                          't1')
        for other in (self.other, context.RequestContext(
                project_id='project-b', roles=['admin'])):
            self.assertFalse(task.shared_with(other))
            self.assertRaises(exception.TaskNotFound, task_obj.Task.get,
                              other, task.uuid)
            self.assertEqual([], task_obj.Task.list(other))
        # Admins reviewing: any task by UUID.
        self.assertEqual(task.uuid, task_obj.Task.get(
            self.other, task.uuid, any_project=True).uuid)
        task.shared_roles = ['audit']
        task.save()
        self.assertEqual(['audit'], task_obj.Task.get(self.context,
                                                      't1').shared_roles)
        self.assertRaises(exception.TaskNotFound, task_obj.Task.get, ops,
                          task.uuid)
        task.destroy()
        self.assertRaises(exception.TaskNotFound, task_obj.Task.get,
                          self.context, task.uuid)
        with session.reader() as s:
            left = s.execute(sa.select(sa.func.count()).select_from(
                models.TaskSharedRole)).scalar()
        self.assertEqual(0, left)

    def test_workflow_steps_keep_order_and_are_replaced(self):
        t1, t2 = self._task('t1'), self._task('t2')
        wf = workflow_obj.Workflow(self.context, project_id='project-a',
                                   name='wf', steps=[
                                       {'name': 'b', 'task_uuid': t2.uuid},
                                       {'name': 'a', 'task_uuid': t1.uuid}])
        wf.create()
        self.assertEqual(['b', 'a'], [s['name'] for s in
                                      workflow_obj.Workflow.get(
                                          self.context, 'wf').steps])
        wf.steps = [{'name': 'only', 'task_uuid': t1.uuid, 'timeout': 5}]
        wf.save()
        steps = workflow_obj.Workflow.get(self.context, wf.uuid).steps
        self.assertEqual([('only', 5)], [(s['name'], s['timeout'])
                                         for s in steps])
        err = self.assertRaises(exception.InUse, t1.destroy)
        self.assertIn('wf', str(err))

    def test_job_submit_creates_pending_steps_and_snapshot(self):
        task = self._task()
        hosts = [{'name': 'h%d' % i} for i in range(3)]
        job = job_obj.Job.submit(
            self.context, {'project_id': 'project-a', 'status': 'pending',
                           'task_uuid': task.uuid},
            [{'name': 's%d' % i, 'task_uuid': task.uuid, 'timeout': 9}
             for i in range(2)], hosts)
        self.assertEqual(3, job.host_count)
        self.assertEqual(hosts, job.inventory())
        self.assertEqual([(0, 'pending'), (1, 'pending')],
                         [(s.index, s.status) for s in job.steps])
        # The task is used by an unfinished job.
        self.assertRaises(exception.InUse, task.destroy)

    def test_job_summaries_are_the_page_of_list(self):
        task = self._task()
        for n in range(3):
            job_obj.Job.submit(
                self.context, {'project_id': 'project-a',
                               'status': 'pending', 'task_uuid': task.uuid},
                [{'name': 's%d' % i, 'task_uuid': task.uuid, 'timeout': 9}
                 for i in range(n)], [])
        jobs = job_obj.Job.list(self.context, limit=2, sort_dir='desc')
        found = job_obj.Job.list_summaries(
            self.context, ('uuid', 'status'), ('index', 'name'), limit=2,
            sort_dir='desc')
        self.assertEqual(
            [{'uuid': j.uuid, 'status': 'pending',
              'steps': [{'index': s.index, 'name': s.name}
                        for s in j.steps]} for j in jobs], found)
        self.assertEqual(2, len(found[0]['steps']))
        other = context.RequestContext(project_id='project-b')
        self.assertEqual([], job_obj.Job.list_summaries(
            other, ('uuid',), ()))
        for fields, step_fields in ((('steps',), ()), (('nope',), ()),
                                    (('uuid',), ('command', 'nope'))):
            self.assertRaises(ValueError, job_obj.Job.list_summaries,
                              self.context, fields, step_fields)

    def test_conditional_updates(self):
        task = self._task()
        job = job_obj.Job.submit(
            self.context, {'project_id': 'project-a', 'status': 'pending',
                           'task_uuid': task.uuid},
            [{'name': 's', 'task_uuid': task.uuid, 'timeout': 9}], [])
        self.assertTrue(job.update({'status': 'running'},
                                   expected_status='pending'))
        self.assertFalse(job.update({'status': 'running'},
                                    expected_status='pending'))
        step = job.steps[0]
        self.assertTrue(step.update({'status': 'running'},
                                    expected_status='pending'))
        self.assertFalse(step.update({'status': 'failed'},
                                     expected_status='pending'))
        step.refresh()
        self.assertEqual('running', step.status)


class TaskStatusTest(base.TestCase):
    """Task status moves only through the state machine, conditionally."""

    def _task(self, status='pending', **kw):
        values = dict(project_id='project-a', name='t1',
                      source={'type': 'local', 'path': '/srv/t'},
                      command=['run'], timeout=60, status=status,
                      approval='pending', visibility='private')
        values.update(kw)
        task = task_obj.Task(self.context, **values)
        task.create()
        return task

    def _stored(self, task):
        return task_obj.Task.get(self.context, task.uuid)

    def test_transition_writes_status_reason_values_and_changes(self):
        task = self._task()
        self.assertTrue(task.start_build())
        task.image = 'craton/task-x:1'
        self.assertTrue(task.transition(fsm.TASK_FAIL, reason='broken',
                                        build_number=1))
        stored = self._stored(task)
        self.assertEqual(('error', 'broken', 1, 'craton/task-x:1'),
                         (stored.status, stored.status_reason,
                          stored.build_number, stored.image))
        self.assertEqual(('error', {}), (task.status,
                                         task.obj_get_changes()))

    def test_transition_asks_the_machine(self):
        task = self._task(status='ready')
        exc = self.assertRaises(exception.InvalidState, task.transition,
                                fsm.TASK_DONE)
        self.assertIn("a task in state 'ready' cannot 'done'", str(exc))
        self.assertEqual('ready', self._stored(task).status)

    def test_lost_race_writes_nothing(self):
        task = self._task(status='building')
        # Another writer (the API's rebuild) moves the row meanwhile.
        other = self._stored(task)
        self.assertTrue(other.transition(fsm.TASK_REBUILD))
        task.image = 'craton/task-x:9'
        self.assertFalse(task.transition(fsm.TASK_DONE))
        stored = self._stored(task)
        self.assertEqual(('pending', None), (stored.status, stored.image))
        # The object is as it was, its changes still unsaved.
        self.assertEqual('building', task.status)
        self.assertEqual({'image': 'craton/task-x:9'},
                         task.obj_get_changes())
        # Read the status again, and the machine decides from there.
        task.refresh_status()
        self.assertEqual('pending', task.status)
        self.assertEqual({'image': 'craton/task-x:9'},
                         task.obj_get_changes())
        self.assertTrue(task.transition(fsm.TASK_BUILD))
        self.assertEqual(('building', 'craton/task-x:9'),
                         (self._stored(task).status,
                          self._stored(task).image))

    def test_save_refuses_the_status(self):
        task = self._task(status='ready')
        for field, value in (('status', 'pending'),
                             ('status_reason', 'x')):
            task.refresh()
            setattr(task, field, value)
            task.description = 'changed'
            exc = self.assertRaises(ValueError, task.save)
            self.assertIn('Task.transition()', str(exc))
            self.assertIn(field, str(exc))
            self.assertRaises(ValueError, task.transition, fsm.TASK_REBUILD)
            stored = self._stored(task)
            self.assertEqual(('ready', None, None),
                             (stored.status, stored.status_reason,
                              stored.description))
        # Other fields save as before.
        task.refresh()
        task.description = 'changed'
        task.save()
        self.assertEqual('changed', self._stored(task).description)

    def test_start_build(self):
        task = self._task()
        self.assertTrue(task.start_build())
        self.assertEqual('building', self._stored(task).status)
        # A build in flight taken up again, or a finished task built
        # again: rebuild then build, in one write.
        for status in ('building', 'syncing', 'ready', 'error'):
            task = self._task(status=status, name='t-' + status,
                              status_reason='old')
            self.assertTrue(task.start_build())
            self.assertEqual(('building', None),
                             (self._stored(task).status,
                              self._stored(task).status_reason))

    def test_start_build_reads_the_stored_source(self):
        task = self._task()
        other = self._stored(task)
        other.source = {'type': 'local', 'path': '/srv/new'}
        other.save()
        self.assertTrue(task.start_build())
        self.assertEqual('/srv/new', task.source['path'])

    def test_reset_approval(self):
        task = self._task(status='ready', approval='approved',
                          approved_by='admin', approved_digest='sha256:x',
                          approved_at=timeutils.utcnow())
        task.reset_approval()
        task.save()
        stored = self._stored(task)
        self.assertEqual(('pending', None, None, None),
                         (stored.approval, stored.approved_by,
                          stored.approved_at, stored.approved_digest))

    def test_shared_roles_written_with_a_transition(self):
        task = self._task(status='ready', visibility='shared',
                          shared_roles=['ops'])
        task.shared_roles = ['audit', 'ops', 'audit']
        self.assertTrue(task.transition(fsm.TASK_REBUILD))
        self.assertEqual(['audit', 'ops'], self._stored(task).shared_roles)

    def test_destroy_goes_through_deleting(self):
        task = self._task(status='ready')
        statements = []

        def record(conn, cursor, statement, parameters, context, many):
            statements.append((statement.split()[0], parameters))
        sa.event.listen(self.db.engine, 'before_cursor_execute', record)
        self.addCleanup(sa.event.remove, self.db.engine,
                        'before_cursor_execute', record)
        self.assertTrue(task.destroy())
        verbs = [verb for verb, _ in statements]
        update = verbs.index('UPDATE')
        self.assertIn('deleting', statements[update][1])
        self.assertLess(update, verbs.index('DELETE'))
        self.assertRaises(exception.TaskNotFound, self._stored, task)

    def test_destroy_racing_a_status_change(self):
        task = self._task(status='building')
        self.assertTrue(self._stored(task).transition(fsm.TASK_DONE))
        self.assertFalse(task.destroy())
        self.assertEqual('ready', self._stored(task).status)
        task.refresh_status()
        self.assertTrue(task.destroy())

    def test_destroy_refused_while_deleting(self):
        task = self._task()
        task.status = 'deleting'
        task.obj_reset_changes(['status'])
        self.assertRaises(exception.InvalidState, task.destroy)
        self.assertEqual('pending', self._stored(task).status)

    def test_write_after_delete_fails_cleanly(self):
        task = self._task(status='building')
        self.assertTrue(self._stored(task).destroy())
        self.assertFalse(task.transition(fsm.TASK_DONE))
        self.assertFalse(task.transition(fsm.TASK_FAIL, reason='x'))
        self.assertRaises(exception.TaskNotFound, task.refresh_status)
