# SPDX-License-Identifier: Apache-2.0
"""Hostile steps through the whole service: each is contained by the
sandbox, fails only its own step, and leaves craton-all and the engine
healthy for the next job."""

import textwrap

import requests
import testtools

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment
from craton.tests.functional import jobtask
from craton.tests.functional import swarmenv

HOSTILE = textwrap.dedent('''\
    import json, os, socket, sys, time
    attack = json.loads(sys.argv[-1])['variables']['attack']
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
    print('attack %s was not stopped' % attack)
''')


@dbfixtures.requires_functional
class HostileStepsTest(testtools.TestCase):

    @classmethod
    def deployment_extra(cls):
        return {'sandbox': {'memory': '128m', 'pids_limit': '64'}}

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

    def attack(self, attack):
        name = 'attack-%s' % attack
        self.api.create_workflow(name, [
            {'name': attack, 'task': 'hostile', 'timeout': 60,
             'variables': {'attack': attack}},
            {'name': 'after', 'task': 'jobtask'}])
        job = self.api.submit_job({'hosts': ['compute-01']}, workflow=name)
        job = self.api.wait_job(job['uuid'], timeout=120)
        self.assertEqual('failed', job['status'], job)
        self.assertEqual(['failed', 'skipped'],
                         [s['status'] for s in job['steps']])
        self.assertNotEqual(0, job['steps'][0]['exit_code'])
        # The service and the engine are fine: a normal job still runs.
        health = requests.get('http://127.0.0.1:%d/healthcheck'
                              % self.deploy.port, timeout=10)
        self.assertEqual(200, health.status_code)
        ok = self.api.submit_job({'hosts': ['compute-01']}, task='jobtask')
        self.assertEqual('succeeded',
                         self.api.wait_job(ok['uuid'])['status'])
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


@swarmenv.requires_swarm
class SwarmHostileStepsTest(HostileStepsTest):
    """The same attacks on a Swarm node, through the swarm driver."""

    @classmethod
    def deployment_extra(cls):
        return swarmenv.deployment_extra(super().deployment_extra())
