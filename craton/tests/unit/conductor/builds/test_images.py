# SPDX-License-Identifier: Apache-2.0
"""A task's images on the build engine and in the registry: what jobs
still pin, and what goes after a rebuild or a delete."""

from unittest import mock

import requests
import testtools

from craton.common import exception
from craton.common import states
from craton.conductor.builds import images
from craton.conductor.builds import registry
from craton.conductor import drivers
from craton.conductor.drivers.swarm import cleanup
from craton.conductor.drivers.swarm import sync
from craton import conf
from craton.objects import job as job_obj
from craton.tests.unit.conductor.builds import test_builder
from craton.tests.unit.conductor.drivers.swarm import test_cleanup
from craton.tests.unit.conductor.drivers.swarm import test_sync

CONF = conf.CONF
REG = test_sync.REG
UUID = test_cleanup.UUID
NEW = test_cleanup.NEW
OLD = test_cleanup.OLD
PINNED = test_cleanup.PINNED


class TestTaskImages(test_sync.SyncTestCase):

    def test_remove_engine_images(self):
        client = test_cleanup.FakeEngineClient(test_cleanup.images())
        removed = images.remove_engine_images(client, UUID, {NEW, PINNED})
        self.assertEqual(['%s/craton/task-%s@%s' % (REG, UUID, OLD),
                          'craton/task-%s:1' % UUID], removed)
        for call in client.api.remove_image.call_args_list:
            self.assertEqual({'force': True}, call.kwargs)

    def test_images_in_use(self):
        ref = '%s/craton/task-%s@%s' % (REG, UUID, PINNED)
        for status, image in ((states.JOB_RUNNING, ref),
                              (states.JOB_SUCCEEDED, 'x@' + OLD)):
            job_obj.Job.submit(
                self.context, {'project_id': 'project-a', 'status': status},
                [{'name': 's', 'task_uuid': UUID, 'timeout': 5,
                  'image': image, 'image_digest': 'sha256:id-' + status}],
                [{'name': 'h'}])
        self.assertEqual({PINNED, 'sha256:id-running'},
                         images.images_in_use(UUID))

    def test_stale_after_a_rebuild(self):
        task = self.make_task(status=states.TASK_READY, build=2,
                              digest=NEW)
        with mock.patch.object(registry, 'RegistryClient') as reg, \
                mock.patch.object(cleanup, 'clean_nodes') as nodes, \
                mock.patch.object(images, 'remove_engine_images') as eng, \
                mock.patch('craton.common.docker_client.get_client'):
            images.remove_stale(task, CONF, drivers.get_driver(CONF))
        keep = {NEW, task.image_digest}
        reg.return_value.delete_task_manifests.assert_called_once_with(
            task.uuid, keep)
        self.assertEqual(keep, eng.call_args.args[2])
        self.assertEqual(keep, nodes.call_args.args[3])

    def test_docker_driver_cleans_no_nodes(self):
        self.config(execution_driver='docker', group='conductor')
        task = self.make_task(status=states.TASK_READY, build=2)
        with mock.patch.object(registry, 'RegistryClient'), \
                mock.patch.object(cleanup, 'clean_nodes') as nodes, \
                mock.patch.object(images, 'remove_engine_images'), \
                mock.patch('craton.common.docker_client.get_client'):
            images.remove_stale(task, CONF, drivers.get_driver(CONF))
        nodes.assert_not_called()

    def test_delete_removes_everything_and_survives_failures(self):
        with mock.patch.object(registry, 'RegistryClient') as reg, \
                mock.patch.object(cleanup, 'clean_nodes',
                                  side_effect=sync.SyncBusy('x')) as nodes, \
                mock.patch.object(images, 'remove_engine_images') as eng, \
                mock.patch('craton.common.docker_client.get_client'):
            reg.return_value.delete_task_manifests.side_effect = (
                exception.RegistryError(registry=REG, reason='405'))
            images.remove_all(UUID, CONF, drivers.get_driver(CONF))
        nodes.assert_called_once()
        self.assertEqual((), nodes.call_args.args[3])
        # The build engine too: a delete removes every image of the task.
        eng.assert_called_once()
        self.assertEqual(UUID, eng.call_args.args[1])


class TestRemoveEngineImages(testtools.TestCase):

    def test_removes_only_this_tasks_tags(self):
        repo = 'craton/task-%s' % test_builder.UUID
        client = test_builder.FakeClient(images=[
            {'RepoTags': [repo + ':1', repo + ':2']},
            {'RepoTags': ['127.0.0.1:5001/%s:2' % repo]},
            {'RepoTags': ['craton/task-%s0:1' % test_builder.UUID[:-1],
                          'craton/busybox:latest', repo + 'x:1']},
            {'RepoTags': None}, {'RepoTags': [repo + ':3']}])
        client.api.missing.add(repo + ':3')
        removed = images.remove_engine_images(client, test_builder.UUID)
        self.assertEqual([repo + ':1', repo + ':2',
                          '127.0.0.1:5001/%s:2' % repo], removed)
        self.assertTrue(all(force for _tag, force in client.api.removed))

    def test_engine_unreachable(self):
        client = test_builder.FakeClient()
        client.api.images = mock.Mock(
            side_effect=requests.exceptions.ConnectionError('refused'))
        self.assertRaises(exception.EngineUnavailable,
                          images.remove_all, test_builder.UUID, CONF,
                          drivers.get_driver(CONF), client=client)
