# SPDX-License-Identifier: Apache-2.0
"""Jobs end to end on the embedded default: craton-all (SQLite, in-process
RPC) as a real process, building and running real containers on the real
Docker engine, driven through the REST API.
"""

import json
import time
import uuid

import sqlalchemy as sa
import testtools

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment
from craton.tests.functional import jobtask
from craton.tests.functional import swarmenv


@dbfixtures.requires_functional
class EmbeddedJobsTest(deployment.DeployedTestCase):

    # Hosts of the large-inventory scenario: a payload of several MiB.
    LARGE_INVENTORY = 5000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.task = jobtask.register(cls.api, cls.root)
        cls.api.post('/v1/regions', {'name': 'r1',
                                     'variables': {'site': 'r1', 'a': 1}},
                     expect=201)
        cls.api.post('/v1/cells', {'name': 'c1', 'region': 'r1',
                                   'variables': {'a': 2, 'cell': 'c1'}},
                     expect=201)
        cls.api.post('/v1/hosts', {'name': 'compute-01', 'region': 'r1',
                                   'cell': 'c1', 'labels': ['compute'],
                                   'ip_address': '127.0.0.11',
                                   'variables': {'a': 3}}, expect=201)
        cls.api.post('/v1/hosts', {'name': 'compute-02', 'region': 'r1',
                                   'labels': ['compute', 'gpu'],
                                   'ip_address': '127.0.0.12'}, expect=201)

    def workflow(self, steps, variables=None):
        name = 'wf-%s' % uuid.uuid4().hex[:8]
        return self.api.create_workflow(name, [
            dict({'task': 'jobtask'}, **st) for st in steps],
            variables=variables)

    def run_job(self, steps, variables=None, wf_variables=None,
                inventory=None, timeout=180):
        wf = self.workflow(steps, wf_variables)
        job = self.api.submit_job(inventory or {'labels': ['compute']},
                                  workflow=wf['name'], variables=variables)
        self.assertEqual('pending', job['status'])
        self.assertEqual(['pending'] * len(steps),
                         [s['status'] for s in job['steps']])
        return self.api.wait_job(job['uuid'], timeout=timeout)

    def result(self, job, index):
        log, complete = self.api.full_log(job['uuid'], index)
        self.assertTrue(complete)
        return json.loads(jobtask.result_line(log).split('::', 2)[2])

    def test_steps_run_in_order_and_pass_results(self):
        job = self.run_job(
            [{'name': 'first', 'variables': {'lines': 2}},
             {'name': 'second', 'variables': {'stderr': 'to stderr'}},
             {'name': 'third'}],
            wf_variables={'level': 'workflow', 'ticket': 'wf'},
            variables={'ticket': 'OPS-42'})
        self.assertEqual('succeeded', job['status'], job)
        steps = job['steps']
        self.assertEqual(['succeeded'] * 3, [s['status'] for s in steps])
        self.assertEqual([0, 0, 0], [s['exit_code'] for s in steps])
        for step in steps:
            self.assertTrue(step['node'])
            self.assertEqual(self.task['image_digest'],
                             step['image_digest'])
            self.assertLessEqual(step['started_at'], step['finished_at'])
        self.assertLessEqual(steps[0]['finished_at'], steps[1]['started_at'])
        third = self.result(job, 2)
        self.assertEqual(['first', 'second'], third['results_seen'])
        self.assertEqual('first', third['results']['first']['step'])
        self.assertEqual({'level': 'workflow', 'ticket': 'OPS-42'},
                         third['variables'])
        self.assertEqual('inline', third['form'])
        self.assertTrue(third['file_matches'])
        self.assertEqual(job['uuid'], third['job']['uuid'])
        self.assertEqual(2, third['hosts'])
        host = third['first_host']
        self.assertEqual('compute-01', host['name'])
        self.assertEqual('127.0.0.11', host['ip_address'])
        # region -> cell -> host, the later level winning
        self.assertEqual({'site': 'r1', 'a': 3, 'cell': 'c1'},
                         host['variables'])
        log, _ = self.api.full_log(job['uuid'], 0)
        self.assertTrue(log.startswith(b'line 0\nline 1\n::craton-result::'))
        log, _ = self.api.full_log(job['uuid'], 1)
        self.assertIn(b'to stderr\n', log)

    def test_output_of_any_shape_is_stored_exactly(self):
        # A 60,001-byte line of two-byte characters, bytes that are not
        # UTF-8, a large result followed by 120 lines, and a last line
        # without a newline: stored byte for byte, complete, and the
        # result reaches the next step intact. Repeated: losing the tail
        # used to happen in about half the runs.
        for _ in range(3):
            job = self.run_job([{'name': 'first',
                                 'variables': {'shapes': True}},
                                {'name': 'second'}])
            self.assertEqual('succeeded', job['status'], job)
            log, complete = self.api.full_log(job['uuid'], 0)
            self.assertTrue(complete)
            self.assertEqual((len(jobtask.SHAPES_LOG), True),
                             (len(log), log == jobtask.SHAPES_LOG))
            self.assertIsNone(job['steps'][0]['status_reason'])
            second = self.result(job, 1)
            self.assertEqual(['first'], second['results_seen'])
            self.assertTrue(second['results']['first'] ==
                            jobtask.SHAPES_RESULT)

    def test_failed_step_skips_the_rest(self):
        job = self.run_job([{'name': 'ok'},
                            {'name': 'breaks', 'variables': {'exit_code': 3}},
                            {'name': 'never'}])
        self.assertEqual('failed', job['status'])
        self.assertIn('breaks', job['status_reason'])
        self.assertEqual(['succeeded', 'failed', 'skipped'],
                         [s['status'] for s in job['steps']])
        self.assertEqual(3, job['steps'][1]['exit_code'])
        self.assertIsNone(job['steps'][2]['started_at'])
        _, complete = self.api.full_log(job['uuid'], 2)
        self.assertTrue(complete)

    def test_timeout_kills_the_step(self):
        start = time.monotonic()
        job = self.run_job([{'name': 'slow', 'timeout': 2,
                             'variables': {'sleep': 120}},
                            {'name': 'after'}])
        self.assertLess(time.monotonic() - start, 60)
        self.assertEqual('failed', job['status'])
        self.assertEqual(['timed_out', 'skipped'],
                         [s['status'] for s in job['steps']])
        self.assertNoContainers(job['uuid'])

    def test_cancel_kills_the_running_container(self):
        wf = self.workflow([{'name': 'long', 'variables': {
            'lines': 1, 'sleep': 300}}, {'name': 'after'}])
        job = self.api.submit_job({'hosts': ['compute-01']},
                                  workflow=wf['uuid'])
        self.api.wait_step(job['uuid'], 0, 'running')
        asked = time.monotonic()
        self.api.post('/v1/jobs/%s/cancel' % job['uuid'], expect=202)
        job = self.api.wait_job(job['uuid'], timeout=60)
        self.assertLess(time.monotonic() - asked, 20)
        self.assertEqual('cancelled', job['status'])
        self.assertEqual(['cancelled', 'skipped'],
                         [s['status'] for s in job['steps']])
        self.assertNoContainers(job['uuid'])
        resp = self.api.request('POST', '/v1/jobs/%s/cancel' % job['uuid'])
        self.assertEqual(409, resp.status_code)

    def test_running_step_log_is_readable(self):
        wf = self.workflow([{'name': 'talks', 'variables': {
            'lines': 1, 'sleep': 8}}])
        job = self.api.submit_job({'hosts': ['compute-02']},
                                  workflow=wf['name'])
        self.api.wait_step(job['uuid'], 0, 'running')
        deadline = time.monotonic() + 6
        data = b''
        while time.monotonic() < deadline and b'line 0' not in data:
            data, offset, complete = self.api.logs(job['uuid'], 0)
            time.sleep(0.2)
        self.assertEqual(b'line 0\n', data)
        self.assertFalse(complete)
        self.assertEqual('running', self.api.job(job['uuid'])['steps'][0][
            'status'])
        job = self.api.wait_job(job['uuid'])
        rest, _, complete = self.api.logs(job['uuid'], 0, offset)
        self.assertTrue(rest.startswith(b'::craton-result::'))
        self.assertTrue(complete)

    def test_single_task_job(self):
        job = self.api.submit_job({'hosts': ['compute-02']},
                                  task='jobtask')
        job = self.api.wait_job(job['uuid'])
        self.assertEqual('succeeded', job['status'])
        self.assertEqual(['jobtask'], [s['name'] for s in job['steps']])

    def test_large_inventory_goes_through_the_payload_file(self):
        count = self.LARGE_INVENTORY
        self.bulk_hosts(count, 'bulk')
        job = self.run_job([{'name': 'big'}], inventory={'labels': ['bulk']},
                           timeout=300)
        self.assertEqual('succeeded', job['status'], job)
        self.assertEqual(count, job['host_count'])
        result = self.result(job, 0)
        self.assertEqual(count, result['hosts'])
        self.assertEqual('file', result['form'])
        self.assertTrue(result['file_matches'])
        inv = self.api.get('/v1/jobs/%s/inventory' % job['uuid'],
                           params={'limit': 1000})
        self.assertEqual(1000, len(inv['hosts']))
        self.assertIn('next', inv)

    def bulk_hosts(self, count, label):
        """Insert many hosts straight into the deployment's database: setup
        for the payload test, not the thing under test.
        """
        region = self.api.get('/v1/regions/r1')
        engine = sa.create_engine(
            'sqlite:///%s/craton.sqlite' % self.deploy.dir)
        meta = sa.MetaData()
        meta.reflect(engine, only=['hosts', 'host_labels'])
        hosts, labels = meta.tables['hosts'], meta.tables['host_labels']
        now = sa.func.now()
        with engine.begin() as conn:
            region_id = conn.execute(sa.text(
                'select id from regions where uuid = :u'),
                {'u': region['uuid']}).scalar()
            rows = [{'uuid': str(uuid.uuid4()), 'project_id': 'project-a',
                     'name': '%s-%05d' % (label, i), 'region_id': region_id,
                     'ip_address': '127.0.%d.%d' % (i // 250, i % 250 + 1),
                     'variables': json.dumps({'rack': i % 40})}
                    for i in range(count)]
            conn.execute(hosts.insert().values(created_at=now), rows)
            ids = conn.execute(sa.select(hosts.c.id).where(
                hosts.c.name.like(label + '-%'))).scalars().all()
            conn.execute(labels.insert().values(created_at=now),
                         [{'host_id': i, 'label': label} for i in ids])
        engine.dispose()

    def assertNoContainers(self, job_uuid):
        client = jobtask.docker_client()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = client.containers.list(all=True, filters={
                'label': 'craton.job=%s' % job_uuid})
            if not left:
                return
            time.sleep(0.5)
        self.fail('containers left for job %s: %s' % (job_uuid, left))


@swarmenv.requires_swarm
class SwarmJobsTest(EmbeddedJobsTest):
    """The same job scenarios with the swarm execution driver: steps are
    services on a real 3-node Swarm, task images pushed to its registry.
    """

    # 10,000 hosts: several MiB, far past one Swarm secret.
    LARGE_INVENTORY = 10000

    @classmethod
    def deployment_extra(cls):
        # Workers only: the engine-death scenario stops a step's node, and
        # the manager must keep answering.
        return swarmenv.deployment_extra({'swarm': {
            'placement_constraints': 'node.role==worker'}})

    def assertNoContainers(self, job_uuid):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = swarmenv.step_services(job_uuid)
            if not left:
                return
            time.sleep(0.5)
        self.fail('services left for job %s: %s' % (job_uuid, left))

    def test_steps_land_on_several_nodes(self):
        # Jobs at the same time: Swarm spreads their steps over the nodes.
        wf = self.workflow([{'name': 'a', 'variables': {'sleep': 4}},
                            {'name': 'b', 'variables': {'sleep': 1}}])
        jobs = [self.api.submit_job({'hosts': ['compute-01']},
                                    workflow=wf['name'])['uuid']
                for _ in range(6)]
        nodes = []
        for uuid_ in jobs:
            job = self.api.wait_job(uuid_)
            self.assertEqual('succeeded', job['status'], job)
            nodes.extend(s['node'] for s in job['steps'])
        manager = swarmenv.manager_api().info()['Swarm']['NodeID']
        hostnames = {n['Description']['Hostname']
                     for n in swarmenv.manager_api().nodes()}
        self.assertTrue(set(nodes) <= hostnames, (nodes, manager))
        self.assertGreater(len(set(nodes)), 1, nodes)

    def test_worker_engine_death_mid_step_loses_the_step(self):
        wf = self.workflow([{'name': 'doomed', 'timeout': 600,
                             'variables': {'lines': 1, 'sleep': 300}},
                            {'name': 'after'}])
        job = self.api.submit_job({'hosts': ['compute-01']},
                                  workflow=wf['name'])
        job = self.api.wait_step(job['uuid'], 0, 'running')
        deadline = time.monotonic() + 60
        while b'line 0' not in self.api.full_log(job['uuid'], 0)[0]:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.3)
        node = self.api.job(job['uuid'])['steps'][0]['node']
        number = swarmenv.node_number(node)
        self.addCleanup(swarmenv.cluster, 'start-node', number)
        stopped = time.monotonic()
        swarmenv.cluster('stop-node', number)
        job = self.api.wait_job(job['uuid'], timeout=120)
        took = time.monotonic() - stopped
        self.assertEqual('failed', job['status'], job)
        self.assertEqual(['lost', 'skipped'],
                         [s['status'] for s in job['steps']])
        reason = job['steps'][0]['status_reason']
        self.assertIn('node %s is down' % node, reason)
        self.assertIn('doomed', job['status_reason'])
        self.assertLess(took, 60)
        log, complete = self.api.full_log(job['uuid'], 0)
        self.assertTrue(complete)
        self.assertTrue(log.startswith(b'line 0\n'))
        # The job cleaned up: the node will not resume the step when
        # its engine comes back.
        self.assertNoContainers(job['uuid'])
        self.addDetail('timing', testtools.content.text_content(
            'job final %.1f s after the engine of %s died' % (took, node)))
