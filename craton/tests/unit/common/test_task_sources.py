# SPDX-License-Identifier: Apache-2.0
"""Task sources: validation tables, credential scrubbing, public views."""

from oslo_config import fixture as config_fixture
import testtools

from craton.common import exception
from craton.common import task_sources
from craton import conf

CONF = conf.CONF
ROOT = '/srv/craton/tasks'


def git(url='https://h/x', **fields):
    return dict(type='git', url=url, **fields)


def local(path):
    return {'type': 'local', 'path': path}


GOOD = [
    # (source, clean result or None when it equals the source)
    (git('https://git.example.org/ops/tasks.git'), None),
    (git(ref='main', path='patch-host'), None),
    (git('http://127.0.0.1:8080/t.git', ref='refs/heads/stable/2026.1',
         path='a/b/c'), None),
    (git('git://127.0.0.1/t.git', ref='v1.0.2'), None),
    (git('ssh://git@git.example.org:2222/ops/t.git', ref='0123abc' * 5 +
         '01234'), None),
    (git('git@github.com:ops/tasks.git'), None),
    (git('git.example.org:ops/tasks.git'), None),
    (git('https://user:t0ken@git.example.org/x.git'), None),
    (git(ref=None, path=None), git()),
    (git('HTTPS://git.example.org/x'), None),
    (local(ROOT + '/patch-host'), None),
    (local(ROOT + '/a b/c'), None),
    ({'type': 'upload'}, None),
]

BAD = [
    # (source, fragment of the message)
    (None, '"type" is "git", "local" or "upload"'),
    ([], '"type" is "git"'),
    ({}, 'not None'),
    ({'type': 'svn', 'url': 'x'}, "not 'svn'"),
    ({'type': 'upload', 'size': 3}, 'source.size of an upload source'),
    ({'type': 'upload', 'path': 'x'}, 'unknown field(s) source.path'),
    (git(branch='main'), 'unknown field(s) source.branch'),
    (dict(local(ROOT + '/x'), url='y'), 'unknown field(s) source.url'),
    ({'type': 'git'}, 'source.url must be a string'),
    (git(''), 'source.url must be a string'),
    (git(42), 'source.url must be a string'),
    (git('https://h/' + 'x' * 3000), '1 to 2048'),
    (git('https://h/x y'), 'control characters or spaces'),
    (git('https://h/x\n'), 'control characters'),
    # Transport helpers: ext:: runs a command, fd:: reads a descriptor.
    (git('ext::sh'), 'transport helper (ext:)'),
    (git('ext::ssh%S%20example.org'), 'transport helper'),
    (git('EXT::sh'), 'transport helper'),
    (git('fd::3'), 'transport helper (fd:)'),
    (git('hg::https://h/x'), 'transport helper (hg:)'),
    (git('ext:sh'), 'transport helper'),
    (git('persistent-https://h/x'), 'persistent-https:// is not allowed'),
    (git('ftp://u:pw1@h/x'), 'scheme ftp:// is not allowed'),
    (git('u:pw1@h:x'), 'no password'),
    (git('file:///srv/repo.git'), 'allow_file_git_urls = true'),
    (git('/srv/repo.git'), 'is not a git URL'),
    (git('./repo'), 'is not a git URL'),
    (git('-uhttps://h/x'), 'must not start with "-"'),
    (git('--upload-pack=touch'), 'must not start with "-"'),
    (git('ssh://-oProxyCommand=id/x'), 'must not start with -'),
    (git('ssh://-u@h/x'), 'must not start with -'),
    (git('https:///x'), 'must name a host'),
    (git('https://h:99999/x'), 'not a valid URL'),
    (git('https://u:p@ss@h/x'), 'several "@"'),
    (git('user:pass@host:path'), 'no password'),
    # Refs: options, traversal and git check-ref-format's rules.
    (git(ref='-u'), 'leading "-"'),
    (git(ref='a..b'), 'no ".."'),
    (git(ref='a b'), 'spaces'),
    (git(ref='a\tb'), 'control'),
    (git(ref=''), 'source.ref must be'),
    (git(ref=3), 'source.ref must be'),
] + [(git(ref=ref), 'not a valid git ref') for ref in (
    '--upload-pack=id', '../../etc', 'HEAD~1', 'v1^{}', 'a:b', 'a?', 'a*',
    'a[1]', 'a\\b', 'main@{1}', '@', '/main', 'main/', 'a//b', 'a.',
    '.hidden', 'a/.b', 'a.lock', 'a.lock/b')] + [
    # Paths inside a repository.
    (git(path='../x'), '".."'),
    (git(path='a/../../x'), '".."'),
    (git(path='..'), '".."'),
    (git(path='.'), '"."'),
    (git(path='a/./b'), '"."'),
    (git(path='/etc'), 'must be relative'),
    (git(path='a//b'), "use 'a/b'"),
    (git(path='a/'), "use 'a'"),
    # Local paths.
    ({'type': 'local'}, 'source.path must be'),
    (local('tasks/x'), 'must be absolute'),
    (local(ROOT + '/../../etc'), '".."'),
    (local(ROOT + '/x/..'), '".."'),
    (local(ROOT + '/./x'), '"."'),
    (local(ROOT + '/x/'), "use '%s/x'" % ROOT),
    (local(ROOT + '//x'), "use '%s/x'" % ROOT),
    (local('/' + ROOT + '/x'), 'normalised'),
    (local(ROOT + '/x\x00'), 'control characters'),
    (local(ROOT), 'not below an allowed directory'),
    (local(ROOT + '2/x'), 'not below an allowed'),
    (local('/srv/craton/task'), 'not below an allowed'),
    (local('/etc/x'), 'not below an allowed'),
]


class SourcesTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cfg = self.useFixture(config_fixture.Config(CONF))
        CONF([], project='craton', default_config_files=[],
             default_config_dirs=[])
        self.cfg.config(local_source_roots=[ROOT], group='builder')


class TestValidate(SourcesTestCase):

    def test_good_sources(self):
        wrong = []
        for source, expected in GOOD:
            clean = task_sources.validate(source, CONF)
            if clean != (expected or source) or clean is source:
                wrong.append((source, clean))
        self.assertEqual([], wrong)

    def test_bad_sources(self):
        wrong = []
        for source, fragment in BAD:
            try:
                wrong.append((source, 'accepted',
                              task_sources.validate(source, CONF)))
            except exception.InvalidSource as exc:
                # 400, naming the field, never quoting a password.
                if (fragment not in str(exc) or exc.code != 400 or 'pw1' in
                        str(exc) or 'source' not in str(exc)):
                    wrong.append((source, fragment, str(exc)))
        self.assertEqual([], wrong)

    def test_root_compared_by_components(self):
        self.cfg.config(local_source_roots=['/srv/tasks/', 'relative/root',
                                            ''], group='builder')
        ok = task_sources.validate({'type': 'local', 'path': '/srv/tasks/a'},
                                   CONF)
        self.assertEqual('/srv/tasks/a', ok['path'])
        for path in ('/srv/tasks2/a', '/srv/tasks', '/srv/task',
                     '/relative/root/a', '/srv/tasksa/b'):
            self.assertRaises(exception.InvalidSource, task_sources.validate,
                              {'type': 'local', 'path': path}, CONF)

    def test_no_roots_no_local_sources(self):
        self.cfg.config(local_source_roots=[], group='builder')
        exc = self.assertRaises(exception.InvalidSource, task_sources.validate,
                                {'type': 'local', 'path': ROOT + '/a'}, CONF)
        self.assertIn('local_source_roots', str(exc))

    def test_file_urls_follow_the_option(self):
        source = {'type': 'git', 'url': 'file:///srv/git/tasks.git'}
        self.assertRaises(exception.InvalidSource, task_sources.validate,
                          source, CONF)
        self.cfg.config(allow_file_git_urls=True, group='builder')
        self.assertEqual(source, task_sources.validate(source, CONF))
        # Still no transport helper nor plain path, file:// allowed or not.
        for url in ('ext::sh', '/srv/git/tasks.git'):
            self.assertRaises(exception.InvalidSource, task_sources.validate,
                              git(url), CONF)


class TestCredentials(testtools.TestCase):

    def test_public_view(self):
        for url, shown in (
                ('https://user:t0ken@h.example/x', 'https://***@h.example/x'),
                ('https://t0ken@h.example/x', 'https://***@h.example/x'),
                ('https://u:p%40s@h.example:84/x', 'https://***@h.example:84/x'),
                ('ssh://git@h.example/x', 'ssh://***@h.example/x'),
                ('https://h.example/x@y', 'https://h.example/x@y'),
                ('git@github.com:o/r.git', 'git@github.com:o/r.git')):
            source = {'type': 'git', 'url': url, 'ref': 'main'}
            view = task_sources.public_view(source)
            self.assertEqual({'type': 'git', 'url': shown, 'ref': 'main'},
                             view)
            self.assertEqual(url, source['url'])  # not changed in place
        local = {'type': 'local', 'path': '/srv/x'}
        self.assertEqual(local, task_sources.public_view(local))

    def test_scrub_messages(self):
        url = 'https://alice:s%2Fcr3t@h.example/x.git'
        message = ("fatal: unable to access '%s/': 403\n"
                   "remote: password s/cr3t is wrong for alice" % url)
        scrubbed = task_sources.scrub(message, task_sources.url_secrets(url))
        self.assertNotIn('s/cr3t', scrubbed)
        self.assertNotIn('s%2Fcr3t', scrubbed)
        self.assertNotIn('alice', scrubbed)
        self.assertIn("'https://***@h.example/x.git/'", scrubbed)
        self.assertEqual([], task_sources.url_secrets('https://h.example/x'))
        self.assertEqual([], task_sources.url_secrets('git@h.example:x'))
        self.assertEqual('', task_sources.scrub(None))
