# SPDX-License-Identifier: Apache-2.0
"""Hostile steps through the whole service: each is contained by the
sandbox, ends only its own step with a clear reason, and leaves craton-all
and the engine healthy for the next job (also while it runs)."""

import textwrap

from oslo_utils import timeutils
import requests
import testtools

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment
from craton.tests.functional import jobtask
from craton.tests.functional import swarmenv

# [sandbox] max_log_bytes of these tests: small, so a flood is cut early.
# The engine keeps about 48 times this of a step's output (the size of its
# log file, output.log_options): an early_result step writes more than that
# after its result line.
MAX_LOG = 2 * 1024 * 1024
ENGINE_KEEPS = 48 * MAX_LOG + 1024 * 1024
# What a flood step writes: 8 KiB lines, 2 GiB in all, then its result.
FLOOD_LINE = b'x' * 8191 + b'\n'
FLOOD_BYTES = 2 * 1024 ** 3
# The JSON string in the result line a big_result step writes.
BIG_RESULT_BYTES = 50 * 1024 * 1024

HOSTILE = textwrap.dedent('''\
    import json, os, signal, socket, sys, time
    variables = json.loads(sys.argv[-1])['variables']
    attack = variables['attack']
    if attack == 'write_root':
        open('/craton-was-here', 'w').write('x')
    elif attack == 'fork_bomb':
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                children += 1
        except OSError as exc:
            print('fork refused after %d children: %s' % (children, exc))
            sys.exit(3)
    elif attack == 'memory_hog':
        hog = []
        while True:
            hog.append(bytearray(64 * 1024 * 1024))
    elif attack == 'engine_socket':
        for path in ('/var/run/docker.sock', '/run/docker.sock',
                     '/run/craton/docker.sock'):
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(path)
            except OSError as exc:
                print('%s: %s' % (path, exc))
            else:
                print('reached the engine at %s' % path)
                sys.exit(0)
        sys.exit(4)
    elif attack == 'flood':
        line = b'x' * 8191 + b'\\n'
        block = line * 128
        out = sys.stdout.buffer
        for _ in range(variables['bytes'] // len(block)):
            out.write(block)
        out.write(b'::craton-result:: {"flood": "done"}\\n')
        out.flush()
        sys.exit(0)
    elif attack == 'early_result':
        out = sys.stdout.buffer
        out.write(b'::craton-result:: {"early": true}\\n')
        block = (b'y' * 8191 + b'\\n') * 128
        for _ in range(variables['bytes'] // len(block)):
            out.write(block)
        out.flush()
        sys.exit(0)
    elif attack == 'big_result':
        out = sys.stdout.buffer
        out.write(b'::craton-result:: {"big": "')
        block = b'x' * (1024 * 1024)
        for _ in range(variables['bytes'] // len(block)):
            out.write(block)
        out.write(b'"}\\n')
        out.flush()
        sys.exit(0)
    elif attack == 'ignore_sigterm':
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('ignoring SIGTERM', flush=True)
        time.sleep(600)
        sys.exit(0)
    print('attack %s was not stopped' % attack)
''')


@dbfixtures.requires_functional
class HostileStepsTest(testtools.TestCase):

    @classmethod
    def deployment_extra(cls):
        return {'sandbox': {'memory': '128m', 'pids_limit': '64',
                            'max_log_bytes': str(MAX_LOG)}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = deployment.source_root()
        cls.deploy = deployment.Deployment(source_roots=[cls.root],
                                           extra=cls.deployment_extra())
        cls.deploy.setUp()
        cls.api = cls.deploy.client
        cls.api.ready_task('hostile', deployment.task_dir(
            cls.root, 'hostile', HOSTILE), jobtask.COMMAND)
        jobtask.register(cls.api, cls.root)
        cls.api.add_hosts(['compute-01'])

    @classmethod
    def tearDownClass(cls):
        cls.deploy.cleanUp()
        super().tearDownClass()

    def submit(self, attack, timeout=60, **variables):
        """Submit a job of the attack's step and a normal one after it;
        returns the job's uuid.
        """
        name = 'attack-%s' % attack
        self.api.create_workflow(name, [
            {'name': attack, 'task': 'hostile', 'timeout': timeout,
             'variables': dict(variables, attack=attack)},
            {'name': 'after', 'task': 'jobtask'}])
        return self.api.submit_job({'hosts': ['compute-01']},
                                   workflow=name)['uuid']

    def assert_healthy(self):
        """The service and the engine are fine: a normal job still runs."""
        health = requests.get('http://127.0.0.1:%d/healthcheck'
                              % self.deploy.port, timeout=10)
        self.assertEqual(200, health.status_code)
        ok = self.api.submit_job({'hosts': ['compute-01']}, task='jobtask')
        self.assertEqual('succeeded',
                         self.api.wait_job(ok['uuid'])['status'])

    def attack(self, attack):
        job = self.api.wait_job(self.submit(attack), timeout=120)
        self.assertEqual('failed', job['status'], job)
        self.assertEqual(['failed', 'skipped'],
                         [s['status'] for s in job['steps']])
        self.assertNotEqual(0, job['steps'][0]['exit_code'])
        self.assert_healthy()
        log, _ = self.api.full_log(job['uuid'], 0)
        return job, log

    def test_write_to_root_fails(self):
        _, log = self.attack('write_root')
        self.assertIn(b'Read-only file system', log)

    def test_fork_bomb_is_contained(self):
        job, log = self.attack('fork_bomb')
        self.assertEqual(3, job['steps'][0]['exit_code'])
        self.assertIn(b'fork refused after', log)

    def test_memory_hog_is_killed(self):
        job, _ = self.attack('memory_hog')
        self.assertEqual(137, job['steps'][0]['exit_code'])

    def test_engine_socket_is_out_of_reach(self):
        job, log = self.attack('engine_socket')
        self.assertEqual(4, job['steps'][0]['exit_code'])
        self.assertNotIn(b'reached the engine', log)

    def test_flood_is_cut_while_others_run(self):
        uuid = self.submit('flood', timeout=300, bytes=FLOOD_BYTES)
        self.api.wait_step(uuid, 0, 'running')
        # Other jobs and the API go on while the step floods its output.
        self.assert_healthy()
        self.assertEqual('running', self.api.job(uuid)['status'])
        self.assertIn(uuid, [j['uuid'] for j in
                             self.api.get('/v1/jobs')['jobs']])
        self.assertEqual(200, self.api.request('GET', '/').status_code)
        job = self.api.wait_job(uuid, timeout=300)
        self.assertEqual('succeeded', job['status'], job)
        step = job['steps'][0]
        self.assertEqual(['succeeded', 'succeeded'],
                         [s['status'] for s in job['steps']])
        # It ran to its own end: its result came after the 2 GiB.
        self.assertEqual(0, step['exit_code'])
        self.assertEqual({'flood': 'done'}, step['result'])
        self.assertIn('log cut at %d bytes' % MAX_LOG, step['status_reason'])
        log, complete = self.api.full_log(uuid, 0)
        self.assertTrue(complete)
        cut = b'[craton] log cut at %d bytes\n' % MAX_LOG
        # The cap falls between two lines: no newline is added before the
        # cut line, and nothing past the cap is stored.
        self.assertEqual(FLOOD_LINE * (MAX_LOG // len(FLOOD_LINE)) + cut,
                         log)
        resp = self.api.request('GET', '/v1/jobs/%s/steps/0/logs' % uuid,
                                200, params={'offset': 0})
        self.assertEqual('true', resp.headers['X-Craton-Log-Truncated'])

    def test_big_result_is_ignored(self):
        job = self.api.wait_job(self.submit('big_result',
                                            bytes=BIG_RESULT_BYTES),
                                timeout=120)
        # The exit code alone decides.
        self.assertEqual('succeeded', job['status'], job)
        self.assertEqual(['succeeded', 'succeeded'],
                         [s['status'] for s in job['steps']])
        step = job['steps'][0]
        self.assertEqual(0, step['exit_code'])
        # No result is kept as {} (runner: the database's empty dict).
        self.assertEqual({}, step['result'])
        self.assertIn('result ignored: the JSON of the last '
                      '::craton-result:: line is larger than [sandbox] '
                      'max_result_bytes', step['status_reason'])
        self.assertEqual({}, job['steps'][1]['result']['results'])
        self.assert_healthy()

    def test_early_result_outlives_the_engines_bounded_log(self):
        # The result line comes first, then more output than the engine's
        # log file keeps: the result is still the step's (it was seen as
        # the output streamed).
        job = self.api.wait_job(self.submit(
            'early_result', bytes=ENGINE_KEEPS + 32 * 1024 * 1024),
            timeout=180)
        self.assertEqual('succeeded', job['status'], job)
        step = job['steps'][0]
        self.assertEqual({'early': True}, step['result'], step)
        self.assertEqual({'early_result': {'early': True}},
                         job['steps'][1]['result']['results'])
        self.assert_healthy()

    def test_sigterm_ignored_past_timeout_is_killed(self):
        timeout = 3
        job = self.api.wait_job(self.submit('ignore_sigterm',
                                            timeout=timeout), timeout=120)
        self.assertEqual('failed', job['status'], job)
        self.assertEqual(['timed_out', 'skipped'],
                         [s['status'] for s in job['steps']])
        step = job['steps'][0]
        self.assertIn('killed after %d s' % timeout, step['status_reason'])
        # Killed at once (SIGKILL), not after a grace the task ignores.
        ran = (timeutils.parse_isotime(step['finished_at']) -
               timeutils.parse_isotime(step['started_at']))
        self.assertGreaterEqual(ran.total_seconds(), timeout)
        self.assertLess(ran.total_seconds(), timeout + 15)
        log, _ = self.api.full_log(job['uuid'], 0)
        self.assertIn(b'ignoring SIGTERM', log)
        self.assert_healthy()


@swarmenv.requires_swarm
class SwarmHostileStepsTest(HostileStepsTest):
    """The same attacks on a Swarm node, through the swarm driver."""

    @classmethod
    def deployment_extra(cls):
        return swarmenv.deployment_extra(super().deployment_extra())
