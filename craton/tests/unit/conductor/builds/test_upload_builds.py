# SPDX-License-Identifier: Apache-2.0
"""Uploaded task sources on the conductor: the stored archive fetched
(checked again, extracted, given a checkout's modes), built, and left alone
by the build sweep until it arrives.
"""

import os
from unittest import mock

import fixtures

from craton.common import archives
from craton.common import exception
from craton.common import states
from craton.conductor.builds import fetch
from craton import conf
from craton.db import api as db_api
from craton.tests.unit.common import test_archives
from craton.tests.unit.conductor.builds import test_builder
from craton.tests.unit.conductor.builds import test_fetch

CONF = conf.CONF
DOCKERFILE = test_archives.DOCKERFILE
archive, bare = test_archives.archive, test_archives.bare
f, d = test_archives.f, test_archives.d
sym, hard = test_archives.sym, test_archives.hard


class TestFetchAndBuild(test_archives.UploadsTestCase):

    def setUp(self):
        super().setUp()
        self.dbapi = db_api.get_instance()
        self.task = self.dbapi.create_task({
            'project_id': 'p', 'name': 't', 'source': {'type': 'upload'},
            'command': ['x'], 'timeout': 5, 'status': 'pending',
            'approval': 'pending', 'visibility': 'private'})
        self.state = self.useFixture(fixtures.TempDir()).path
        self.config(state_path=self.state)
        self.builddir = self.useFixture(fixtures.TempDir()).path

    def source(self, data):
        summary = archives.inspect(data, CONF)
        return archives.source_of(summary)

    def test_fetch(self):
        data = archive(f('msg', b'hello\n'))
        self.dbapi.put_task_upload(self.task.uuid, data)
        context = fetch.fetch_source(self.source(data), self.builddir, CONF,
                                     task_uuid=self.task.uuid)
        self.assertEqual(os.path.join(self.builddir, 'context'), context)
        self.assertEqual(['Dockerfile', 'msg'], sorted(os.listdir(context)))

    def test_private_modes_become_a_checkouts(self):
        # The seed's layout packed from a directory of 0600 files and 0700
        # directories (tar keeps them), extracted under either umask, with
        # or without Python's data filter: readable by the step's user.
        data = bare(d('.', 0o700), f('Dockerfile', DOCKERFILE, 0o600),
                    f('task1.py', b'import pkg\n', 0o600),
                    f('run.sh', b'#!/bin/sh\n', 0o700), d('pkg', 0o700),
                    f('pkg/__init__.py', b'', 0o400), d('pkg/deep', 0o500),
                    f('pkg/deep/data', b'd', 0o600),
                    sym('link', 'task1.py'), sym('dirlink', 'pkg'),
                    hard('copy', 'task1.py'))
        self.dbapi.put_task_upload(self.task.uuid, data)
        expected = dict(test_fetch.CHECKOUT_MODES, copy=0o644)
        for mask, data_filter in ((0o022, archives._DATA_FILTER),
                                  (0o077, archives._DATA_FILTER),
                                  (0o077, None)):
            test_fetch.use_umask(self, mask)
            dest = os.path.join(self.builddir, '%o-%s' % (mask, data_filter
                                                          is not None))
            os.mkdir(dest)
            with mock.patch.object(archives, '_DATA_FILTER', data_filter):
                context = fetch.fetch_source(self.source(data), dest, CONF,
                                             task_uuid=self.task.uuid)
            self.assertEqual(expected, test_fetch.context_modes(context),
                             (oct(mask), data_filter))

    def test_no_archive_is_a_build_error(self):
        exc = self.assertRaises(exception.BuildError, fetch.fetch_source,
                                {'type': 'upload'}, self.builddir, CONF,
                                task_uuid=self.task.uuid)
        self.assertIn('task %s has no source archive yet' % self.task.uuid,
                      str(exc))
        self.assertIn('PUT /v1/tasks/%s/source' % self.task.uuid, str(exc))

    def test_stored_archive_is_checked_again(self):
        # Whatever is in the database, only a valid archive reaches a disk.
        data = archive(sym('etc', '/etc'), f('etc/cron.d/x'))
        self.dbapi.put_task_upload(self.task.uuid, data)
        exc = self.assertRaises(exception.BuildError, fetch.fetch_source,
                                {'type': 'upload', 'size': 1, 'sha256': 'x'},
                                self.builddir, CONF, task_uuid=self.task.uuid)
        self.assertIn('the uploaded source archive cannot be built', str(exc))
        self.assertIn("symlink 'etc' -> '/etc' leads outside", str(exc))
        self.assertEqual([], os.listdir(self.builddir))

    def test_build_task(self):
        data = archive(f('msg', b'hello\n'))
        self.dbapi.put_task_upload(self.task.uuid, data)
        task = test_builder.FakeTask(self.source(data), uuid=self.task.uuid)
        client = test_builder.FakeClient()
        test_builder.build_task(task, client=client)
        self.assertEqual((states.TASK_READY, None),
                         (task.status, task.status_reason))
        self.assertEqual(['Dockerfile', 'msg'], client.api.context_files)
        self.assertEqual({'.': 0o755, 'Dockerfile': 0o644, 'msg': 0o644},
                         client.api.context_modes)
        self.assertEqual([], os.listdir(os.path.join(self.state, 'builds')))

    def test_build_task_without_archive(self):
        task = test_builder.FakeTask({'type': 'upload'}, uuid=self.task.uuid)
        client = test_builder.FakeClient()
        test_builder.build_task(task, client=client)
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertIn('has no source archive yet', task.status_reason)
        self.assertEqual([], client.api.build_calls)

    def test_sweep_leaves_tasks_waiting_for_their_archive(self):
        def make(name, source, status='pending'):
            return self.dbapi.create_task({
                'project_id': 'p', 'name': name, 'source': source,
                'command': ['x'], 'timeout': 5, 'status': status,
                'approval': 'pending', 'visibility': 'private'}).uuid
        uploaded = make('uploaded', {'type': 'upload', 'size': 1,
                                     'sha256': 'ab'})
        git = make('git', {'type': 'git', 'url': 'https://h/x'})
        make('ready', {'type': 'upload', 'size': 1, 'sha256': 'ab'},
             status='ready')
        self.assertEqual([uploaded, git], self.dbapi.list_unclaimed_builds())
