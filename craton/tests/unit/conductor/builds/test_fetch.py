# SPDX-License-Identifier: Apache-2.0
"""Fetching task sources: git checkouts, local snapshots, file modes.

Validation lives in craton.common.task_sources
(craton/tests/unit/common/test_task_sources.py); uploads are fetched in
test_upload_builds.py.

Fetch tests use real git on file:// repositories and real directories; the
only network traffic is a refused connection to 127.0.0.1 and a silent
listener on 127.0.0.1 (the git timeout test).
"""

import os
import shutil
import socket
import stat
import tempfile

import fixtures

from craton.common import exception
from craton.conductor.builds import builder
from craton.conductor.builds import fetch
from craton import conf
from craton.tests.functional import gitserver
from craton.tests.unit.common import test_task_sources

CONF = conf.CONF
DOCKERFILE = 'FROM craton/busybox:latest\n'


def context_modes(top):
    """``{path: mode}`` of everything below ``top`` (``top`` is "."); a
    symlink is ``('link', target)``. Symlinks are never followed.
    """
    found = {'.': stat.S_IMODE(os.lstat(top).st_mode)}
    for directory, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            found[os.path.relpath(path, top)] = (
                ('link', os.readlink(path)) if stat.S_ISLNK(st.st_mode)
                else stat.S_IMODE(st.st_mode))
    return found


# The seed's task layout (plus a script, a nested package and symlinks)
# with the modes an uploaded or local directory often has ...
PRIVATE_MODES = {'.': 0o700, 'Dockerfile': 0o600, 'task1.py': 0o600,
                 'run.sh': 0o700, 'pkg': 0o700, 'pkg/__init__.py': 0o400,
                 'pkg/deep': 0o500, 'pkg/deep/data': 0o600}
# ... and what the build context must hold whatever they were.
CHECKOUT_MODES = {'.': 0o755, 'Dockerfile': 0o644, 'task1.py': 0o644,
                  'run.sh': 0o755, 'pkg': 0o755, 'pkg/__init__.py': 0o644,
                  'pkg/deep': 0o755, 'pkg/deep/data': 0o644,
                  'link': ('link', 'task1.py'), 'dirlink': ('link', 'pkg')}


def write_tree(top, modes):
    """Write the tree of CHECKOUT_MODES below ``top``; then chmod each
    path of ``modes`` (deepest first) to its mode, whatever the umask.
    """
    os.makedirs(os.path.join(top, 'pkg/deep'))
    for name in ('Dockerfile', 'task1.py', 'run.sh', 'pkg/__init__.py',
                 'pkg/deep/data'):
        with open(os.path.join(top, name), 'w') as f:
            f.write(DOCKERFILE if name == 'Dockerfile' else name + '\n')
    os.symlink('task1.py', os.path.join(top, 'link'))
    os.symlink('pkg', os.path.join(top, 'dirlink'))
    for name in sorted(modes, key=lambda n: (-n.count('/'), n == '.')):
        os.chmod(os.path.normpath(os.path.join(top, name)), modes[name])


def use_umask(test, mask):
    """Run the rest of ``test`` with the process umask ``mask``."""
    test.addCleanup(os.umask, os.umask(mask))


class TestFetchLocal(test_task_sources.SourcesTestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        self.cfg.config(local_source_roots=[self.root], group='builder')
        self.task_dir = os.path.join(self.root, 'task')
        os.makedirs(os.path.join(self.task_dir, 'lib'))
        self.write('Dockerfile', DOCKERFILE)
        self.write('lib/run.sh', 'echo hi\n', mode=0o755)
        self.dest = self.useFixture(fixtures.TempDir()).path
        self.source = {'type': 'local', 'path': self.task_dir}

    def write(self, name, content, mode=0o644):
        path = os.path.join(self.task_dir, name)
        with open(path, 'w') as f:
            f.write(content)
        os.chmod(path, mode)

    def test_snapshot(self):
        context = fetch.fetch_source(self.source, self.dest, CONF)
        self.assertTrue(context.startswith(self.dest + '/'))
        with open(os.path.join(context, 'lib/run.sh')) as f:
            self.assertEqual('echo hi\n', f.read())
        self.assertEqual(0o755, stat.S_IMODE(
            os.stat(os.path.join(context, 'lib/run.sh')).st_mode))
        # Changes after the fetch do not reach the build.
        self.write('lib/run.sh', 'echo changed\n')
        with open(os.path.join(context, 'lib/run.sh')) as f:
            self.assertEqual('echo hi\n', f.read())

    def test_symlinks_inside_are_kept(self):
        os.symlink('lib/run.sh', os.path.join(self.task_dir, 'rel'))
        os.symlink(os.path.join(self.task_dir, 'lib'),
                   os.path.join(self.task_dir, 'abs-dir'))
        os.symlink('../lib/run.sh', os.path.join(self.task_dir, 'lib/up'))
        os.symlink('missing', os.path.join(self.task_dir, 'dangling'))
        context = fetch.fetch_source(self.source, self.dest, CONF)
        self.assertEqual('lib/run.sh', os.readlink(os.path.join(context,
                                                                'rel')))
        self.assertTrue(os.path.islink(os.path.join(context, 'abs-dir')))
        self.assertEqual('../lib/run.sh',
                         os.readlink(os.path.join(context, 'lib/up')))

    def test_symlinks_leading_outside(self):
        os.makedirs(self.task_dir + '2')
        with open(os.path.join(self.root, 'secret'), 'w') as f:
            f.write('x')
        for name, target in (('lib/passwd', '/etc/passwd'),
                             ('lib/s', '../../secret'),  # up and out
                             ('sib', self.task_dir + '2'),  # common prefix
                             ('lib/root', '/')):
            link = os.path.join(self.task_dir, name)
            os.symlink(target, link)
            exc = self.assertRaises(exception.BuildError, fetch.fetch_source,
                                    self.source, self.dest, CONF)
            self.assertIn('symlink %s -> %s leads outside' % (link, target),
                          str(exc))
            os.unlink(link)
            shutil.rmtree(os.path.join(self.dest, 'context'))

    def test_source_directory_that_is_a_symlink_out_of_the_roots(self):
        outside = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(outside, 'Dockerfile'), 'w') as f:
            f.write(DOCKERFILE)
        os.symlink(outside, os.path.join(self.root, 'link'))
        exc = self.assertRaises(
            exception.BuildError, fetch.fetch_source,
            {'type': 'local', 'path': os.path.join(self.root, 'link')},
            self.dest, CONF)
        self.assertIn('not below [builder] local_source_roots', str(exc))

    def test_missing_dockerfile(self):
        os.unlink(os.path.join(self.task_dir, 'Dockerfile'))
        exc = self.assertRaises(exception.BuildError, fetch.fetch_source,
                                self.source, self.dest, CONF)
        self.assertIn('no Dockerfile in %s' % self.task_dir, str(exc))

    def test_missing_directory(self):
        exc = self.assertRaises(
            exception.BuildError, fetch.fetch_source,
            {'type': 'local', 'path': self.task_dir + '-gone'}, self.dest,
            CONF)
        self.assertIn('is not a directory', str(exc))

    def test_fifo_is_refused_not_read(self):
        os.mkfifo(os.path.join(self.task_dir, 'pipe'))
        exc = self.assertRaises(exception.BuildError, fetch.fetch_source,
                                self.source, self.dest, CONF)
        self.assertIn('pipe is not a regular file', str(exc))

    def test_read_only_directories_can_be_cleaned_up(self):
        os.chmod(os.path.join(self.task_dir, 'lib'), 0o555)
        self.addCleanup(os.chmod, os.path.join(self.task_dir, 'lib'), 0o755)
        context = fetch.fetch_source(self.source, self.dest, CONF)
        builder.remove_tree(context)
        self.assertFalse(os.path.exists(context))


class TestFetchGit(test_task_sources.SourcesTestCase):
    """git sources against file:// repositories (real git, no network)."""

    def setUp(self):
        super().setUp()
        self.cfg.config(allow_file_git_urls=True, git_timeout=30,
                        group='builder')
        repos = self.useFixture(gitserver.GitRepos())
        self.shas = repos.create('t.git', [
            ('main', {'Dockerfile': DOCKERFILE, 'm': '1'}, 'v1'),
            ('old', {}, None),
            ('main', {'m': '2', 'sub/Dockerfile': 'FROM s', 'sub/m': 'sub'},
             None)])
        self.url = 'file://%s/t.git' % repos.base
        self.dest = self.useFixture(fixtures.TempDir()).path

    def fetch(self, url=None, **source):
        return fetch.fetch_source(
            test_task_sources.git(url or self.url, **source),
            tempfile.mkdtemp(dir=self.dest), CONF)

    def read(self, context, name='m'):
        with open(os.path.join(context, name)) as f:
            return f.read()

    def test_default_branch(self):
        context = self.fetch()
        self.assertEqual('2', self.read(context))
        self.assertFalse(os.path.exists(os.path.join(context, '.git')))

    def test_branch_tag_and_commits(self):
        for ref, expected in (('old', '1'), ('v1', '1'), ('main', '2'),
                              (self.shas[0], '1'), (self.shas[0][:10], '1'),
                              ('refs/heads/old', '1'), ('refs/tags/v1', '1')):
            self.assertEqual(expected, self.read(self.fetch(ref=ref)), ref)

    def test_path_inside_the_repository(self):
        context = self.fetch(ref='main', path='sub')
        self.assertEqual(('sub', True), (self.read(context),
                                         context.endswith('/sub')))
        exc = self.assertRaises(exception.BuildError, self.fetch, ref='old',
                                path='sub')
        self.assertIn('source.path sub is not a directory', str(exc))

    def test_bad_ref_reports_git(self):
        exc = self.assertRaises(exception.BuildError, self.fetch,
                                ref='no-such-branch')
        self.assertIn("ref 'no-such-branch' is not a branch, tag or commit",
                      str(exc))
        self.assertIn("couldn't find remote ref no-such-branch", str(exc))
        exc = self.assertRaises(exception.BuildError, self.fetch,
                                ref='deadbeefdeadbeef')
        self.assertIn('git clone of', str(exc))

    def test_file_protocol_refused_when_not_allowed(self):
        # validate() refuses file:// already; fetch must not rely on it.
        self.cfg.config(allow_file_git_urls=False, group='builder')
        exc = self.assertRaises(exception.BuildError, self.fetch)
        self.assertIn("transport 'file' not allowed", str(exc))

    def test_credentials_never_in_the_reason(self):
        # Nothing listens on port 1: git fails at once, quoting the URL.
        exc = self.assertRaises(exception.BuildError, self.fetch,
                                'http://alice:Sup3rSecret@127.0.0.1:1/x')
        self.assertIn('git clone of http://***@127.0.0.1:1/x failed',
                      str(exc))
        self.assertNotIn('Sup3rSecret', str(exc))
        self.assertNotIn('alice', str(exc))

    def test_timeout_kills_git(self):
        self.cfg.config(git_timeout=1, group='builder')
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)  # accepts, never answers
        exc = self.assertRaises(exception.BuildError, self.fetch,
                                'git://127.0.0.1:%d/x'
                                % listener.getsockname()[1])
        self.assertIn('timed out ([builder] git_timeout)', str(exc))


class TestCheckoutModes(test_task_sources.SourcesTestCase):
    """Every source kind gives the context a git checkout's modes: files
    0644 (0755 if the owner may execute them), directories 0755, symlinks
    as they were; whatever the source's modes and the conductor's umask.
    """

    def setUp(self):
        super().setUp()
        self.dest = self.useFixture(fixtures.TempDir()).path

    def fetch_local(self, modes):
        root = self.useFixture(fixtures.TempDir()).path
        self.cfg.config(local_source_roots=[root], group='builder')
        task_dir = os.path.join(root, 'task')
        write_tree(task_dir, modes)
        # Removable by the TempDir fixture, even when not run as root.
        self.addCleanup(fetch.normalise_modes, task_dir)
        context = fetch.fetch_source({'type': 'local', 'path': task_dir},
                                     tempfile.mkdtemp(dir=self.dest), CONF)
        # The source itself is left as it was.
        self.assertEqual(modes['task1.py'], stat.S_IMODE(
            os.stat(os.path.join(task_dir, 'task1.py')).st_mode))
        return context

    def test_local_private_modes(self):
        # As a directory copied from a home, or an unpacked archive.
        for mask in (0o022, 0o077):
            use_umask(self, mask)
            context = self.fetch_local(PRIVATE_MODES)
            self.assertEqual(CHECKOUT_MODES, context_modes(context),
                             oct(mask))

    def test_local_odd_bits_are_dropped(self):
        context = self.fetch_local({
            'Dockerfile': 0o666, 'task1.py': 0o4640, 'run.sh': 0o6775,
            'pkg': 0o1777, 'pkg/__init__.py': 0o2654, 'pkg/deep': 0o711,
            'pkg/deep/data': 0o664})
        self.assertEqual(CHECKOUT_MODES, context_modes(context))

    def test_git_under_a_private_umask(self):
        # git checks files out as 0666/0777 less the umask: under 077 that
        # is 0600 and 0700, unreadable by the step's user.
        self.cfg.config(allow_file_git_urls=True, git_timeout=30,
                        group='builder')
        base = self.useFixture(fixtures.TempDir()).path
        work = os.path.join(base, 'work')
        gitserver.git('init', '-q', '-b', 'main', work)
        write_tree(work, {'run.sh': 0o755})
        write_tree(os.path.join(work, 'sub'), {'run.sh': 0o755})
        gitserver.git('add', '.', cwd=work)
        gitserver.git('commit', '-q', '-m', 'tree', cwd=work)
        gitserver.git('clone', '-q', '--bare', work, base + '/t.git')
        url = 'file://%s/t.git' % base
        # The repository's root holds the tree and a copy of it in "sub".
        whole = dict(CHECKOUT_MODES, **{
            os.path.normpath('sub/' + k): v for k, v in
            CHECKOUT_MODES.items()})
        for mask in (0o022, 0o077, 0o277):
            use_umask(self, mask)
            for path, expected in ((None, whole), ('sub', CHECKOUT_MODES)):
                source = test_task_sources.git(
                    url, **({'path': path} if path else {}))
                context = fetch.fetch_source(
                    source, tempfile.mkdtemp(dir=self.dest), CONF)
                self.assertEqual(expected, context_modes(context),
                                 (oct(mask), path))

    def test_unreadable_directories_are_walked(self):
        # A directory is made readable before it is listed, so what lies
        # below one without read or search permission is fixed too.
        top = os.path.join(self.dest, 'context')
        write_tree(top, {'.': 0o000, 'pkg': 0o000, 'pkg/deep': 0o300,
                         'pkg/deep/data': 0o000, 'run.sh': 0o100})
        fetch.normalise_modes(top)
        self.assertEqual(CHECKOUT_MODES, context_modes(top))
