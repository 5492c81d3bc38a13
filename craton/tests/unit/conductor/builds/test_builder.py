# SPDX-License-Identifier: Apache-2.0
"""Image builds against a fake engine: build_image, build_task, cleanup."""

import os
from unittest import mock

import docker
import fixtures
from oslo_config import fixture as config_fixture
import requests
import testtools
import urllib3

from craton.common import exception
from craton.common import fsm
from craton.common import states
from craton.conductor.builds import builder
from craton.conductor.builds import images
from craton.conductor import drivers
from craton.conductor.builds import fetch
from craton import conf
from craton.db import api as db_api
from craton.objects import task as task_obj
from craton.tests import base
from craton.tests.unit.conductor.builds import test_fetch

CONF = conf.CONF
UUID = '0b6f3c4e-6d1a-4a53-9a8e-2f0f1b7b9c11'
# What the swarm driver's prepare_image runs.
SYNC = 'craton.conductor.drivers.swarm.sync.distribute'
DIGEST_A = 'sha256:' + 'a' * 64
DIGEST_B = 'sha256:' + 'b' * 64


def local_source(test):
    """A local task source (a directory holding a one-line Dockerfile)
    below a fresh allowed root; sets ``state_path`` and
    ``[builder] local_source_roots`` on ``test``'s config.
    """
    root = test.useFixture(fixtures.TempDir()).path
    test.config(state_path=test.useFixture(fixtures.TempDir()).path)
    test.config(local_source_roots=[root], group='builder')
    os.mkdir(os.path.join(root, 't'))
    with open(os.path.join(root, 't', 'Dockerfile'), 'w') as f:
        f.write('FROM craton/busybox:latest\n')
    return {'type': 'local', 'path': os.path.join(root, 't')}


def build_task(task, **kwargs):
    """builder.build_task with the configured execution driver."""
    builder.build_task(task, CONF, drivers.get_driver(CONF), **kwargs)


def success_chunks(image_id=DIGEST_A):
    return [{'stream': 'Step 1/2 : FROM craton/busybox:latest'},
            {'stream': '\n'}, {'stream': ' ---> bf96d8101e6d\n'},
            {'stream': 'Step 2/2 : RUN echo hi'}, {'stream': '\n'},
            {'stream': ' ---> Running in 215a34018c40\n'},
            {'stream': 'hi\n'},
            {'stream': 'Removing intermediate container 215a34018c40\n'},
            {'aux': {'ID': image_id}},
            {'stream': 'Successfully built %s\n' % image_id[7:19]}]


def failure_chunks(output_lines=3):
    error = "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    return ([{'stream': 'Step 1/3 : FROM craton/busybox:latest\n'},
             {'stream': 'Step 2/3 : RUN exit 3'}, {'stream': '\n'},
             {'stream': ' ---> Running in 3070d40ad20e\n'},
             {'stream': '\x1b[91merr on stderr\n\x1b[0m'}] +
            [{'stream': 'line %d\n' % i} for i in range(output_lines)] +
            [{'errorDetail': {'code': 3, 'message': error}, 'error': error}])


class FakeAPI:
    """The slice of docker.APIClient the builder uses."""

    base_url = 'http+docker://localhost'

    def __init__(self, chunks=None, build_error=None, images=()):
        self.chunks = chunks if chunks is not None else success_chunks()
        self.build_error = build_error
        self.build_calls = []
        self.images_list = list(images)
        self.removed = []
        self.missing = set()

    def build(self, **kwargs):
        self.build_calls.append(kwargs)
        self.context_files = sorted(os.listdir(kwargs['path']))
        # What the engine would read, as it reads it.
        self.context_modes = test_fetch.context_modes(kwargs['path'])
        if self.build_error is not None:
            raise self.build_error
        # A generator, as the SDK's stream is (it has close()).
        return (chunk for chunk in list(self.chunks))

    def inspect_image(self, tag):
        return {'Id': DIGEST_B}

    def images(self):
        return self.images_list

    def remove_image(self, tag, force=False):
        if tag in self.missing:
            raise docker.errors.NotFound('gone')
        self.removed.append((tag, force))


class FakeClient:
    def __init__(self, **kwargs):
        self.api = FakeAPI(**kwargs)
        self.closed = False

    def close(self):
        self.closed = True


class FakeTask:
    """The task object interface build_task relies on.

    ``saved`` holds a copy of the fields at each status write; a write by
    an event in ``lose`` loses its race (the row moved meanwhile).
    """

    start_build = task_obj.Task.start_build
    reset_approval = task_obj.Task.reset_approval

    def __init__(self, source, lose=(), **fields):
        self.uuid, self.name, self.source = UUID, 'patch-host', source
        self.command = ['sh', '-c', 'exit 0']
        self.status, self.status_reason = states.TASK_PENDING, None
        self.image = self.image_digest = None
        self.build_number = 0
        self.approval = states.APPROVAL_PENDING
        self.approved_by = self.approved_at = self.approved_digest = None
        self.__dict__.update(fields)
        self.lose = set(lose)
        self.saved = []

    def refresh_status(self):
        """Still there (a FakeTask is never deleted)."""

    def transition(self, event, reason=None, owner=None, **values):
        events = (event,) if isinstance(event, str) else tuple(event)
        status = self.status
        for name in events:
            status = fsm.task_next(status, name)
        if self.lose & set(events):
            return False
        self.__dict__.update(values, status=status, status_reason=reason)
        self.saved.append({k: v for k, v in self.__dict__.items()
                           if k not in ('saved', 'lose')})
        return True


class TestBuildImage(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.context = self.useFixture(fixtures.TempDir()).path

    def test_success(self):
        client = FakeClient()
        result = builder.build_image(client, self.context, 'craton/t:1', 60)
        self.assertEqual(DIGEST_A, result.image_id)
        self.assertIn('Step 2/2 : RUN echo hi\n', result.log)
        call = client.api.build_calls[0]
        self.assertEqual(
            dict(path=self.context, tag='craton/t:1', rm=True, forcerm=True,
                 decode=True, pull=False, network_mode='none', timeout=60),
            call)

    def test_image_id_from_the_tag_without_aux(self):
        chunks = [c for c in success_chunks() if 'aux' not in c]
        result = builder.build_image(FakeClient(chunks=chunks), self.context,
                                     'craton/t:1', 60)
        self.assertEqual(DIGEST_B, result.image_id)

    def test_failure_reason(self):
        exc = self.assertRaises(
            exception.BuildError, builder.build_image,
            FakeClient(chunks=failure_chunks(30)), self.context, 't:1', 60,
            reason_lines=5)
        lines = str(exc).split('\n')
        self.assertEqual('image build failed at Step 2/3 : RUN exit 3',
                         lines[0])
        self.assertEqual(['line 26', 'line 27', 'line 28', 'line 29',
                          "The command '/bin/sh -c exit 3' returned a "
                          "non-zero code: 3"], lines[1:])

    def test_failure_reason_without_noise_or_colours(self):
        exc = self.assertRaises(
            exception.BuildError, builder.build_image,
            FakeClient(chunks=failure_chunks(1)), self.context, 't:1', 60)
        self.assertIn('\nerr on stderr\nline 0\nThe command', str(exc))
        self.assertNotIn('Running in', str(exc))
        self.assertNotIn('\x1b', str(exc))

    def test_engine_unreachable(self):
        client = FakeClient(build_error=requests.exceptions.ConnectionError(
            'Connection refused'))
        exc = self.assertRaises(exception.EngineUnavailable,
                                builder.build_image, client, self.context,
                                't:1', 60, engine_url='unix:///x.sock')
        self.assertIn('unix:///x.sock is unreachable', str(exc))

    def test_engine_gone_mid_build(self):
        def chunks():
            yield {'stream': 'Step 1/2 : FROM x\n'}
            raise urllib3.exceptions.ProtocolError('Connection broken')
        client = FakeClient()
        client.api.build = lambda **kw: chunks()
        self.assertRaises(exception.EngineUnavailable, builder.build_image,
                          client, self.context, 't:1', 60)

    def test_silent_build_times_out(self):
        client = FakeClient(build_error=urllib3.exceptions.ReadTimeoutError(
            None, None, 'Read timed out.'))
        exc = self.assertRaises(exception.BuildError, builder.build_image,
                                client, self.context, 't:1', 7)
        self.assertIn('timed out after 7 s', str(exc))

    def test_deadline_checked_between_chunks(self):
        clock = iter([0, 1, 2, 100, 101, 102] + [200] * 50)
        with mock.patch('time.monotonic', lambda: next(clock)):
            exc = self.assertRaises(
                exception.BuildError, builder.build_image,
                FakeClient(), self.context, 't:1', 10)
        self.assertIn('timed out after 10 s', str(exc))

    def test_engine_refuses(self):
        error = docker.errors.APIError(
            'bad', explanation='dockerfile parse error line 1: unknown '
                               'instruction: FORM')
        exc = self.assertRaises(exception.BuildError, builder.build_image,
                                FakeClient(build_error=error), self.context,
                                't:1', 60)
        self.assertIn('unknown instruction: FORM', str(exc))

    def test_limit_reason(self):
        self.assertEqual('short', builder.limit_reason('short'))
        text = 'first line\n' + 'x\u00e9' * 5000 + '\nthe actual error'
        limited = builder.limit_reason(text)
        self.assertLessEqual(len(limited.encode('utf-8')), 4096)
        self.assertTrue(limited.startswith('first line\n[...]\n'))
        self.assertTrue(limited.endswith('\nthe actual error'))


class TestBuildTask(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cfg = self.useFixture(config_fixture.Config(CONF))
        CONF([], project='craton', default_config_files=[],
             default_config_dirs=[])
        self.root = self.useFixture(fixtures.TempDir()).path
        self.state = self.useFixture(fixtures.TempDir()).path
        self.cfg.config(state_path=self.state)
        self.cfg.config(local_source_roots=[self.root], group='builder')
        self.task_dir = os.path.join(self.root, 'patch-host')
        os.mkdir(self.task_dir)
        with open(os.path.join(self.task_dir, 'Dockerfile'), 'w') as f:
            f.write('FROM craton/busybox:latest\n')
        self.source = {'type': 'local', 'path': self.task_dir}

    def assertBuildDirsGone(self):
        self.assertEqual([], os.listdir(os.path.join(self.state, 'builds')))

    def test_success(self):
        task = FakeTask(self.source, build_number=4)
        client = FakeClient()
        build_task(task, client=client)
        self.assertEqual([states.TASK_BUILDING, states.TASK_READY],
                         [s['status'] for s in task.saved])
        self.assertEqual('craton/task-%s:5' % UUID, task.image)
        self.assertEqual(DIGEST_A, task.image_digest)
        self.assertEqual(5, task.build_number)
        self.assertIsNone(task.status_reason)
        self.assertEqual(['Dockerfile'], client.api.context_files)
        self.assertEqual('craton/task-%s:5' % UUID,
                         client.api.build_calls[0]['tag'])
        self.assertFalse(client.closed)  # not ours to close
        self.assertBuildDirsGone()

    def test_engine_gets_a_checkouts_modes(self):
        # A 0600/0700 source under a conductor umask of 077: the context
        # sent to the engine is what a step's unprivileged user can read.
        task_dir = os.path.join(self.root, 'seed')
        test_fetch.write_tree(task_dir, test_fetch.PRIVATE_MODES)
        self.addCleanup(fetch.normalise_modes, task_dir)
        test_fetch.use_umask(self, 0o077)
        client = FakeClient()
        build_task(FakeTask({'type': 'local', 'path': task_dir}),
                   client=client)
        self.assertEqual(test_fetch.CHECKOUT_MODES,
                         client.api.context_modes)

    def test_build_failure_sets_error(self):
        task = FakeTask(self.source, image='craton/task-%s:1' % UUID,
                        image_digest=DIGEST_B, build_number=1,
                        status=states.TASK_READY)
        build_task(task,
                           client=FakeClient(chunks=failure_chunks()))
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertIn('Step 2/3 : RUN exit 3', task.status_reason)
        self.assertIn('returned a non-zero code: 3', task.status_reason)
        self.assertEqual([states.TASK_BUILDING, states.TASK_ERROR],
                         [s['status'] for s in task.saved])
        # The last good image stays; the failed attempt used number 2.
        self.assertEqual(DIGEST_B, task.image_digest)
        self.assertEqual(2, task.build_number)
        self.assertBuildDirsGone()

    def test_fetch_failure_sets_error(self):
        os.unlink(os.path.join(self.task_dir, 'Dockerfile'))
        task = FakeTask(self.source)
        client = FakeClient()
        build_task(task, client=client)
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertIn('no Dockerfile in %s' % self.task_dir,
                      task.status_reason)
        self.assertEqual(0, task.build_number)
        self.assertEqual([], client.api.build_calls)
        self.assertBuildDirsGone()

    def test_engine_unavailable_sets_error(self):
        task = FakeTask(self.source)
        error = exception.EngineUnavailable(url='unix:///x', reason='down')
        with mock.patch('craton.common.docker_client.get_client',
                        side_effect=error):
            build_task(task)
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertEqual('Docker engine unix:///x is unreachable: down',
                         task.status_reason)

    def test_own_client_is_closed(self):
        client = FakeClient()
        with mock.patch('craton.common.docker_client.get_client',
                        return_value=client):
            build_task(FakeTask(self.source))
        self.assertTrue(client.closed)

    def test_unexpected_error_sets_error(self):
        task = FakeTask(self.source)
        self.cfg.config(state_path='/proc/craton-cannot-write-here')
        build_task(task, client=FakeClient())
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertIn('internal error while building', task.status_reason)

    def test_workdir_argument(self):
        workdir = self.useFixture(fixtures.TempDir()).path
        build_task(FakeTask(self.source), client=FakeClient(),
                           workdir=workdir)
        self.assertEqual([], os.listdir(workdir))
        self.assertFalse(os.path.exists(os.path.join(self.state, 'builds')))

    def test_credentials_scrubbed_from_reason(self):
        source = {'type': 'git', 'url': 'http://bob:Hunter22@127.0.0.1:1/x'}
        task = FakeTask(source)
        build_task(task, client=FakeClient())
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertIn('http://***@127.0.0.1:1/x', task.status_reason)
        self.assertNotIn('Hunter22', task.status_reason)

    def test_long_reason_is_limited(self):
        chunks = failure_chunks(0)
        chunks[-1]['errorDetail']['message'] = 'E' * 10000
        task = FakeTask(self.source)
        build_task(task, client=FakeClient(chunks=chunks))
        self.assertLessEqual(len(task.status_reason.encode()), 4096)
        self.assertTrue(task.status_reason.startswith(
            'image build failed at Step 2/3'))

    def approved_task(self, digest):
        return FakeTask(self.source, approval=states.APPROVAL_APPROVED,
                        approved_by='admin', approved_at='2026-11-26T00:00Z',
                        approved_digest=digest, image_digest=digest)

    def test_same_digest_keeps_approval(self):
        task = self.approved_task(DIGEST_A)
        build_task(task, client=FakeClient())
        self.assertEqual(states.APPROVAL_APPROVED, task.approval)
        self.assertEqual('admin', task.approved_by)
        self.assertEqual(DIGEST_A, task.approved_digest)

    def test_new_digest_resets_approval(self):
        task = self.approved_task(DIGEST_B)
        build_task(task, client=FakeClient())
        self.assertEqual(states.TASK_READY, task.status)
        self.assertEqual(DIGEST_A, task.image_digest)
        self.assertEqual(states.APPROVAL_PENDING, task.approval)
        self.assertIsNone(task.approved_by)
        self.assertIsNone(task.approved_at)
        self.assertIsNone(task.approved_digest)
        self.assertEqual(states.APPROVAL_PENDING, task.saved[-1]['approval'])

    def test_failed_build_keeps_approval(self):
        task = self.approved_task(DIGEST_B)
        build_task(task,
                           client=FakeClient(chunks=failure_chunks()))
        self.assertEqual(states.APPROVAL_APPROVED, task.approval)

    def test_other_approval_states_untouched(self):
        for approval in (states.APPROVAL_PENDING, states.APPROVAL_REJECTED):
            task = FakeTask(self.source, approval=approval,
                            approved_digest=DIGEST_B)
            build_task(task, client=FakeClient())
            self.assertEqual(approval, task.approval)


    # -- lost races: the task was rebuilt or deleted meanwhile -------------

    def test_lost_race_at_the_start_builds_nothing(self):
        task = FakeTask(self.source, lose={fsm.TASK_BUILD})
        client = FakeClient()
        build_task(task, client=client)
        self.assertEqual([], task.saved)
        self.assertEqual([], client.api.build_calls)
        self.assertEqual(states.TASK_PENDING, task.status)

    def test_lost_race_at_the_end_stops_the_build(self):
        task = FakeTask(self.source, build_number=3, lose={fsm.TASK_DONE})
        with mock.patch.object(builder, '_push',
                               return_value=('reg/x:4', DIGEST_B)), \
                mock.patch.object(images, 'remove_stale') as cleanup:
            build_task(task, client=FakeClient())
        # Only "building" was written; no other image is removed.
        self.assertEqual([states.TASK_BUILDING],
                         [s['status'] for s in task.saved])
        cleanup.assert_not_called()
        self.assertBuildDirsGone()

    def test_lost_race_on_failure_raises_nothing(self):
        task = FakeTask(self.source, lose={fsm.TASK_FAIL})
        build_task(task, client=FakeClient(chunks=failure_chunks()))
        self.assertEqual([states.TASK_BUILDING],
                         [s['status'] for s in task.saved])
        self.assertBuildDirsGone()

    def test_lost_race_before_the_sync_stops_the_build(self):
        self.cfg.config(execution_driver='swarm', group='conductor')
        task = FakeTask(self.source, build_number=3, lose={fsm.TASK_SYNC})
        with mock.patch.object(builder, '_push',
                               return_value=('reg/x:4', DIGEST_B)), \
                mock.patch(SYNC) as sync_task, \
                mock.patch.object(images, 'remove_stale') as cleanup:
            build_task(task, client=FakeClient())
        sync_task.assert_not_called()
        cleanup.assert_not_called()

    def test_lost_race_in_the_sync_stops_the_build(self):
        self.cfg.config(execution_driver='swarm', group='conductor')
        task = FakeTask(self.source, build_number=3, lose={fsm.TASK_DONE})
        with mock.patch.object(builder, '_push',
                               return_value=('reg/x:4', DIGEST_B)), \
                mock.patch(SYNC) as sync_task, \
                mock.patch.object(images, 'remove_stale') as cleanup:
            build_task(task, client=FakeClient())
        sync_task.assert_called_once()
        self.assertIs(task, sync_task.call_args.args[0])
        cleanup.assert_not_called()
        # A sync that wrote its outcome (ready or error) goes on to the
        # clean-up, as before.
        for outcome in ({}, {'side_effect': exception.ImageNotDistributed(
                reason='no node')}):
            task = FakeTask(self.source, build_number=3)
            with mock.patch.object(builder, '_push',
                                   return_value=('reg/x:4', DIGEST_B)), \
                    mock.patch(SYNC, **outcome), \
                    mock.patch.object(images, 'remove_stale') as cleanup:
                build_task(task, client=FakeClient())
            cleanup.assert_called_once()


class TestBuildRaces(base.TestCase):
    """build_task on a real task row that another writer moves meanwhile
    (the API's rebuild, source change or delete).
    """

    def setUp(self):
        super().setUp()
        root = self.useFixture(fixtures.TempDir()).path
        self.config(state_path=self.useFixture(fixtures.TempDir()).path)
        self.config(local_source_roots=[root], group='builder')
        for name in ('old', 'new'):
            os.mkdir(os.path.join(root, name))
            with open(os.path.join(root, name, 'Dockerfile'), 'w') as f:
                f.write('FROM craton/busybox:latest\n')
        self.root = root
        self.dbapi = db_api.get_instance()
        self.task = task_obj.Task(
            self.context, project_id='project-a', name='t',
            source={'type': 'local', 'path': os.path.join(root, 'old')},
            command=['sh'], timeout=60, status=states.TASK_PENDING,
            approval=states.APPROVAL_PENDING, visibility='private',
            build_number=0)
        self.task.create()

    def build_while(self, meanwhile, **client_args):
        """Build the task as the service does (claim, build, release);
        ``meanwhile(other)`` runs on a second copy of the task while the
        engine builds.
        """
        client = FakeClient(**client_args)
        real_build = client.api.build

        def build(**kwargs):
            meanwhile(task_obj.Task.get(self.context, self.task.uuid))
            return real_build(**kwargs)
        client.api.build = build
        self.assertTrue(self.dbapi.claim_task(self.task.uuid, 'c1'))
        try:
            task = task_obj.Task.get(self.context, self.task.uuid)
            build_task(task, client=client, owner='c1')
        finally:
            self.dbapi.release_task(self.task.uuid, 'c1')
        return client

    def test_a_source_changed_during_the_build_is_built_next(self):
        def patch(other):
            # What PATCH /v1/tasks/{id} does with a new source.
            other.source = {'type': 'local',
                            'path': os.path.join(self.root, 'new')}
            other.reset_approval()
            self.assertTrue(other.transition(fsm.TASK_REBUILD))
        client = self.build_while(patch)
        self.assertEqual(1, len(client.api.build_calls))
        stored = task_obj.Task.get(self.context, self.task.uuid)
        # The old source's build did not overwrite the rebuild.
        self.assertEqual((states.TASK_PENDING, None, 0, None),
                         (stored.status, stored.image, stored.build_number,
                          stored.image_digest))
        self.assertEqual(os.path.join(self.root, 'new'),
                         stored.source['path'])
        # The sweep builds it again.
        self.assertIn(self.task.uuid, self.dbapi.list_unclaimed_builds())
        task = task_obj.Task.get(self.context, self.task.uuid)
        client = FakeClient()
        build_task(task, client=client)
        self.assertEqual(states.TASK_READY, task.status)
        self.assertEqual(1, task.build_number)

    def test_a_task_deleted_during_the_build(self):
        with mock.patch.object(images, 'remove_all') as remove_all:
            self.build_while(lambda other: self.assertTrue(other.destroy()))
        self.assertRaises(exception.TaskNotFound, task_obj.Task.get,
                          self.context, self.task.uuid)
        self.assertNotIn(self.task.uuid, self.dbapi.list_unclaimed_builds())
        # The delete's clean-up ran before this build's image existed.
        remove_all.assert_called_once()
        self.assertEqual(self.task.uuid, remove_all.call_args.args[0])

    def test_a_build_taken_over_does_not_record_its_outcome(self):
        def take_over(other):
            # A new source, and another conductor (this one was thought
            # dead) builds it: this build's outcome is stale.
            other.source = {'type': 'local',
                            'path': os.path.join(self.root, 'new')}
            self.assertTrue(other.transition(fsm.TASK_REBUILD))
            self.assertTrue(self.dbapi.claim_task(self.task.uuid, 'c2',
                                                  from_host='c1'))
            self.assertTrue(other.start_build(owner='c2'))
        with mock.patch.object(images, 'remove_all') as remove_all:
            self.build_while(take_over)
        stored = task_obj.Task.get(self.context, self.task.uuid)
        self.assertEqual((states.TASK_BUILDING, None, 'c2'),
                         (stored.status, stored.image_digest,
                          stored.conductor))
        self.assertEqual(os.path.join(self.root, 'new'),
                         stored.source['path'])
        remove_all.assert_not_called()

    def test_a_build_failing_while_rebuilt(self):
        self.build_while(
            lambda other: self.assertTrue(other.transition(
                fsm.TASK_REBUILD)),
            chunks=failure_chunks())
        stored = task_obj.Task.get(self.context, self.task.uuid)
        self.assertEqual((states.TASK_PENDING, None),
                         (stored.status, stored.status_reason))
