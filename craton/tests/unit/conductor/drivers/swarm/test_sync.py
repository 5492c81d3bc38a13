# SPDX-License-Identifier: Apache-2.0
"""Syncing task images to Swarm nodes, against a fake Swarm manager.

The task statuses below are what engine 20.10 reported for the one-shot
global sync service on our machines (``docker service ps`` fields through
the docker SDK), so the classification is tested on real strings.
"""

import copy
import json
import time
from unittest import mock

import docker
import fixtures
import requests

from craton.common import exception
from craton.common import fsm
from craton.common import states
from craton.conductor.builds import builder
from craton.conductor.builds import images
from craton.conductor.builds import registry
from craton.conductor import drivers
from craton.conductor.drivers.swarm import cleanup
from craton.conductor.drivers.swarm import periodic as sync_periodic
from craton.conductor.drivers.swarm import sync
from craton.conductor import service
from craton import conf
from craton.db import api as db_api
from craton.objects import task as task_obj
from craton.tests import base
from craton.tests.unit.conductor.builds import test_builder
from craton.tests.unit.conductor.builds import test_registry

CONF = conf.CONF
REG = '10.250.0.254:5001'
DIGEST = 'sha256:' + '5e' * 32
NONCE = '9430ef26c639411caef7b462a74b1d80'

# The image arrived: created, then the start failed on the missing
# entrypoint, as intended.
STARTED_AND_FAILED = {
    'State': 'failed', 'Message': 'starting',
    'Err': 'starting container failed: failed to create shim task: OCI '
           'runtime create failed: runc create failed: unable to start '
           'container process: exec: "/craton-sync-%s/none": stat '
           '/craton-sync-%s/none: no such file or directory: unknown'
           % (NONCE, NONCE),
    'ContainerStatus': {'ContainerID': '7ff276fefb20c7396ed6c04b45077bed440'
                                       'b37a4d497bbc8c36da79e13172b26',
                        'PID': 0, 'ExitCode': 127}}
# Digest unknown to the registry: the pull failed, then the create.
NO_SUCH_IMAGE = {
    'State': 'rejected', 'Message': 'preparing',
    'Err': 'No such image: 10.251.0.1:5011/craton/task-exp@sha256:' +
           'a' * 64,
    'ContainerStatus': {'ContainerID': '', 'PID': 0, 'ExitCode': 0}}
# Registry unreachable from the node: the same symptom.
REGISTRY_DOWN = {
    'State': 'rejected', 'Message': 'preparing',
    'Err': 'No such image: 10.251.0.1:5999/craton/task-exp@sha256:14918dab'
           'ece83b1e403f966ba06b1f762dfe4c3c468f9e8af2a410b12a9b8def',
    'ContainerStatus': {'ContainerID': '', 'PID': 0, 'ExitCode': 0}}
# Rejected while preparing for another reason (no container either).
BAD_MOUNT = {
    'State': 'rejected', 'Message': 'preparing',
    'Err': 'invalid mount config for type "bind": bind source path does '
           'not exist: /tmp/sx/node',
    'ContainerStatus': {'ContainerID': '', 'PID': 0, 'ExitCode': 0}}
NO_SUITABLE_NODE = {
    'State': 'pending', 'Message': 'pending task scheduling',
    'Err': 'no suitable node (scheduling constraints not satisfied on 1 '
           'node)'}
ASSIGNED = {'State': 'assigned',
            'Message': 'scheduler assigned task to node'}
PREPARING = {'State': 'preparing', 'Message': 'preparing',
             'ContainerStatus': {'ContainerID': '', 'ExitCode': 0}}
COMPLETE = {'State': 'complete', 'Message': 'finished',
            'ContainerStatus': {'ContainerID': 'abc', 'ExitCode': 0}}


def raw_node(node_id, hostname, state='ready', availability='active',
             role='worker', labels=None):
    return {'ID': node_id,
            'Spec': {'Availability': availability, 'Role': role,
                     'Labels': labels or {}},
            'Description': {'Hostname': hostname,
                            'Platform': {'OS': 'linux',
                                         'Architecture': 'x86_64'},
                            'Engine': {'Labels': {}}},
            'Status': {'State': state}}


class Conflict:
    status_code = 409


class FakeSwarmAPI(test_registry.FakePushAPI):
    """A manager: nodes, services, and per-node task statuses that follow
    ``outcomes[hostname]`` one poll at a time (the last one stays).
    """

    base_url = 'http+docker://manager'

    def __init__(self, nodes, outcomes, **kwargs):
        super().__init__(**kwargs)
        self.node_list = nodes
        self.outcomes = outcomes
        self.created, self.removed, self.live = [], [], {}
        self.created_at = '2020-01-01T00:00:00.149240641Z'
        self.on_poll = None

    def nodes(self):
        return copy.deepcopy(self.node_list)

    def create_service(self, task_template, name=None, labels=None,
                       mode=None):
        if any(s['name'] == name for s in self.live.values()):
            raise docker.errors.APIError('name conflicts with an existing '
                                         'object', response=Conflict())
        rec = {'id': 'svc%d' % (len(self.created) + 1), 'name': name,
               'template': copy.deepcopy(dict(task_template)),
               'labels': labels, 'mode': dict(mode or {}), 'polls': 0}
        self.created.append(rec)
        self.live[rec['id']] = rec
        return {'ID': rec['id']}

    def tasks(self, filters=None):
        rec = [s for s in self.created if s['id'] == filters['service']][0]
        rec['polls'] += 1
        if self.on_poll:
            self.on_poll(rec)
        only = [c.split('==')[1] for c in
                rec['template'].get('Placement', {}).get('Constraints', [])
                if c.startswith('node.id==')]
        out = []
        for node in self.node_list:
            seq = self.outcomes.get(node['Description']['Hostname'])
            if not seq or (only and node['ID'] not in only):
                continue
            out.append({'ID': 't-%s-%s' % (rec['id'], node['ID']),
                        'NodeID': node['ID'],
                        'Version': {'Index': rec['polls']},
                        'Status': seq[min(rec['polls'], len(seq)) - 1]})
        return out

    def remove_service(self, service_id):
        self.removed.append(service_id)
        self.live.pop(service_id, None)

    def services(self, filters=None):
        filters = filters or {}
        return [{'ID': s['id'], 'CreatedAt': self.created_at,
                 'Spec': {'Name': s['name'], 'Labels': s['labels']}}
                for s in self.live.values()
                if filters.get('name') in (None, s['name']) and
                (filters.get('label') is None or
                 filters['label'] in (s['labels'] or {}))]


class FakeSwarmClient:
    def __init__(self, api):
        self.api = api
        self.closed = False

    def close(self):
        self.closed = True


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(seconds, 0.25)


NODES = [raw_node('n1', 'craton-node1', role='manager'),
         raw_node('n2', 'craton-node2'), raw_node('n3', 'craton-node3')]


class SyncTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.config(registry=REG, group='docker')
        self.config(url='unix:///run/craton/swarm/node1/docker.sock',
                    group='docker')
        self.config(execution_driver='swarm', group='conductor')
        self.config(sync_timeout=30, group='swarm')
        self.clock = FakeClock()
        self.useFixture(fixtures.MockPatchObject(sync, 'time', self.clock))
        self.dbapi = db_api.get_instance()

    def swarm(self, outcomes, nodes=None):
        api = FakeSwarmAPI(copy.deepcopy(nodes or NODES), outcomes)
        return FakeSwarmClient(api)

    def make_task(self, status=states.TASK_SYNCING, build=1,
                  digest=DIGEST):
        task = task_obj.Task(
            self.context, name='t%d' % len(self.dbapi.list_tasks(None)),
            project_id='project-a', source={'type': 'local', 'path': '/x'},
            command=['sh'], timeout=60, status=status, approval='pending',
            visibility='private', build_number=build)
        task.create()
        task.image = '%s/craton/task-%s:%d' % (REG, task.uuid, build)
        task.registry_digest = digest
        task.image_digest = 'sha256:' + 'c' * 64
        task.save()
        return task

    def sync_task(self, task, client=None):
        """What a conductor does with a pushed image on the swarm driver:
        ``builder.distribute`` → the driver's ``prepare_image`` →
        ``sync.distribute``, with ``client`` (if given) as the manager's
        client, which the sync must leave open. False when a status write
        lost a race.
        """
        driver = drivers.get_driver(CONF)
        self.assertIs(True, driver.distributes_images)
        if client is not None:
            driver.prepare_image = lambda t: sync.distribute(t, CONF,
                                                             client=client)
        return builder.distribute(task, CONF, driver)

    def ref(self, task):
        return '%s/craton/task-%s@%s' % (REG, task.uuid,
                                         task.registry_digest)

    def rows(self, task):
        return {r.hostname: (r.status, r.reason, r.image)
                for r in self.dbapi.list_task_nodes(task.uuid)}


class TestClassify(SyncTestCase):

    def test_real_statuses(self):
        table = [
            (STARTED_AND_FAILED, sync.SYNCED),
            (COMPLETE, sync.SYNCED),
            (NO_SUCH_IMAGE, sync.FAILED),
            (REGISTRY_DOWN, sync.FAILED),
            (BAD_MOUNT, sync.FAILED),
            (NO_SUITABLE_NODE, None),
            (ASSIGNED, None),
            (PREPARING, None),
            ({'State': 'starting'}, None),
            ({'State': 'shutdown'}, sync.FAILED),
        ]
        for status, want in table:
            got, reason = sync.classify({'Status': status}, REG)
            self.assertEqual(want, got, status)
            if want == sync.FAILED:
                self.assertTrue(reason)
            else:
                self.assertIsNone(reason)

    def test_reasons_name_the_cause_and_the_fix(self):
        _, reason = sync.classify({'Status': NO_SUCH_IMAGE}, REG)
        self.assertIn(NO_SUCH_IMAGE['Err'], reason)
        self.assertIn('reaches registry %s' % REG, reason)
        self.assertIn('insecure-registries', reason)
        _, reason = sync.classify({'Status': BAD_MOUNT})
        self.assertEqual(BAD_MOUNT['Err'], reason)
        _, reason = sync.classify({'Status': {'State': 'shutdown'}})
        self.assertIn('ended shutdown without creating a container', reason)

    def test_no_such_image_wins_over_a_container(self):
        status = dict(NO_SUCH_IMAGE, ContainerStatus={'ContainerID': 'x'})
        self.assertEqual(sync.FAILED,
                         sync.classify({'Status': status})[0])


class TestMatches(SyncTestCase):

    def test_constraints(self):
        node = sync.Node('n2', 'craton-node2', 'active', 'ready', 'worker',
                         {'craton': 'true'}, {'zone': 'a'}, 'linux',
                         'x86_64')
        table = [
            ([], True),
            (['node.labels.craton==true'], True),
            (['node.labels.craton == TRUE'], True),
            (['node.labels.craton!=true'], False),
            (['node.labels.other==x'], False),
            (['node.labels.other!=x'], True),
            (['node.role==worker', 'node.platform.os==linux'], True),
            (['node.role==manager'], False),
            (['node.hostname!=craton-node2'], False),
            (['node.id==n2'], True),
            (['engine.labels.zone==a'], True),
            (['node.platform.arch==aarch64'], False),
            (['node.unknown.key==1'], True),
        ]
        for constraints, want in table:
            self.assertEqual(want, sync.matches(node, constraints),
                             constraints)


class TestPullSpec(SyncTestCase):

    def test_no_task_code_runs(self):
        ref = '%s/craton/task-x@%s' % (REG, DIGEST)
        template, mode = sync.pull_spec(ref, ['node.labels.a==b'], NONCE)
        spec = template['ContainerSpec']
        self.assertEqual(ref, spec['Image'])
        # Entrypoint replaced by a path that exists nowhere, no arguments:
        # the image's own entrypoint and command are never used.
        self.assertEqual(['/craton-sync-%s/not-a-command' % NONCE],
                         spec['Command'])
        self.assertEqual([], spec['Args'])
        self.assertEqual('65534:65534', spec['User'])
        self.assertTrue(spec['ReadOnly'])
        self.assertEqual(['ALL'], spec['CapabilityDrop'])
        self.assertEqual(['NONE'], spec['Healthcheck']['Test'])
        self.assertNotIn('Mounts', spec)
        # Not a job step's label: drivers count and clean those.
        self.assertNotIn('craton.managed', spec['Labels'])
        self.assertEqual('none', template['RestartPolicy']['Condition'])
        self.assertEqual(['node.labels.a==b'],
                         template['Placement']['Constraints'])
        # Plain global, not global-job: a job's containers outlive it.
        self.assertEqual({'global': {}}, dict(mode))

    def test_sync_task_never_passes_the_command(self):
        api = FakeSwarmAPI(copy.deepcopy(NODES),
                           {'craton-node1': [STARTED_AND_FAILED]})
        task = self.make_task()
        task.command = ['python3', '/craton/task.py']
        self.sync_task(task, FakeSwarmClient(api))
        spec = json.dumps(api.created[0]['template'])
        self.assertNotIn('task.py', spec)
        self.assertIn('/craton-sync-', spec)


class TestRunService(SyncTestCase):

    def nodes(self, client):
        return [n for n in sync.list_nodes(client) if n.state == 'ready']

    def test_each_node_reports(self):
        client = self.swarm({
            'craton-node1': [ASSIGNED, PREPARING, STARTED_AND_FAILED],
            'craton-node2': [ASSIGNED, NO_SUCH_IMAGE],
            'craton-node3': [STARTED_AND_FAILED]})
        results = sync.pull(client, CONF, 'u', 'img@' + DIGEST,
                            self.nodes(client))
        self.assertEqual({'n1': sync.SYNCED, 'n2': sync.FAILED,
                          'n3': sync.SYNCED},
                         {k: r.status for k, r in results.items()})
        self.assertEqual(['svc1'], client.api.removed)
        created = client.api.created[0]
        self.assertEqual('craton-sync-u-' + '5e' * 6, created['name'])
        self.assertEqual({'craton.sync': 'u', 'craton.sync.kind': 'pull'},
                         created['labels'])
        self.assertEqual(created['labels'],
                         created['template']['ContainerSpec']['Labels'])

    def test_node_down_during_sync(self):
        client = self.swarm({'craton-node1': [STARTED_AND_FAILED],
                             'craton-node2': [ASSIGNED]})

        def node2_dies(rec):
            if rec['polls'] == 3:
                client.api.node_list[1]['Status']['State'] = 'down'
        client.api.on_poll = node2_dies
        results = sync.pull(client, CONF, 'u', 'img@' + DIGEST,
                            self.nodes(client)[:2])
        self.assertEqual(sync.FAILED, results['n2'].status)
        self.assertEqual('the node went down during the sync',
                         results['n2'].reason)
        self.assertLess(self.clock.now - 1000, 10)

    def test_node_without_task(self):
        client = self.swarm({'craton-node1': [STARTED_AND_FAILED]})
        results = sync.pull(client, CONF, 'u', 'img@' + DIGEST,
                            self.nodes(client)[:2])
        self.assertEqual(sync.SYNCED, results['n1'].status)
        self.assertIn('Swarm placed no task on this node',
                      results['n2'].reason)
        self.assertLess(self.clock.now - 1000, sync.NO_TASK_GRACE + 2)

    def test_timeout(self):
        client = self.swarm({'craton-node1': [NO_SUITABLE_NODE]})
        results = sync.pull(client, CONF, 'u', 'img@' + DIGEST,
                            self.nodes(client)[:1])
        self.assertEqual(
            'not done within 30 s ([swarm] sync_timeout); last state: '
            'pending: no suitable node (scheduling constraints not '
            'satisfied on 1 node)', results['n1'].reason)
        self.assertEqual(['svc1'], client.api.removed)

    def test_service_removed_on_error(self):
        client = self.swarm({'craton-node1': [ASSIGNED]})
        client.api.on_poll = mock.Mock(
            side_effect=docker.errors.APIError('boom'))
        self.assertRaises(docker.errors.APIError, sync.pull, client, CONF,
                          'u', 'img@' + DIGEST, self.nodes(client))
        self.assertEqual(['svc1'], client.api.removed)

    def test_same_sync_elsewhere_is_busy(self):
        client = self.swarm({'craton-node1': [STARTED_AND_FAILED]})
        client.api.created_at = timeutils_now()
        client.api.create_service({}, name='craton-sync-u-' + '5e' * 6)
        self.assertRaises(sync.SyncBusy, sync.pull, client, CONF, 'u',
                          'img@' + DIGEST, self.nodes(client))

    def test_waits_for_the_same_sync_elsewhere_to_end(self):
        client = self.swarm({'craton-node1': [STARTED_AND_FAILED]})
        client.api.created_at = timeutils_now()
        name = 'craton-sync-u-' + '5e' * 6
        other = client.api.create_service({}, name=name)['ID']
        started = self.clock.now
        tries = []
        real_create = client.api.create_service

        def create_service(*args, **kwargs):
            tries.append(self.clock.now - started)
            if self.clock.now - started >= 3:
                # The other conductor's sync ended after three seconds.
                client.api.remove_service(other)
            return real_create(*args, **kwargs)
        client.api.create_service = create_service
        results = sync.pull(client, CONF, 'u', 'img@' + DIGEST,
                            self.nodes(client)[:1], busy_wait=10)
        self.assertEqual(sync.SYNCED, results['n1'].status)
        # Asked once a second until the name was free.
        self.assertEqual([0, 1, 2, 3], tries)
        # Past the wait, it is busy.
        client.api.create_service = real_create
        client.api.create_service({}, name=name)
        started = self.clock.now
        self.assertRaises(sync.SyncBusy, sync.pull, client, CONF, 'u',
                          'img@' + DIGEST, self.nodes(client)[:1],
                          busy_wait=5)
        self.assertEqual(5, self.clock.now - started)

    def test_stale_service_of_a_dead_conductor_is_replaced(self):
        client = self.swarm({'craton-node1': [STARTED_AND_FAILED]})
        client.api.create_service({}, name='craton-sync-u-' + '5e' * 6)
        results = sync.pull(client, CONF, 'u', 'img@' + DIGEST,
                            self.nodes(client)[:1])
        self.assertEqual(sync.SYNCED, results['n1'].status)
        self.assertEqual(['svc1', 'svc2'], client.api.removed)


def timeutils_now():
    from oslo_utils import timeutils
    return timeutils.utcnow().isoformat() + 'Z'


class TestSyncTask(SyncTestCase):

    def test_all_nodes_synced(self):
        task = self.make_task()
        client = self.swarm({h: [ASSIGNED, STARTED_AND_FAILED] for h in (
            'craton-node1', 'craton-node2', 'craton-node3')})
        self.sync_task(task, client)
        task.refresh()
        self.assertEqual(states.TASK_READY, task.status)
        self.assertIsNone(task.status_reason)
        ref = self.ref(task)
        self.assertEqual({'craton-node%d' % i: ('synced', None, ref)
                          for i in (1, 2, 3)}, self.rows(task))
        self.assertEqual(['synced'] * 3,
                         [n['status'] for n in task.nodes()])
        self.assertFalse(client.closed)  # not ours

    def test_one_sick_node_does_not_block(self):
        task = self.make_task()
        client = self.swarm({'craton-node1': [STARTED_AND_FAILED],
                             'craton-node2': [STARTED_AND_FAILED],
                             'craton-node3': [REGISTRY_DOWN]})
        self.sync_task(task, client)
        task.refresh()
        self.assertEqual(states.TASK_READY, task.status)
        rows = self.rows(task)
        self.assertEqual('synced', rows['craton-node1'][0])
        self.assertEqual('failed', rows['craton-node3'][0])
        self.assertIn(REGISTRY_DOWN['Err'], rows['craton-node3'][1])

    def test_no_node_holds_it(self):
        task = self.make_task()
        client = self.swarm({'craton-node1': [NO_SUCH_IMAGE],
                             'craton-node2': [REGISTRY_DOWN],
                             'craton-node3': [BAD_MOUNT]})
        self.sync_task(task, client)
        task.refresh()
        self.assertEqual(states.TASK_ERROR, task.status)
        reason = task.status_reason
        self.assertTrue(reason.startswith(
            'no Swarm node could hold image %s: craton-node1: the node '
            'could not pull the image (No such image' % self.ref(task)))
        self.assertIn('; craton-node2: ', reason)
        self.assertIn('; craton-node3: invalid mount config', reason)
        self.assertEqual(3, len(self.rows(task)))

    def test_down_and_drained_nodes(self):
        nodes = [raw_node('n1', 'craton-node1'),
                 raw_node('n2', 'craton-node2', state='down'),
                 raw_node('n3', 'craton-node3', availability='drain')]
        task = self.make_task()
        client = self.swarm({'craton-node1': [STARTED_AND_FAILED]}, nodes)
        self.sync_task(task, client)
        task.refresh()
        self.assertEqual(states.TASK_READY, task.status)
        rows = self.rows(task)
        self.assertEqual({'craton-node1', 'craton-node2'}, set(rows))
        self.assertEqual(('failed', 'the node is down; it gets the image '
                          'once it is ready again'), rows['craton-node2'][:2])

    def test_placement_constraints_limit_the_nodes(self):
        self.config(placement_constraints=['node.role==worker'],
                    group='swarm')
        task = self.make_task()
        client = self.swarm({h: [STARTED_AND_FAILED] for h in (
            'craton-node1', 'craton-node2', 'craton-node3')})
        self.sync_task(task, client)
        self.assertEqual({'craton-node2', 'craton-node3'},
                         set(self.rows(task)))
        self.assertEqual(['node.role==worker'], client.api.created[0][
            'template']['Placement']['Constraints'])

    def test_no_active_node(self):
        task = self.make_task()
        nodes = [raw_node('n1', 'craton-node1', availability='pause')]
        self.sync_task(task, self.swarm({}, nodes))
        task.refresh()
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertEqual('no active Swarm node can hold image %s'
                         % self.ref(task), task.status_reason)

    def test_manager_unreachable(self):
        task = self.make_task()
        error = exception.EngineUnavailable(url='unix:///m', reason='down')
        with mock.patch('craton.common.docker_client.get_client',
                        side_effect=error):
            self.sync_task(task)
        task.refresh()
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertIn('cannot sync image', task.status_reason)
        self.assertIn('unix:///m is unreachable: down', task.status_reason)

    def test_unexpected_errors_never_leave_it_syncing(self):
        task = self.make_task()
        client = self.swarm({'craton-node1': [ASSIGNED]})
        client.api.on_poll = mock.Mock(
            side_effect=requests.exceptions.ReadTimeout('read timed out'))
        self.sync_task(task, client)
        task.refresh()
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertTrue(task.status_reason.startswith('cannot sync image'))
        self.assertTrue(task.status_reason.endswith(': read timed out'))
        self.assertEqual(['svc1'], client.api.removed)
        client.api.on_poll = mock.Mock(side_effect=KeyError('Status'))
        # Built again: syncing once more.
        self.assertTrue(task.start_build())
        self.assertTrue(task.transition(fsm.TASK_SYNC))
        self.sync_task(task, client)
        task.refresh()
        self.assertIn('internal error while syncing image',
                      task.status_reason)

    def test_task_rebuilt_during_the_sync_is_left_alone(self):
        for outcome in (STARTED_AND_FAILED, NO_SUCH_IMAGE):
            task = self.make_task()
            client = self.swarm({'craton-node1': [ASSIGNED, outcome]})

            def rebuild(rec, task=task):
                other = task_obj.Task.get(self.context, task.uuid)
                self.assertTrue(other.transition(fsm.TASK_REBUILD))
            client.api.on_poll = rebuild
            self.assertFalse(self.sync_task(task, client))
            task.refresh()
            self.assertEqual((states.TASK_PENDING, None),
                             (task.status, task.status_reason))

    def test_task_deleted_during_the_sync(self):
        task = self.make_task()
        client = self.swarm({'craton-node1': [ASSIGNED, STARTED_AND_FAILED]})

        def delete(rec):
            client.api.on_poll = None
            self.assertTrue(task_obj.Task.get(self.context,
                                              task.uuid).destroy())
        client.api.on_poll = delete
        self.assertFalse(self.sync_task(task, client))
        self.assertRaises(exception.TaskNotFound, task.refresh)

    def test_an_image_never_pushed_is_an_error(self):
        task = self.make_task(digest=None)
        client = self.swarm({'craton-node1': [STARTED_AND_FAILED]})
        self.assertTrue(self.sync_task(task))
        task.refresh()
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertIn('is not in [docker] registry', task.status_reason)
        self.assertEqual([], client.api.created)

    def test_rows_of_the_previous_image_are_replaced(self):
        task = self.make_task()
        self.dbapi.set_task_node(task.uuid, 'gone', 'old-node', 'synced',
                                 'old@sha256:' + '0' * 64)
        self.sync_task(task, self.swarm(
            {'craton-node1': [STARTED_AND_FAILED]},
            [raw_node('n1', 'craton-node1')]))
        self.assertEqual(['craton-node1'], list(self.rows(task)))


class TestResync(SyncTestCase):

    def synced_task(self, hosts=('craton-node1', 'craton-node2')):
        task = self.make_task(status=states.TASK_READY)
        for host in hosts:
            self.dbapi.set_task_node(task.uuid, 'n' + host[-1], host,
                                     sync.SYNCED, self.ref(task))
        return task

    def test_new_node_is_synced(self):
        task = self.synced_task()
        client = self.swarm({h: [STARTED_AND_FAILED] for h in (
            'craton-node1', 'craton-node2', 'craton-node3')})
        ran = sync_periodic.resync(CONF, client=client)
        self.assertEqual({'n3'}, set(ran[task.uuid]))
        self.assertEqual('synced', self.rows(task)['craton-node3'][0])
        # Only the new node was asked.
        self.assertIn('node.id==n3', client.api.created[0]['template'][
            'Placement']['Constraints'])

    def test_nothing_to_do_runs_no_service(self):
        self.synced_task(('craton-node1', 'craton-node2', 'craton-node3'))
        client = self.swarm({})
        self.assertEqual({}, sync_periodic.resync(CONF, client=client))
        self.assertEqual([], client.api.created)

    def test_failed_nodes_are_retried_down_nodes_wait(self):
        task = self.synced_task(('craton-node1',))
        self.dbapi.set_task_node(task.uuid, 'n2', 'craton-node2',
                                 sync.FAILED, self.ref(task), 'No such image')
        nodes = copy.deepcopy(NODES)
        nodes[2]['Status']['State'] = 'down'
        client = self.swarm({h: [STARTED_AND_FAILED] for h in (
            'craton-node1', 'craton-node2', 'craton-node3')}, nodes)
        ran = sync_periodic.resync(CONF, client=client)
        self.assertEqual({'n2'}, set(ran[task.uuid]))
        self.assertEqual(('synced', None), self.rows(task)[
            'craton-node2'][:2])
        self.assertNotIn('craton-node3', self.rows(task))

    def test_rows_of_another_image_are_replaced(self):
        task = self.make_task(status=states.TASK_READY)
        for i in (1, 2, 3):
            self.dbapi.set_task_node(task.uuid, 'n%d' % i,
                                     'craton-node%d' % i, sync.SYNCED,
                                     'old@sha256:' + '0' * 64)
        client = self.swarm({h: [STARTED_AND_FAILED] for h in (
            'craton-node1', 'craton-node2', 'craton-node3')})
        sync_periodic.resync(CONF, client=client)
        self.assertEqual({self.ref(task)},
                         {r[2] for r in self.rows(task).values()})
        self.assertEqual([], client.api.created[0]['template'][
            'Placement']['Constraints'])

    def test_node_that_left_is_marked(self):
        task = self.synced_task(('craton-node1', 'craton-node2',
                                 'craton-node3'))
        self.dbapi.set_task_node(task.uuid, 'n9', 'craton-node9',
                                 sync.SYNCED, self.ref(task))
        sync_periodic.resync(CONF, client=self.swarm({}))
        self.assertEqual(('failed', sync.LEFT_SWARM),
                         self.rows(task)['craton-node9'][:2])

    def test_task_rebuilt_meanwhile_keeps_its_rows(self):
        task = self.synced_task()
        client = self.swarm({'craton-node3': [ASSIGNED, STARTED_AND_FAILED]})

        def rebuild(rec):
            self.dbapi.update_task(None, task.uuid, {
                'registry_digest': 'sha256:' + '7' * 64})
        client.api.on_poll = rebuild
        sync_periodic.resync(CONF, client=client)
        self.assertNotIn('craton-node3', self.rows(task))

    def test_tasks_not_ready_or_not_pushed_are_left_alone(self):
        self.make_task(status=states.TASK_BUILDING)
        self.make_task(status=states.TASK_READY, digest=None)
        client = self.swarm({'craton-node1': [STARTED_AND_FAILED]})
        self.assertEqual({}, sync_periodic.resync(CONF, client=client))
        self.assertEqual([], client.api.created)

    def test_busy_elsewhere_is_skipped(self):
        task = self.synced_task()
        client = self.swarm({'craton-node3': [STARTED_AND_FAILED]})
        client.api.created_at = timeutils_now()
        client.api.create_service(
            {}, name=sync.service_name('sync', task.uuid, DIGEST),
            labels={sync.LABEL_SYNC: task.uuid})
        self.assertEqual({}, sync_periodic.resync(CONF, client=client))

    def test_orphaned_syncing_task_is_finished_by_the_sweep(self):
        orphan = self.make_task(status=states.TASK_SYNCING)
        owned = self.make_task(status=states.TASK_SYNCING)
        self.dbapi.claim_task(owned.uuid, 'other-conductor')
        client = self.swarm({'craton-node1': [STARTED_AND_FAILED]})
        svc = service.ConductorService(CONF, host='c1')
        self.addCleanup(svc.stop, graceful=False)
        with mock.patch('craton.common.docker_client.get_client',
                        return_value=client):
            svc.sweep()
            for _ in range(500):
                if not svc.builds.active():
                    break
                time.sleep(0.01)
        orphan.refresh()
        owned.refresh()
        self.assertEqual(states.TASK_READY, orphan.status)
        self.assertIsNone(orphan.conductor)
        self.assertEqual(states.TASK_SYNCING, owned.status)
        self.assertEqual({orphan.uuid}, {c['labels']['craton.sync']
                                         for c in client.api.created})

    def test_stale_services_are_removed(self):
        client = self.swarm({})
        client.api.create_service({}, name='craton-sync-old',
                                  labels={sync.LABEL_SYNC: 'x'})
        client.api.create_service({}, name='someone-else', labels={})
        sync_periodic.resync(CONF, client=client)
        self.assertEqual(['svc1'], client.api.removed)


class TestBuildAndSync(SyncTestCase):
    """build_task with the swarm driver: building → syncing → ready."""

    def setUp(self):
        super().setUp()
        self.source = test_builder.local_source(self)

    def build(self, outcomes):
        task = self.make_task(status=states.TASK_PENDING, build=0)
        task.source = self.source
        task.save()
        client = self.swarm(outcomes)
        statuses = []
        real_transition = task_obj.Task.transition

        def transition(obj, *args, **kwargs):
            written = real_transition(obj, *args, **kwargs)
            statuses.append(obj.status)
            return written
        with mock.patch.object(task_obj.Task, 'transition', transition), \
                mock.patch('craton.common.docker_client.get_client',
                           return_value=client):
            builder.build_task(task, CONF, drivers.get_driver(CONF),
                               client=client)
        task.refresh()
        return task, statuses, client

    def test_building_syncing_ready(self):
        task, statuses, client = self.build(
            {h: [STARTED_AND_FAILED] for h in ('craton-node1',
                                               'craton-node2')})
        self.assertEqual([states.TASK_BUILDING, states.TASK_SYNCING,
                          states.TASK_READY], statuses)
        self.assertEqual('%s/craton/task-%s:1' % (REG, task.uuid),
                         task.image)
        self.assertEqual(test_registry.MANIFEST, task.registry_digest)
        self.assertEqual(test_builder.DIGEST_A, task.image_digest)
        self.assertEqual(self.ref(task),
                         client.api.created[0]['template'][
                             'ContainerSpec']['Image'])
        self.assertEqual({'craton-node1', 'craton-node2', 'craton-node3'},
                         set(self.rows(task)))

    def test_no_node_can_pull_is_an_error(self):
        task, statuses, _ = self.build({'craton-node1': [NO_SUCH_IMAGE]})
        self.assertEqual([states.TASK_BUILDING, states.TASK_SYNCING,
                          states.TASK_ERROR], statuses)
        self.assertIn('no Swarm node could hold image', task.status_reason)


class TestService(SyncTestCase):

    def test_periodic_sync_only_with_the_swarm_driver(self):
        for driver, want in (('docker', False), ('swarm', True)):
            self.config(execution_driver=driver, group='conductor')
            svc = service.ConductorService(CONF, host='c-' + driver)
            tasks = {name: (spacing, func)
                     for name, spacing, func in svc.periodic_tasks()}
            self.assertEqual({'heartbeat', 'sweep'} |
                             ({'swarm-sync'} if want else set()), set(tasks))
            if want:
                spacing, func = tasks['swarm-sync']
                self.assertEqual(60, spacing)
                with mock.patch.object(sync_periodic, 'resync') as resync:
                    func()
                resync.assert_called_once_with(CONF)

    def test_delete_cleans_engine_registry_and_nodes(self):
        svc = service.ConductorService(CONF, host='c1')
        with mock.patch.object(images, 'remove_engine_images') as eng, \
                mock.patch.object(registry, 'RegistryClient') as reg, \
                mock.patch.object(cleanup, 'clean_nodes') as nodes, \
                mock.patch('craton.common.docker_client.get_client'):
            svc.delete_task_images('u1')
        self.assertEqual('u1', eng.call_args.args[1])
        reg.return_value.delete_task_manifests.assert_called_once_with(
            'u1', ())
        self.assertEqual('u1', nodes.call_args.args[2])
