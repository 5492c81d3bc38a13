# SPDX-License-Identifier: Apache-2.0
"""Task image builds against a real Docker engine and real git servers.

Needs CRATON_FUNCTIONAL=1, an engine at CRATON_TEST_DOCKER_URL (default
unix:///run/craton/docker.sock; tools/docker-engine.sh starts one) and the
``craton/busybox:latest`` image of tools/build-base-images.sh. With
CRATON_FUNCTIONAL set, an engine that does not answer fails the tests
instead of skipping them. git servers (git daemon, smart HTTP) run on
127.0.0.1 for each test; every image built is removed afterwards.
"""

import os
import time
import uuid

import docker
import fixtures
from oslo_config import fixture as config_fixture
import testtools
from testtools import content

from craton.common import docker_client
from craton.common import fsm
from craton.common import states
from craton.common import task_sources
from craton.conductor.builds import builder
from craton.conductor.builds import images
from craton.conductor import drivers
from craton import conf
from craton.objects import task as task_obj
from craton.tests.functional import gitserver

CONF = conf.CONF
BUSYBOX = 'craton/busybox:latest'
DEFAULT_URL = 'unix:///run/craton/docker.sock'
# The image prints its message and lists its build context: .git, which
# holds the clone URL with its credentials, must never be in it.
DOCKERFILE = ('FROM %s\nCOPY . /ctx\nCMD ["sh", "-c", "cat /ctx/msg; '
              'ls -A /ctx"]\n' % BUSYBOX)
PASSWORD = 'S3cret-t0ken'


class Task:
    """The attributes and status writes of the task object build_task
    uses (every write wins: no other writer here).
    """

    start_build = task_obj.Task.start_build
    reset_approval = task_obj.Task.reset_approval

    def __init__(self, source):
        self.uuid, self.name, self.source = str(uuid.uuid4()), 'fn', source
        self.command = ['sh', '-c', 'exit 0']
        self.status, self.status_reason = states.TASK_PENDING, None
        self.image = self.image_digest = None
        self.build_number = 0
        self.approval = states.APPROVAL_PENDING
        self.approved_by = self.approved_at = self.approved_digest = None
        self.statuses = []

    def refresh_status(self):
        """Still there: this stand-in is never deleted."""

    def transition(self, event, reason=None, owner=None, **values):
        events = (event,) if isinstance(event, str) else tuple(event)
        for name in events:
            self.status = fsm.task_next(self.status, name)
        self.status_reason = reason
        self.__dict__.update(values)
        self.statuses.append(self.status)
        return True


class BuildsTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if not os.environ.get('CRATON_FUNCTIONAL'):
            self.skipTest('functional test: set CRATON_FUNCTIONAL=1 to run '
                          'it against the Docker engine at '
                          'CRATON_TEST_DOCKER_URL (default %s)' % DEFAULT_URL)
        self.useFixture(fixtures.Timeout(300, gentle=True))
        self.url = os.environ.get('CRATON_TEST_DOCKER_URL', DEFAULT_URL)
        self.cfg = self.useFixture(config_fixture.Config(CONF))
        CONF([], project='craton', default_config_files=[],
             default_config_dirs=[])
        self.root = self.useFixture(fixtures.TempDir()).path
        self.cfg.config(url=self.url, group='docker')
        self.cfg.config(state_path=self.useFixture(fixtures.TempDir()).path)
        self.cfg.config(local_source_roots=[self.root], git_timeout=60,
                        build_timeout=300, group='builder')
        try:
            self.client = docker_client.get_client(CONF)
            self.client.ping()
        except Exception as exc:
            self.fail('the Docker engine at %s does not answer (%s); start '
                      'one with tools/docker-engine.sh' % (self.url, exc))
        self.addCleanup(self.client.close)
        try:
            self.client.images.get(BUSYBOX)
        except docker.errors.ImageNotFound:
            self.fail('%s is missing on %s; make it with '
                      'tools/build-base-images.sh' % (BUSYBOX, self.url))

        self.repos = self.useFixture(gitserver.GitRepos())
        files = {'Dockerfile': DOCKERFILE, 'msg': 'first\n'}
        self.shas = self.repos.create('tasks.git', [
            ('main', files, None),
            ('main', {'msg': 'tagged\n'}, 'v1'),
            ('feature', {'msg': 'feature\n'}, None),
            ('main', {'msg': 'main\n', 'sub/task/Dockerfile': DOCKERFILE,
                      'sub/task/msg': 'sub\n'}, None)])
        self.daemon = self.useFixture(gitserver.GitDaemon(self.repos.base))
        self.http = self.useFixture(gitserver.GitHTTP(
            self.repos.base, 'alice', PASSWORD))

    def build(self, source):
        """Validate ``source`` as the API does, then build it."""
        task = Task(task_sources.validate(source, CONF))
        self.addCleanup(self.remove_images, task)
        builder.build_task(task, CONF, drivers.get_driver(CONF))
        self.assertEqual(states.TASK_BUILDING, task.statuses[0])
        return task

    def remove_images(self, task):
        images.remove_engine_images(self.client, task.uuid)
        left = [t for i in self.client.api.images() for t in
                i.get('RepoTags') or () if task.uuid in t]
        self.assertEqual([], left)

    def assertReady(self, task, output):
        self.assertEqual((states.TASK_READY, None),
                         (task.status, task.status_reason))
        self.assertEqual('craton/task-%s:1' % task.uuid, task.image)
        self.assertEqual(
            task.image_digest, self.client.images.get(task.image).id)
        printed = self.client.containers.run(
            task.image, remove=True, network_disabled=True).decode()
        self.assertEqual(output, printed.split('\n')[0])
        self.assertNotIn('.git', printed)

    def assertError(self, task, *fragments):
        self.assertEqual(states.TASK_ERROR, task.status)
        for fragment in fragments:
            self.assertIn(fragment, task.status_reason)

    def local_task(self, name, files):
        path = os.path.join(self.root, name)
        os.makedirs(path)
        for rel, text in files.items():
            with open(os.path.join(path, rel), 'w') as f:
                f.write(text)
        return path


class TestGitBuilds(BuildsTestCase):

    def git_url(self):
        return self.daemon.url + 'tasks.git'

    def test_git_daemon_branch(self):
        task = self.build({'type': 'git', 'url': self.git_url(),
                           'ref': 'feature'})
        self.assertReady(task, 'feature')

    def test_git_daemon_tag(self):
        task = self.build({'type': 'git', 'url': self.git_url(),
                           'ref': 'v1'})
        self.assertReady(task, 'tagged')

    def test_git_daemon_commit(self):
        task = self.build({'type': 'git', 'url': self.git_url(),
                           'ref': self.shas[0]})
        self.assertReady(task, 'first')

    def test_git_daemon_default_branch(self):
        task = self.build({'type': 'git', 'url': self.git_url()})
        self.assertReady(task, 'main')

    def test_http_with_credentials_and_path(self):
        url = self.http.url_with_credentials('alice', PASSWORD) + 'tasks.git'
        task = self.build({'type': 'git', 'url': url, 'ref': 'main',
                           'path': 'sub/task'})
        self.assertReady(task, 'sub')
        # git did authenticate, and the API would never show the password.
        self.assertTrue(any(auth for _m, _p, auth in self.http.requests))
        shown = task_sources.public_view(task.source)
        self.assertEqual('http://***@127.0.0.1:%d/tasks.git' % self.http.port,
                         shown['url'])
        self.assertNotIn(PASSWORD, repr(shown))

    def test_http_wrong_password(self):
        url = self.http.url_with_credentials('alice', 'wrong-pw') + 'tasks.git'
        task = self.build({'type': 'git', 'url': url, 'ref': 'main'})
        self.assertError(task, 'git clone of http://***@127.0.0.1',
                         'Authentication failed')
        self.assertNotIn('wrong-pw', task.status_reason)
        self.assertIsNone(task.image)

    def test_bad_ref_reports_git(self):
        task = self.build({'type': 'git', 'url': self.git_url(),
                           'ref': 'no-such-branch'})
        self.assertError(task, "ref 'no-such-branch' is not a branch",
                         "couldn't find remote ref no-such-branch")

    def test_missing_repository(self):
        task = self.build({'type': 'git',
                           'url': self.daemon.url + 'nope.git'})
        self.assertError(task, 'git clone of', 'nope.git')


class TestLocalBuilds(BuildsTestCase):

    def test_local_directory(self):
        path = self.local_task('hello', {'Dockerfile': DOCKERFILE,
                                         'msg': 'local\n'})
        os.symlink('msg', os.path.join(path, 'alias'))
        task = self.build({'type': 'local', 'path': path})
        self.assertReady(task, 'local')

    def test_failing_step(self):
        path = self.local_task('fails', {
            'Dockerfile': 'FROM %s\nRUN echo preparing\nRUN exit 3\n'
                          % BUSYBOX})
        task = self.build({'type': 'local', 'path': path})
        self.assertError(
            task, 'image build failed at Step 3/3 : RUN exit 3',
            "The command '/bin/sh -c exit 3' returned a non-zero code: 3")
        self.assertEqual(1, task.build_number)
        self.assertIsNone(task.image)

    def test_build_timeout_stops_the_build(self):
        path = self.local_task('slow', {'Dockerfile': 'FROM %s\nRUN echo '
                                        '%s; sleep 60\n' % (BUSYBOX,
                                                             uuid.uuid4())})
        self.cfg.config(build_timeout=2, group='builder')
        started = time.monotonic()
        task = self.build({'type': 'local', 'path': path})
        self.assertError(task, 'timed out after 2 s')
        self.assertLess(time.monotonic() - started, 30)
        # Dropping the connection made the engine stop the RUN container.
        for _i in range(50):
            running = [c for c in self.client.containers.list()
                       if 'sleep 60' in ' '.join(c.attrs['Args'] or ())]
            if not running:
                break
            time.sleep(0.2)
        self.assertEqual([], running)

    def test_symlink_escape(self):
        path = self.local_task('escape', {'Dockerfile': DOCKERFILE,
                                          'msg': 'x\n'})
        os.symlink('/etc/shadow', os.path.join(path, 'msg2'))
        task = self.build({'type': 'local', 'path': path})
        self.assertError(task, 'symlink %s/msg2 -> /etc/shadow leads outside'
                         % path)
        self.assertEqual(0, task.build_number)

    def test_engine_unreachable(self):
        path = self.local_task('hello', {'Dockerfile': DOCKERFILE,
                                         'msg': 'x\n'})
        self.cfg.config(url='unix:///run/craton/no-such.sock', group='docker')
        task = self.build({'type': 'local', 'path': path})
        self.assertError(task, 'unix:///run/craton/no-such.sock is '
                               'unreachable')

    def test_rebuild_binds_approval_to_the_digest(self):
        path = self.local_task('approve', {'Dockerfile': DOCKERFILE,
                                           'msg': '%s\n' % uuid.uuid4()})
        task = self.build({'type': 'local', 'path': path})
        self.assertEqual(states.TASK_READY, task.status)
        task.approval, task.approved_by = states.APPROVAL_APPROVED, 'admin'
        task.approved_digest = task.image_digest
        # Same source: the engine's cache gives the same image.
        timings = []
        started = time.monotonic()
        builder.build_task(task, CONF, drivers.get_driver(CONF))
        timings.append(time.monotonic() - started)
        self.assertEqual((states.TASK_READY, 2), (task.status,
                                                  task.build_number))
        self.assertEqual(task.approved_digest, task.image_digest)
        self.assertEqual(states.APPROVAL_APPROVED, task.approval)
        # A changed source builds another image: approve it again.
        with open(os.path.join(path, 'msg'), 'w') as f:
            f.write('changed\n')
        started = time.monotonic()
        builder.build_task(task, CONF, drivers.get_driver(CONF))
        timings.append(time.monotonic() - started)
        self.assertEqual(states.TASK_READY, task.status)
        self.assertNotEqual(task.approved_digest, task.image_digest)
        self.assertEqual((states.APPROVAL_PENDING, None),
                         (task.approval, task.approved_by))
        self.addDetail('build-seconds', content.text_content(
            'cached %.2f, changed %.2f' % tuple(timings)))

    def test_git_clone_of_the_same_commit_gives_the_same_digest(self):
        source = {'type': 'git', 'url': self.daemon.url + 'tasks.git',
                  'ref': 'v1'}
        first, second = self.build(source), self.build(source)
        self.assertEqual(first.image_digest, second.image_digest)
