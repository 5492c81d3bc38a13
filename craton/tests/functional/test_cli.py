# SPDX-License-Identifier: Apache-2.0
"""``openstack craton …`` end to end: the real ``openstack`` command (the
one next to this Python) in subprocesses, against craton-all as a real
process building and running real containers on the real Docker engine.

Everything a test does goes through the CLI; the REST client of
:mod:`.api_client` is used only to read back what the server holds (a
step's stored log bytes), to compare with what the CLI printed.

* :class:`NoauthCLITest`: the service in ``noauth`` mode, the CLI with
  ``OS_AUTH_TYPE=none`` and ``OS_CRATON_URL``: the seed's whole flow
  (region, hosts, a task from a directory and one from git, approval, a
  two-step workflow from a YAML file, ``job run --wait``, ``job logs``,
  following a running step, cancel), every other command, the output
  formats, and the error paths (unknown name, unapproved task, service
  down).
  The secret commands (values from a file and from stdin, never shown,
  not even by ``--debug``; a step receiving one, its log masked) and
  ``event list`` run here too: the deployment has a secrets key.
* :class:`KeystoneCLITest`: the service behind the real Keystone of
  ``tools/keystone.sh``, the CLI logged in through the usual ``OS_*``
  variables; Craton found through ``OS_CRATON_URL`` or through a catalog
  entry of type ``craton-workflow``.

Needs CRATON_FUNCTIONAL=1, the engine and base images of
tools/prepare-functional.sh, and for the second class the Keystone of
tools/keystone.sh (CRATON_TEST_KEYSTONE_URL, default
http://127.0.0.1:5000/v3).
"""

import base64
import csv
import io
import json
import os
import re
import shutil
import uuid

import fixtures
import requests
import testtools
import yaml

from craton.tests.functional import cli
from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment
from craton.tests.functional import gitserver
from craton.tests.functional import jobtask
from craton.tests.functional import test_keystone

COMMAND = 'python3 /craton/task.py'
DOCKERFILE = 'FROM craton/python3:bookworm\nADD . /craton\n'
# The task kept in git: it says which earlier results it saw.
HELLO = '''\
import json, os
with open(os.environ['CRATON_PAYLOAD_FILE']) as f:
    payload = json.load(f)
print('hello from git, after ' + ','.join(sorted(payload['results'])))
print('::craton-result:: ' + json.dumps({'seen': sorted(payload['results'])}))
'''
# A two-step workflow as the API's body, in YAML; the command line's name
# wins over the file's.
SEED_WORKFLOW = '''\
name: name-in-the-file
description: seed maintenance, from a YAML file
variables:
  lines: 1
  level: workflow
steps:
  - name: first
    task: seed-dir
    variables:
      lines: 2
  - name: second
    task: seed-git
'''
# The key the deployment encrypts secret values with (a Fernet key).
SECRETS_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()
# A task that prints the secrets it received (the stored log must show
# *** instead of each value) and reports their names and paths.
SECRET_READER = '''\
import json, os
with open(os.environ['CRATON_PAYLOAD_FILE']) as f:
    payload = json.load(f)
paths = payload.get('secrets') or {}
for name in sorted(paths):
    with open(paths[name]) as f:
        print('secret %s: %s' % (name, f.read()), flush=True)
print('::craton-result:: ' + json.dumps({'paths': paths}))
'''
# What secret show/list print: metadata, never a value.
SECRET_FIELDS = {'uuid', 'name', 'description', 'project_id', 'user_id',
                 'created_at', 'updated_at'}
EVENT_COLUMNS = ['time', 'action', 'resource_type', 'resource_uuid',
                 'outcome', 'user_id']
HEADER = re.compile(rb'^==> step (\d+) (\S+) \((\w+)\) <==$', re.M)

# Every command of CLI.md.
COMMANDS = [
    'region create', 'region list', 'region show', 'region set',
    'region delete', 'cell create', 'cell list', 'cell show', 'cell set',
    'cell delete', 'host create', 'host list', 'host show', 'host set',
    'host delete', 'task create', 'task list', 'task show', 'task delete',
    'task rebuild', 'task set', 'task approve', 'task reject',
    'workflow create', 'workflow list', 'workflow show', 'workflow set',
    'workflow delete', 'job run', 'job list', 'job show', 'job cancel',
    'job inventory', 'job watch', 'job logs', 'secret create',
    'secret list', 'secret show', 'secret set', 'secret delete',
    'event list']


def log_sections(output):
    """``job logs`` output as [(index, name, status, body bytes)]."""
    heads = list(HEADER.finditer(output))
    sections = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(output)
        sections.append((int(head.group(1)), head.group(2).decode(),
                         head.group(3).decode(),
                         output[head.end() + 1:end]))
    return sections, output[:heads[0].start()] if heads else output


class CLITestBase(testtools.TestCase):
    """The deployment, a task directory maker and shared assertions."""

    @classmethod
    def deploy_with(cls, **kwargs):
        cli.executable()
        cls.deploy = deployment.Deployment(**kwargs)
        cls.deploy.setUp()
        cls.url = 'http://127.0.0.1:%d' % cls.deploy.port

    @classmethod
    def tearDownClass(cls):
        cls.deploy.cleanUp()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def task_dir(self, name, script=jobtask.SCRIPT):
        """A task directory (Dockerfile + task.py) on this machine."""
        return deployment.task_dir(self.tmp, name, script)

    def assertOneLine(self, result, *needles):
        """The command failed with exit 1 and one line on stderr that
        holds every needle, and no traceback.
        """
        self.assertEqual(1, result.returncode, result)
        self.assertEqual(1, len(result.error_lines), result)
        self.assertNotIn('Traceback', result.stderr)
        for needle in needles:
            self.assertIn(needle, result.stderr, result)
        return result.error_lines[0]

    def assertLogsMatch(self, sections, expected):
        """``job logs`` sections against [(index, name, stored bytes)]:
        each body is the stored log, then at most blank lines.
        """
        self.assertEqual([(i, n) for i, n, _ in expected],
                         [(i, n) for i, n, _, _ in sections])
        for (_, name, log), (_, _, _, body) in zip(expected, sections,
                                                      strict=True):
            self.assertTrue(body.startswith(log), (name, log, body))
            self.assertEqual(b'', body[len(log):].strip(), (name, body))


@dbfixtures.requires_functional
class NoauthCLITest(CLITestBase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = deployment.source_root()
        cls.deploy_with(source_roots=[cls.root],
                        extra={'secrets': {'encryption_keys': SECRETS_KEY}})
        # The CLI's default noauth identity is the REST client's.
        cls.api = cls.deploy.client
        cls.craton = cli.CLI.noauth(cls.url)
        cls.repos = gitserver.GitRepos()
        cls.repos.setUp()
        cls.repos.create('tasks.git', [('main', {
            'hello/Dockerfile': DOCKERFILE, 'hello/task.py': HELLO,
            'README': 'tasks of the CLI tests\n'}, None)])
        cls.git = gitserver.GitDaemon(cls.repos.base)
        cls.git.setUp()
        cls.shared = None

    @classmethod
    def tearDownClass(cls):
        cls.git.cleanUp()
        cls.repos.cleanUp()
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    def shared_task(self):
        """Region r-shared, host shared-01 and the approved task jobtask,
        made once through the CLI for the tests that need a job.
        """
        cls = type(self)
        if cls.shared is None:
            self.craton('region', 'create', 'r-shared')
            self.craton('host', 'create', 'shared-01', '--region',
                        'r-shared', '--ip-address', '127.0.0.41',
                        '--label', 'shared')
            self.craton('task', 'create', 'jobtask', '--command', COMMAND,
                        '--from-dir', self.task_dir('jobtask'), '--wait')
            self.craton('task', 'approve', 'jobtask')
            cls.shared = ('jobtask', 'shared-01')
        return cls.shared

    # ------------------------------------------------------------ flow
    def test_seed_flow(self):
        craton = self.craton
        # Inventory: a region with variables (JSON values where they
        # parse), two hosts.
        region = craton.json('region', 'create', 'seed-region',
                             '--description', 'the seed lab',
                             '--var', 'site=lab', '--var', 'mgmt_port=22')
        self.assertEqual('seed-region', region['name'])
        self.assertEqual({'site': 'lab', 'mgmt_port': 22},
                         region['variables'])
        self.assertIn('seed-region', [
            r['name'] for r in craton.json('region', 'list')])
        for i in (1, 2):
            host = craton.json('host', 'create', 'seed-0%d' % i,
                               '--region', 'seed-region',
                               '--ip-address', '127.0.0.2%d' % i,
                               '--label', 'compute', '--label', 'seed',
                               '--var', 'rack=r%d' % i)
            self.assertEqual(['compute', 'seed'], sorted(host['labels']))
            self.assertEqual({'rack': 'r%d' % i}, host['variables'])
            self.assertEqual('127.0.0.2%d' % i, host['ip_address'])
        self.assertEqual(['seed-01', 'seed-02'], sorted(
            h['name'] for h in craton.json('host', 'list', '--region',
                                           'seed-region', '--label', 'seed')))
        self.assertEqual(
            {'site': 'lab', 'mgmt_port': 22, 'rack': 'r1'},
            craton.json('host', 'show', 'seed-01', '--resolved')['variables'])

        # A task from a directory on this machine, built while we wait.
        made = craton('task', 'create', 'seed-dir', '--command', COMMAND,
                      '--from-dir', self.task_dir('seed-dir'),
                      '--description', 'seed task from a directory',
                      '--wait', '-f', 'json')
        task = made.json()
        self.assertEqual(('ready', 'pending', 'upload'), (
            task['status'], task['approval'], task['source']['type']))
        self.assertEqual(['python3', '/craton/task.py'], task['command'])
        self.assertIn('ready', made.stderr)
        # And one from git: a directory inside a repository, at a branch.
        url = self.git.url + 'tasks.git'
        task = craton.json('task', 'create', 'seed-git', '--command', COMMAND,
                           '--git-url', url, '--git-ref', 'main',
                           '--git-path', 'hello', '--wait')
        self.assertEqual('ready', task['status'], task)
        self.assertEqual({'type': 'git', 'url': url, 'ref': 'main',
                          'path': 'hello'},
                         {k: task['source'].get(k)
                          for k in ('type', 'url', 'ref', 'path')})
        pending = [t['name'] for t in craton.json('task', 'list',
                                                  '--approval', 'pending')]
        self.assertTrue({'seed-dir', 'seed-git'} <= set(pending), pending)
        for name in ('seed-dir', 'seed-git'):
            task = craton.json('task', 'approve', name)
            self.assertEqual('approved', task['approval'])
        self.assertEqual('approved', craton.json(
            'task', 'show', 'seed-git')['approval'])

        # A two-step workflow from a YAML file.
        path = os.path.join(self.tmp, 'seed.yaml')
        with open(path, 'w') as f:
            f.write(SEED_WORKFLOW)
        wf = craton.json('workflow', 'create', 'seed-maintenance',
                         '--file', path)
        self.assertEqual('seed-maintenance', wf['name'])
        self.assertEqual({'lines': 1, 'level': 'workflow'}, wf['variables'])
        self.assertEqual(['first', 'second'],
                         [s['name'] for s in wf['steps']])
        self.assertIn('seed-maintenance', [
            w['name'] for w in craton.json('workflow', 'list')])

        # Run it on the hosts labelled seed, waiting for the end.
        run = craton('job', 'run', '--workflow', 'seed-maintenance',
                     '--label', 'seed', '--var', 'ticket=OPS-42',
                     '--var', 'dry_run=false', '--var', 'ports=[22,80]',
                     '--wait', '-f', 'json')
        job = run.json()
        self.assertEqual('succeeded', job['status'], run)
        self.assertEqual(2, job['host_count'])
        self.assertEqual({'ticket': 'OPS-42', 'dry_run': False,
                          'ports': [22, 80]}, job['variables'])
        self.assertEqual([('first', 'succeeded'), ('second', 'succeeded')],
                         [(s['name'], s['status']) for s in job['steps']])
        # Progress went to stderr, as plain lines: it is not a terminal.
        for name in ('first', 'second', 'succeeded'):
            self.assertIn(name, run.stderr)
        self.assertNotIn('\x1b', run.stderr)
        self.assertNotIn('\r', run.stderr)
        shown = craton.json('job', 'show', job['uuid'])
        for key in ('uuid', 'status', 'variables', 'host_count', 'steps'):
            self.assertEqual(job[key], shown[key])
        self.assertIn(job['uuid'], [
            j['uuid'] for j in craton.json('job', 'list', '--status',
                                           'succeeded', '--workflow',
                                           'seed-maintenance')])
        self.assertEqual(['seed-01', 'seed-02'], sorted(
            h['name'] for h in craton.json('job', 'inventory',
                                           job['uuid'])))

        # The logs: every step under its header, then one step alone.
        stored = [self.api.full_log(job['uuid'], i)[0] for i in (0, 1)]
        first = json.loads(jobtask.result_line(stored[0]).split('::', 2)[2])
        self.assertEqual({'lines': 2, 'level': 'workflow', 'ticket': 'OPS-42',
                          'dry_run': False, 'ports': [22, 80]},
                         first['variables'])
        self.assertTrue(stored[1].startswith(b'hello from git, after first'))
        out = craton('job', 'logs', job['uuid']).stdout
        sections, before = log_sections(out)
        self.assertEqual(b'', before.strip())
        self.assertEqual(['succeeded', 'succeeded'],
                         [s[2] for s in sections])
        self.assertLogsMatch(sections, [(0, 'first', stored[0]),
                                        (1, 'second', stored[1])])
        self.assertEqual(stored[0], craton('job', 'logs', job['uuid'],
                                           '0').stdout)
        self.assertEqual(stored[1], craton('job', 'logs', job['uuid'],
                                           'second').stdout)

        # A failing job: --wait exits 1 and still prints the job.
        run = craton('job', 'run', '--task', 'seed-dir', '--host', 'seed-01',
                     '--var', 'exit_code=3', '--wait', '-f', 'json',
                     check=False)
        self.assertEqual(1, run.returncode, run)
        job = run.json()
        self.assertEqual('failed', job['status'])
        self.assertEqual(3, job['steps'][0]['exit_code'])
        # Reading the logs of a failed job is no failure.
        self.assertEqual(0, craton('job', 'logs', job['uuid']).returncode)

    def test_job_watch_and_follow_exit_with_the_outcome(self):
        task, host = self.shared_task()
        job = self.craton.json('job', 'run', '--task', task, '--host', host,
                               '--var', 'lines=1')
        self.assertIn(job['status'], ('pending', 'running'))
        watched = self.craton('job', 'watch', job['uuid'], '-f', 'json')
        self.assertEqual('succeeded', watched.json()['status'])
        self.assertIn('succeeded', watched.stderr)
        job = self.craton.json('job', 'run', '--task', task, '--host', host,
                               '--var', 'exit_code=4')
        watched = self.craton('job', 'watch', job['uuid'], '-f', 'json',
                              check=False)
        self.assertEqual((1, 'failed'),
                         (watched.returncode, watched.json()['status']))
        followed = self.craton('job', 'logs', job['uuid'], '0', '--follow',
                               check=False)
        self.assertEqual(1, followed.returncode, followed)
        self.assertEqual(self.api.full_log(job['uuid'], 0)[0],
                         followed.stdout)

    def test_logs_follow_streams_a_running_step(self):
        task, host = self.shared_task()
        job = self.craton.json('job', 'run', '--task', task, '--host', host,
                               '--var', 'lines=1', '--var', 'sleep=30')
        self.craton.wait_job(job['uuid'], ('running',), step=0)
        follow = self.craton.start('job', 'logs', job['uuid'], '0',
                                   '--follow')
        self.addCleanup(follow.stop)
        # The step printed its line as it started; it then sleeps for
        # twice as long as the line may take to come through.
        follow.out.wait_for(b'line 0\n', timeout=15)
        # The line came while the step still runs, and the command is
        # still following it.
        self.assertTrue(follow.running())
        self.assertEqual('running', self.craton.json(
            'job', 'show', job['uuid'])['steps'][0]['status'])
        result = follow.wait(timeout=120)
        self.assertEqual(0, result.returncode, result)
        stored, complete = self.api.full_log(job['uuid'], 0)
        self.assertTrue(complete)
        self.assertTrue(stored.startswith(b'line 0\n::craton-result::'))
        self.assertEqual(stored, result.stdout)

    def test_logs_follow_across_steps(self):
        task, host = self.shared_task()
        path = os.path.join(self.tmp, 'follow.json')
        with open(path, 'w') as f:
            json.dump({'name': 'follow-all', 'steps': [
                {'name': 'talk', 'task': task,
                 'variables': {'lines': 1, 'sleep': 10}},
                {'name': 'breaks', 'task': task,
                 'variables': {'lines': 2, 'exit_code': 2}}]}, f)
        self.craton('workflow', 'create', 'follow-all', '--file', path)
        job = self.craton.json('job', 'run', '--workflow', 'follow-all',
                               '--host', host)
        follow = self.craton.start('job', 'logs', job['uuid'], '--follow')
        self.addCleanup(follow.stop)
        follow.out.wait_for(b'line 0\n', timeout=90)
        self.assertTrue(follow.running())
        self.assertEqual(['running', 'pending'], [
            s['status'] for s in self.craton.json(
                'job', 'show', job['uuid'])['steps']])
        result = follow.wait(timeout=120)
        # The second step failed: following ends with exit 1.
        self.assertEqual(1, result.returncode, result)
        sections, before = log_sections(result.stdout)
        self.assertEqual(b'', before.strip())
        self.assertLogsMatch(sections, [
            (i, name, self.api.full_log(job['uuid'], i)[0])
            for i, name in enumerate(('talk', 'breaks'))])
        self.assertIn(b'line 1\n', sections[1][3])

    def test_cancel_a_running_job(self):
        task, host = self.shared_task()
        job = self.craton.json('job', 'run', '--task', task, '--host', host,
                               '--var', 'lines=1', '--var', 'sleep=300')
        watch = self.craton.start('job', 'watch', job['uuid'], '-f', 'json')
        self.addCleanup(watch.stop)
        self.craton.wait_job(job['uuid'], ('running',), step=0)
        self.craton('job', 'cancel', job['uuid'])
        # The watcher sees the end: the job did not succeed, so exit 1.
        result = watch.wait(timeout=60)
        self.assertEqual(1, result.returncode, result)
        job = result.json()
        self.assertEqual('cancelled', job['status'])
        self.assertEqual(['cancelled'], [s['status'] for s in job['steps']])
        again = self.craton('job', 'cancel', job['uuid'], check=False)
        self.assertOneLine(again, '409', job['uuid'])

    # -------------------------------------------------- other commands
    def test_inventory_commands(self):
        craton = self.craton
        craton('region', 'create', 'inv-r', '--description', 'one',
               '--var', 'a=1', '--var', 'b=x')
        region = craton.json('region', 'set', 'inv-r', '--description',
                             'two', '--var', 'a=2', '--unset-var', 'b')
        self.assertEqual(('two', {'a': 2}),
                         (region['description'], region['variables']))
        cell = craton.json('cell', 'create', 'inv-c', '--region', 'inv-r',
                           '--var', 'c=1', '--var', 'gone=true')
        self.assertEqual({'c': 1, 'gone': True}, cell['variables'])
        self.assertEqual(['inv-c'], [c['name'] for c in craton.json(
            'cell', 'list', '--region', 'inv-r')])
        cell = craton.json('cell', 'set', 'inv-c', '--description', 'cell',
                           '--var', 'c=2', '--unset-var', 'gone')
        self.assertEqual(('cell', {'c': 2}),
                         (cell['description'], cell['variables']))
        self.assertEqual('inv-c', craton.json('cell', 'show',
                                              cell['uuid'])['name'])
        craton('host', 'create', 'inv-h1', '--region', 'inv-r', '--cell',
               'inv-c', '--ip-address', '127.0.0.31', '--label', 'a',
               '--label', 'b', '--var', 'x=1')
        craton('host', 'create', 'inv-h2', '--region', 'inv-r')

        def names(*args):
            return sorted(h['name'] for h in craton.json('host', 'list',
                                                         *args))
        self.assertEqual(['inv-h1'], names('--region', 'inv-r', '--cell',
                                           'inv-c'))
        self.assertEqual(['inv-h1'], names('--label', 'a', '--label', 'b'))
        self.assertEqual(['inv-h2'], names('--name', 'inv-h2'))
        h2 = craton.json('host', 'set', 'inv-h2', '--ip-address',
                         '127.0.0.32', '--cell', 'inv-c', '--label', 'c',
                         '--var', 'y=[1, 2]')
        self.assertEqual(('127.0.0.32', ['c'], {'y': [1, 2]}), (
            h2['ip_address'], h2['labels'], h2['variables']))
        host = craton.json('host', 'set', 'inv-h1', '--unset-label', 'a',
                           '--unset-var', 'x')
        self.assertEqual((['b'], {}), (host['labels'], host['variables']))
        self.assertEqual({'a': 2, 'c': 2}, craton.json(
            'host', 'show', 'inv-h1', '--resolved')['variables'])
        self.assertEqual(['inv-h1', 'inv-h2'],
                         names('--region', 'inv-r', '--cell', 'inv-c'))
        # Names and UUIDs alike.
        craton('host', 'delete', 'inv-h1', h2['uuid'])
        self.assertEqual([], names('--region', 'inv-r'))
        craton('cell', 'delete', 'inv-c')
        craton('region', 'create', 'inv-r2')
        craton('region', 'delete', 'inv-r', 'inv-r2')
        left = [r['name'] for r in craton.json('region', 'list')]
        self.assertNotIn('inv-r', left)
        self.assertNotIn('inv-r2', left)

    def test_task_commands(self):
        craton = self.craton
        # A local task: a directory on the conductor's machine.
        path = deployment.task_dir(self.root, 'local-%s' % uuid.uuid4().hex,
                                   jobtask.SCRIPT)
        task = craton.json('task', 'create', 'loc', '--command', COMMAND,
                           '--local-path', path, '--timeout', '600',
                           '--description', 'local', '--wait')
        self.assertEqual(({'type': 'local', 'path': path}, 600, 'ready'), (
            {k: task['source'].get(k) for k in ('type', 'path')},
            task['timeout'], task['status']))
        self.assertIn('loc', [t['name'] for t in craton.json(
            'task', 'list', '--status', 'ready', '--approval', 'pending')])
        task = craton.json('task', 'set', 'loc', '--description', 'changed',
                           '--timeout', '900', '--command',
                           "python3 /craton/task.py 'two words'")
        self.assertEqual(
            ('changed', 900, ['python3', '/craton/task.py', 'two words']),
            (task['description'], task['timeout'], task['command']))
        task = craton.json('task', 'reject', 'loc', '--reason', 'not today')
        self.assertEqual('rejected', task['approval'])
        self.assertIn('loc', [t['name'] for t in craton.json(
            'task', 'list', '--approval', 'rejected')])
        self.assertEqual('approved',
                         craton.json('task', 'approve', 'loc')['approval'])
        task = craton.json('task', 'set', 'loc', '--visibility', 'shared',
                           '--shared-role', 'ops', '--shared-role', 'audit')
        self.assertEqual(('shared', ['audit', 'ops']),
                         (task['visibility'], sorted(task['shared_roles'])))
        self.assertIn('loc', [t['name'] for t in craton.json(
            'task', 'list', '--visibility', 'shared')])

        # An uploaded task, sent again from a changed directory: a new
        # image, so approval is asked for again.
        first = craton.json('task', 'create', 'up', '--command', COMMAND,
                            '--from-dir', self.task_dir('up-1'), '--wait')
        craton('task', 'approve', 'up')
        changed = self.task_dir('up-2', jobtask.SCRIPT + '# changed\n')
        task = craton.json('task', 'rebuild', 'up', '--from-dir', changed,
                           '--wait')
        self.assertEqual('ready', task['status'])
        self.assertNotEqual(first['image_digest'], task['image_digest'])
        self.assertEqual('pending', task['approval'])
        task = craton.json('task', 'rebuild', first['uuid'], '--wait')
        self.assertEqual('ready', task['status'])

        # A build that fails: --wait exits 1 and prints the task, whose
        # status_reason says why.
        broken = os.path.join(self.tmp, 'broken')
        os.makedirs(broken)
        with open(os.path.join(broken, 'Dockerfile'), 'w') as f:
            f.write('FROM craton/python3:bookworm\nRUN exit 7\n')
        made = craton('task', 'create', 'broken', '--command', COMMAND,
                      '--from-dir', broken, '--wait', '-f', 'json',
                      check=False)
        self.assertEqual(1, made.returncode, made)
        task = made.json()
        self.assertEqual('error', task['status'])
        self.assertTrue(task['status_reason'])
        self.assertIn('error', made.stderr)

        craton('task', 'delete', 'loc', first['uuid'], 'broken')
        left = [t['name'] for t in craton.json('task', 'list')]
        self.assertNotIn('loc', left)
        self.assertNotIn('up', left)
        self.assertNotIn('broken', left)

    def test_workflow_commands(self):
        task, host = self.shared_task()
        craton = self.craton
        wf = craton.json('workflow', 'create', 'wf-steps', '--step', task,
                         '--step', '%s=again' % task, '--description', 'two',
                         '--var', 'a=1')
        self.assertEqual(([task, 'again'], {'a': 1}, 'two'), (
            [s['name'] for s in wf['steps']], wf['variables'],
            wf['description']))
        path = os.path.join(self.tmp, 'wf.json')
        with open(path, 'w') as f:
            json.dump({'name': 'other', 'description': 'from the file',
                       'variables': {'a': 1, 'b': 1},
                       'steps': [{'task': task}]}, f)
        wf = craton.json('workflow', 'create', 'wf-file', '--file', path,
                         '--description', 'from the command line',
                         '--var', 'b=2', '--var', 'c=3')
        self.assertEqual(('wf-file', 'from the command line',
                          {'a': 1, 'b': 2, 'c': 3}),
                         (wf['name'], wf['description'], wf['variables']))
        path = os.path.join(self.tmp, 'wf.yaml')
        with open(path, 'w') as f:
            f.write('name: wf-file\nsteps:\n  - task: %s\n    name: one\n'
                    '  - task: %s\n    name: two\n' % (task, task))
        wf = craton.json('workflow', 'set', 'wf-file', '--file', path)
        self.assertEqual(['one', 'two'], [s['name'] for s in wf['steps']])
        shown = yaml.safe_load(craton('workflow', 'show', 'wf-file', '-f',
                                      'yaml').stdout)
        self.assertEqual(['one', 'two'], [s['name'] for s in shown['steps']])
        self.assertTrue({'wf-steps', 'wf-file'} <= {
            w['name'] for w in craton.json('workflow', 'list')})
        job = craton.json('job', 'run', '--workflow', 'wf-steps', '--host',
                          host, '--wait')
        self.assertEqual('succeeded', job['status'])
        self.assertIn(job['uuid'], [j['uuid'] for j in craton.json(
            'job', 'list', '--workflow', 'wf-steps')])
        job = craton.json('job', 'run', '--task', task, '--host', host,
                          '--wait')
        self.assertIn(job['uuid'], [j['uuid'] for j in craton.json(
            'job', 'list', '--task', task)])
        craton('workflow', 'delete', 'wf-steps', 'wf-file')
        left = [w['name'] for w in craton.json('workflow', 'list')]
        self.assertNotIn('wf-steps', left)
        self.assertNotIn('wf-file', left)

    def test_output_formats(self):
        craton = self.craton
        region = craton.json('region', 'create', 'fmt-r', '--var',
                             'nested={"a": [1, {"b": null}]}')
        self.assertEqual({'nested': {'a': [1, {'b': None}]}},
                         region['variables'])
        listed = craton.json('region', 'list')
        self.assertTrue(all({'uuid', 'name'} <= set(r) for r in listed))
        self.assertIn('fmt-r', craton('region', 'list', '-f', 'value', '-c',
                                      'name').text.splitlines())
        rows = list(csv.DictReader(io.StringIO(craton(
            'region', 'list', '-f', 'csv', '-c', 'name', '-c', 'uuid').text)))
        self.assertEqual({'name', 'uuid'}, set(rows[0]))
        self.assertIn({'name': 'fmt-r', 'uuid': region['uuid']}, rows)
        shown = yaml.safe_load(craton('region', 'show', 'fmt-r', '-f',
                                      'yaml').stdout)
        self.assertEqual(region['variables'], shown['variables'])
        self.assertEqual('fmt-r\n', craton('region', 'show', region['uuid'],
                                           '-f', 'value', '-c', 'name').text)
        self.assertEqual({'variables': region['variables']}, craton.json(
            'region', 'show', 'fmt-r', '-c', 'variables'))
        table = craton('region', 'show', 'fmt-r').text
        self.assertIn('fmt-r', table)
        self.assertIn('variables', table)

    def test_help_lists_every_command(self):
        result = cli.CLI().run('--help')
        for command in COMMANDS:
            self.assertIn('craton ' + command, result.text)

    def test_connection_options_and_identity(self):
        # Options instead of variables; no project given: the service's
        # default project, which sees nothing of project-a.
        opts = cli.CLI(global_args=['--os-auth-type', 'none',
                                    '--os-craton-url', self.url])
        self.craton('region', 'create', 'mine')
        region = opts.json('region', 'create', 'default-project-region')
        self.assertEqual('default', region['project_id'])
        self.assertNotIn('mine', [r['name'] for r in opts.json('region',
                                                               'list')])
        other = cli.CLI.noauth(self.url, project='project-b', user='bee',
                               roles='reader')
        self.assertOneLine(other('region', 'show', 'mine', check=False),
                           'mine')
        # A reader may list but not create.
        self.assertEqual([], other.json('region', 'list'))
        self.assertOneLine(other('region', 'create', 'nope', check=False),
                           '403')

    # ------------------------------------------------ secrets and events
    def write_bytes(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def assertNoValue(self, result, value):
        """``value`` (text) is nowhere in what the command printed."""
        for text in (result.text, result.stderr):
            self.assertNotIn(value, text, result)
            self.assertNotIn(json.dumps(value)[1:-1], text, result)

    def test_secret_commands(self):
        craton = self.craton
        tag = uuid.uuid4().hex[:8]
        # From a file: its bytes as they are, the final newline included.
        value = 'cli-file-value-%s \u00e9\n' % tag
        path = self.write_bytes('value', value.encode('utf-8'))
        made = craton('secret', 'create', 'cli-file', '--value-file', path,
                      '--description', 'from a file', '-f', 'json')
        self.assertNoValue(made, value.strip())
        secret = made.json()
        self.assertEqual(SECRET_FIELDS, SECRET_FIELDS & set(secret))
        self.assertNotIn('value', secret)
        self.assertEqual(('cli-file', 'from a file', 'project-a', 'user-a'),
                         (secret['name'], secret['description'],
                          secret['project_id'], secret['user_id']))
        # From stdin.
        piped = 'cli-stdin-value-%s' % tag
        made = craton('secret', 'create', 'cli-stdin', '--value-stdin',
                      '-f', 'json', stdin=piped.encode('utf-8'))
        self.assertNoValue(made, piped)
        self.assertNotIn('value', made.json())

        # list and show: metadata only, in every format.
        for args in (('secret', 'list'), ('secret', 'list', '--long'),
                     ('secret', 'show', 'cli-file'),
                     ('secret', 'show', secret['uuid'])):
            for fmt in ('table', 'json', 'yaml', 'value'):
                result = craton(*args, '-f', fmt)
                self.assertNoValue(result, value.strip())
                self.assertNoValue(result, piped)
        listed = craton.json('secret', 'list', '--long')
        self.assertTrue({'cli-file', 'cli-stdin'} <= {
            s['name'] for s in listed}, listed)
        for item in listed:
            self.assertNotIn('value', item)
            self.assertEqual(SECRET_FIELDS, SECRET_FIELDS & set(item))
        shown = craton.json('secret', 'show', secret['uuid'])
        self.assertEqual(('cli-file', 'from a file'),
                         (shown['name'], shown['description']))
        rows = csv.DictReader(io.StringIO(craton('secret', 'list', '-f',
                                                 'csv').text))
        self.assertIn({'uuid': secret['uuid'], 'name': 'cli-file',
                       'description': 'from a file'}, list(rows))

        # --debug shows the requests, never the value.
        debug_value = 'cli-debug-value-%s' % tag
        result = craton('--debug', 'secret', 'create', 'cli-debug',
                        '--value-file', self.write_bytes(
                            'debug', debug_value.encode()))
        self.assertNoValue(result, debug_value)
        self.assertIn('/v1/secrets', result.stderr)
        self.assertIn('"value": "***"', result.stderr)
        result = craton('--debug', 'secret', 'set', 'cli-debug',
                        '--value-stdin', stdin=(debug_value + '2').encode())
        self.assertNoValue(result, debug_value)

        # Rotation: a new value from a file or stdin; metadata printed.
        rotated = craton('secret', 'set', 'cli-file', '--value-file',
                         self.write_bytes('rotated', b'rotated-' +
                                          tag.encode()), '-f', 'json')
        self.assertNoValue(rotated, 'rotated-' + tag)
        self.assertEqual(secret['uuid'], rotated.json()['uuid'])
        self.assertNotIn('value', rotated.json())
        craton('secret', 'set', secret['uuid'], '--value-stdin',
               stdin=b'rotated again')

        # Refusals: one line each, nothing stored.
        self.assertOneLine(craton('secret', 'create', 'cli-file',
                                  '--value-stdin', stdin=b'another',
                                  check=False), '409', 'cli-file')
        bad = craton('secret', 'create', 'cli-latin1', '--value-file',
                     self.write_bytes('latin1', b'caf\xe9-value'),
                     check=False)
        self.assertOneLine(bad, 'not UTF-8')
        self.assertOneLine(craton('secret', 'create', 'cli-short',
                                  '--value-stdin', stdin=b'abc',
                                  check=False), '400')
        names = {s['name'] for s in craton.json('secret', 'list')}
        self.assertFalse({'cli-latin1', 'cli-short'} & names, names)
        self.assertOneLine(craton('secret', 'show', 'cli-nope',
                                  check=False), 'cli-nope', '404')
        # Another project sees none of them.
        other = cli.CLI.noauth(self.url, project='project-b', user='bee')
        self.assertOneLine(other('secret', 'show', 'cli-file', check=False),
                           'cli-file', '404')
        self.assertNotIn('cli-file', [s['name'] for s in other.json(
            'secret', 'list')])

        craton('secret', 'delete', 'cli-file', 'cli-stdin', 'cli-debug')
        names = {s['name'] for s in craton.json('secret', 'list')}
        self.assertFalse({'cli-file', 'cli-stdin', 'cli-debug'} & names)
        self.assertOneLine(craton('secret', 'show', secret['uuid'],
                                  check=False), '404')

    def test_secret_reaches_a_step_and_is_masked_in_its_log(self):
        craton = self.craton
        _, host = self.shared_task()
        tag = uuid.uuid4().hex[:8]
        value = 'step-secret-%s' % tag
        secret = craton.json('secret', 'create', 'cli-step-%s' % tag,
                             '--value-stdin', stdin=value.encode())
        name = secret['name']
        craton('task', 'create', 'secret-reader', '--command', COMMAND,
               '--from-dir', self.task_dir('secret-reader', SECRET_READER),
               '--wait')
        craton('task', 'approve', 'secret-reader')

        # A workflow naming the secret: shown back by workflow show.
        wf = craton.json('workflow', 'create', 'wf-secret', '--step',
                         'secret-reader', '--secret', name)
        self.assertEqual([name], wf['secrets'])
        self.assertEqual([name], craton.json('workflow', 'show',
                                             'wf-secret')['secrets'])
        self.assertIn(name, craton('workflow', 'show', 'wf-secret').text)
        run = craton('job', 'run', '--workflow', 'wf-secret', '--host', host,
                     '--wait', '-f', 'json')
        job = run.json()
        self.assertEqual('succeeded', job['status'], run)
        self.assertNoValue(run, value)
        log = craton('job', 'logs', job['uuid'], '0').stdout
        self.assertNotIn(value.encode(), log)
        self.assertIn(('secret %s: ***\n' % name).encode(), log)
        result = json.loads(jobtask.result_line(log).split('::', 2)[2])
        self.assertEqual({name: '/run/craton/secrets/' + name},
                         result['paths'])

        # A single-task job naming it with --secret.
        run = craton('job', 'run', '--task', 'secret-reader', '--host', host,
                     '--secret', name, '--wait', '-f', 'json')
        job = run.json()
        self.assertEqual('succeeded', job['status'], run)
        # API.md does not list secrets among a job's fields: checked when
        # the API gives them.
        if 'secrets' in job:
            self.assertEqual([name], job['secrets'])
        log = craton('job', 'logs', job['uuid']).stdout
        self.assertNotIn(value.encode(), log)
        self.assertIn(('secret %s: ***\n' % name).encode(), log)

        # The step's reading of it is in the audit trail.
        reads = craton.json('event', 'list', '--resource', secret['uuid'],
                            '--action', 'read')
        self.assertIn(job['uuid'], [(e.get('detail') or {}).get('job')
                                    for e in reads], reads)
        self.assertEqual({'secret'}, {e['resource_type'] for e in reads})

        # An unknown secret is refused at creation and submission.
        self.assertOneLine(craton('workflow', 'create', 'wf-nope', '--step',
                                  'secret-reader', '--secret', 'cli-nope',
                                  check=False), '400', 'cli-nope')
        self.assertOneLine(craton('job', 'run', '--task', 'secret-reader',
                                  '--host', host, '--secret', 'cli-nope',
                                  check=False), '400', 'cli-nope')
        # In use by a workflow: not deleted.
        self.assertOneLine(craton('secret', 'delete', name, check=False),
                           '409', 'wf-secret')
        craton('workflow', 'delete', 'wf-secret')
        craton('secret', 'delete', name)

    def test_event_list(self):
        craton = self.craton
        tag = uuid.uuid4().hex[:8]
        secret = craton.json('secret', 'create', 'cli-audit-%s' % tag,
                             '--value-stdin', stdin=b'audit-value-' +
                             tag.encode())
        craton('secret', 'set', secret['uuid'], '--value-stdin',
               stdin=b'audit-value-2-' + tag.encode())
        events = craton.json('event', 'list', '--resource', secret['uuid'])
        self.assertEqual(['create', 'update'], [e['action'] for e in events])
        first = events[0]
        self.assertEqual(
            ('secret', secret['uuid'], 'success', 'user-a', 'project-a'),
            (first['resource_type'], first['resource_uuid'],
             first['outcome'], first['user_id'], first['project_id']))
        self.assertTrue(first['request_id'].startswith('req-'), first)
        for event in events:
            self.assertNotIn('audit-value', json.dumps(event))
        # Filters.
        self.assertEqual([first['uuid']], [e['uuid'] for e in craton.json(
            'event', 'list', '--resource', secret['uuid'], '--action',
            'create', '--resource-type', 'secret', '--user', 'user-a')])
        self.assertEqual([], craton.json('event', 'list', '--resource',
                                         secret['uuid'], '--user',
                                         'someone-else'))
        created = craton.json('event', 'list', '--resource-type', 'secret',
                              '--action', 'create')
        self.assertIn(first['uuid'], [e['uuid'] for e in created])
        self.assertEqual({('secret', 'create')}, {
            (e['resource_type'], e['action']) for e in created})
        # --limit and --marker walk the list.
        self.assertEqual([first['uuid']], [e['uuid'] for e in craton.json(
            'event', 'list', '--resource', secret['uuid'], '--limit', '1')])
        self.assertEqual([events[1]['uuid']], [e['uuid'] for e in craton.json(
            'event', 'list', '--resource', secret['uuid'], '--marker',
            first['uuid'])])
        # Columns: the default six; --long adds the others.
        table = list(csv.reader(io.StringIO(craton(
            'event', 'list', '--resource', secret['uuid'], '-f',
            'csv').text)))
        self.assertEqual(EVENT_COLUMNS, table[0])
        self.assertEqual(['create', 'secret', secret['uuid'], 'success',
                          'user-a'], table[1][1:])
        wide = list(csv.reader(io.StringIO(craton(
            'event', 'list', '--resource', secret['uuid'], '--long', '-f',
            'csv').text)))
        self.assertTrue(set(EVENT_COLUMNS) | {'project_id', 'request_id',
                                              'detail'} <= set(wide[0]),
                        wide[0])
        craton('secret', 'delete', secret['uuid'])
        self.assertEqual(['create', 'update', 'delete'], [
            e['action'] for e in craton.json('event', 'list', '--resource',
                                             secret['uuid'])])

        # A refused write is recorded, as a failure.
        reader = 'reader-%s' % tag
        ro = cli.CLI.noauth(self.url, user=reader, roles='reader')
        self.assertOneLine(ro('secret', 'create', 'cli-refused',
                              '--value-stdin', stdin=b'refused',
                              check=False), '403')
        refused = craton.json('event', 'list', '--user', reader)
        self.assertEqual([('create', 'secret', 'failure')], [
            (e['action'], e['resource_type'], e['outcome'])
            for e in refused])
        # A reader lists the project's events, and no other project's.
        self.assertEqual([e['uuid'] for e in refused], [
            e['uuid'] for e in ro.json('event', 'list', '--user', reader)])
        self.assertOneLine(ro('event', 'list', '--all-projects',
                              check=False), '403')
        # Another project's events: only with --all-projects (admins).
        bee = 'bee-%s' % tag
        other = cli.CLI.noauth(self.url, project='project-b', user=bee)
        region = other.json('region', 'create', 'events-b-%s' % tag)
        self.assertEqual([], craton.json('event', 'list', '--resource',
                                         region['uuid']))
        seen = craton.json('event', 'list', '--resource', region['uuid'],
                           '--all-projects')
        self.assertEqual([('create', 'region', 'project-b', bee)], [
            (e['action'], e['resource_type'], e['project_id'], e['user_id'])
            for e in seen])

    # ------------------------------------------------------ error paths
    def test_unknown_name_is_one_line_naming_it(self):
        for args in (('region', 'show', 'no-such-region'),
                     ('host', 'show', 'no-such-host'),
                     ('host', 'set', 'no-such-host', '--label', 'x'),
                     ('task', 'approve', 'no-such-task'),
                     ('workflow', 'delete', 'no-such-workflow'),
                     ('job', 'show', 'no-such-job'),
                     ('job', 'logs', 'no-such-job')):
            result = self.craton(*args, check=False)
            self.assertOneLine(result, args[2])

    def test_unapproved_task_is_refused_with_the_409_detail(self):
        _, host = self.shared_task()
        self.craton('task', 'create', 'not-approved', '--command', COMMAND,
                    '--from-dir', self.task_dir('not-approved'), '--wait')
        result = self.craton('job', 'run', '--task', 'not-approved',
                             '--host', host, '--wait', check=False)
        line = self.assertOneLine(result, "task 'not-approved' is not "
                                  'approved', '409', 'req-')
        # The API's detail names the command that fixes it.
        self.assertIn('openstack craton task approve not-approved', line)
        self.assertEqual(b'', result.stdout)

    def test_service_down_is_one_line(self):
        url = 'http://127.0.0.1:%d' % deployment.free_port()
        result = cli.CLI.noauth(url)('region', 'list', check=False)
        self.assertOneLine(result, url.split('//')[1])


@dbfixtures.requires_functional
class KeystoneCLITest(CLITestBase):

    KEYSTONE = test_keystone.KEYSTONE

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.deploy_with(extra=deployment.keystone_config(cls.KEYSTONE))

    def user(self, name, project, password='secret', **kwargs):
        """The CLI as a Keystone user."""
        kwargs.setdefault('craton_url', self.url)
        return cli.CLI.keystone(self.KEYSTONE, name, password, project,
                                **kwargs)

    def test_core_flow_with_keystone_tokens(self):
        alice = self.user('alice-member', 'proj-a')
        admin = self.user('admin', 'admin', password='craton-admin')
        _, proj_a = test_keystone.token('alice-member', 'proj-a')
        region = alice.json('region', 'create', 'ks-region', '--var',
                            'site=ks')
        self.assertEqual(proj_a, region['project_id'])
        alice('host', 'create', 'ks-01', '--region', 'ks-region',
              '--ip-address', '127.0.0.51', '--label', 'ks')
        task = alice.json('task', 'create', 'ks-task', '--command', COMMAND,
                          '--from-dir', self.task_dir('ks-task'), '--wait')
        self.assertEqual(('ready', 'pending'),
                         (task['status'], task['approval']))
        # A member may not approve; an admin of another project approves
        # it by UUID.
        self.assertOneLine(alice('task', 'approve', 'ks-task', check=False),
                           '403')
        self.assertEqual('approved', admin.json(
            'task', 'approve', task['uuid'])['approval'])
        alice('workflow', 'create', 'ks-flow', '--step', 'ks-task=one',
              '--step', 'ks-task=two')
        run = alice('job', 'run', '--workflow', 'ks-flow', '--label', 'ks',
                    '--var', 'lines=1', '--wait', '-f', 'json')
        job = run.json()
        self.assertEqual(('succeeded', proj_a),
                         (job['status'], job['project_id']))
        logs = alice('job', 'logs', job['uuid'], 'two').stdout
        self.assertTrue(logs.startswith(b'line 0\n::craton-result::'), logs)
        sections, _ = log_sections(alice('job', 'logs', job['uuid']).stdout)
        self.assertEqual([(0, 'one', 'succeeded'), (1, 'two', 'succeeded')],
                         [s[:3] for s in sections])

    def test_roles_and_projects_come_from_the_token(self):
        alice = self.user('alice-member', 'proj-a')
        alice('region', 'create', 'ks-private')
        bob = self.user('bob-reader', 'proj-a')
        self.assertIn('ks-private', [r['name'] for r in bob.json('region',
                                                                 'list')])
        self.assertOneLine(bob('region', 'create', 'ks-nope', check=False),
                           '403')
        carol = self.user('carol-member-b', 'proj-b')
        self.assertOneLine(carol('region', 'show', 'ks-private',
                                 check=False), 'ks-private')
        self.assertNotIn('ks-private', [
            r['name'] for r in carol.json('region', 'list')])

    def test_a_token_instead_of_a_password(self):
        tok, project_id = test_keystone.token('alice-member', 'proj-a')
        with_token = cli.CLI({'OS_AUTH_URL': self.KEYSTONE,
                              'OS_AUTH_TYPE': 'token', 'OS_TOKEN': tok,
                              'OS_PROJECT_ID': project_id,
                              'OS_IDENTITY_API_VERSION': '3',
                              'OS_CRATON_URL': self.url})
        region = with_token.json('region', 'create', 'ks-by-token')
        self.assertEqual(project_id, region['project_id'])

    def test_wrong_password_is_one_line(self):
        wrong = self.user('alice-member', 'proj-a', password='not-it')
        self.assertOneLine(wrong('region', 'list', check=False), '401')

    def test_craton_found_in_the_catalog(self):
        # An endpoint of type craton-workflow in a region of its own, so
        # that no other catalog entry can answer instead.
        tok, _ = test_keystone.token('admin', 'admin', 'craton-admin')
        region = 'craton-cli-%s' % uuid.uuid4().hex[:8]

        def keystone(method, path, **body):
            resp = requests.request(method, self.KEYSTONE + path,
                                    headers={'X-Auth-Token': tok},
                                    json=body or None, timeout=30)
            resp.raise_for_status()
            return resp.json() if resp.content else None
        keystone('POST', '/regions', region={'id': region})
        self.addCleanup(keystone, 'DELETE', '/regions/' + region)
        service = keystone('POST', '/services', service={
            'type': 'craton-workflow', 'name': region})['service']
        self.addCleanup(keystone, 'DELETE', '/services/' + service['id'])
        endpoint = keystone('POST', '/endpoints', endpoint={
            'service_id': service['id'], 'interface': 'public',
            'region_id': region, 'url': self.url})['endpoint']
        self.addCleanup(keystone, 'DELETE', '/endpoints/' + endpoint['id'])
        alice = self.user('alice-member', 'proj-a', craton_url=None,
                          region=region)
        alice('region', 'create', 'from-catalog')
        self.assertIn('from-catalog', [
            r['name'] for r in alice.json('region', 'list')])
