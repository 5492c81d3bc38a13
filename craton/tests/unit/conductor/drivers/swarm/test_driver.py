# SPDX-License-Identifier: Apache-2.0
"""Unit tests of the swarm execution driver against a fake Swarm manager."""

import base64
import json
import time
import types
from unittest import mock

import docker
import fixtures
from oslo_config import fixture as config_fixture
from oslotest import base

from craton.common import exception
from craton.conductor import drivers
from craton.conductor.drivers import base as driver_base
from craton.conductor.drivers import output
from craton.conductor.drivers import docker as docker_driver
from craton.conductor.drivers import swarm as swarm_driver
from craton.conductor.drivers.swarm import logs as swarm_logs
from craton.conductor.drivers.swarm import spec as swarm_spec
from craton import conf
from craton.tests.unit.conductor import fake_logs

CONF = conf.CONF
JOB = '6d1c3c4e-0a1b-4c2d-9e8f-0123456789ab'
TASK = '0f0e0d0c-0b0a-4909-8807-060504030201'
IMAGE = '127.0.0.1:5001/craton/task-%s@sha256:%s' % (TASK, 'a' * 64)


def api_error(status, msg='error'):
    return docker.errors.APIError(msg, explanation=msg,
                                  response=mock.Mock(status_code=status))


def _labelled(filters, labels):
    wanted = dict(f.split('=', 1) for f in (filters or {}).get('label', []))
    return wanted.items() <= (labels or {}).items()



class FakeSwarm:
    """Just enough of docker.APIClient's Swarm calls."""

    def __init__(self):
        self.calls = []
        self.services_, self.secrets_, self.networks_ = {}, {}, {}
        self.tasks_ = {}        # service id -> [task]
        self.nodes_ = {
            nid: {'ID': nid, 'Description': {'Hostname': 'node-' + nid[1]},
                  'Status': {'State': 'ready'}}
            for nid in ('n1', 'n2', 'n3')}
        self.logs = {}          # service id -> [(stream, bytes)]
        self.streams = []       # every log response, in order
        self.swarm_info = {'ControlAvailable': True}
        self.place_on = 'n2'

    # -- raw requests the driver makes ----------------------------------
    base_url = 'http+docker://localhost'
    api_version = '1.41'
    timeout = 60

    def post(self, url, json=None, timeout=None):
        # POST /v1.41/{secrets,networks,services}/create, as
        # engine_http.post_json sends it: a JSON body, the client's timeout.
        prefix = '%s/v%s' % (self.base_url, self.api_version)
        assert url.startswith(prefix) and timeout == self.timeout, (
            url, timeout)
        try:
            return fake_logs.answer(201, self.answer(url[len(prefix):],
                                                     json))
        except docker.errors.APIError as exc:
            # What the engine sends back; engine_http turns it into the
            # SDK's error again.
            return fake_logs.answer(exc.status_code,
                                    {'message': exc.explanation})

    def answer(self, url, data):
        if url == '/secrets/create':
            return self._create('secret', self.secrets_, data)
        if url == '/networks/create':
            result = self._create('network', self.networks_, data)
            return {'Id': result['ID']}
        if url == '/services/create':
            result = self._create('service', self.services_, data)
            self.tasks_[result['ID']] = [{
                'ID': 't-' + result['ID'], 'CreatedAt': '1',
                'NodeID': self.place_on, 'DesiredState': 'running',
                'Status': {'State': 'running'}}]
            return result
        raise AssertionError(url)

    def _create(self, kind, store, data):
        self.calls.append(('create_' + kind, data['Name']))
        if any(o['Name'] == data['Name'] for o in store.values()):
            raise api_error(409, '%s name conflicts' % kind)
        oid = '%s%d' % (kind[:3], len(store) + 1)
        store[oid] = data
        return {'ID': oid}

    def get(self, url, params=None, stream=False):
        # GET /v1.41/services/{id}/logs with timestamps.
        assert stream and params['timestamps'] == 1, params
        sid = url.split('/')[-2]
        if sid not in self.services_:
            res = fake_logs.answer(404, {'message': 'service %s not found'
                                                    % sid})
        else:
            pairs = [(1 if src == 'stdout' else 2, data)
                     for src, data in self.logs.get(sid, [])]
            res = fake_logs.FakeResponse(
                200, fake_logs.encode(fake_logs.numbered(pairs)))
        res.follow = bool(params['follow'])
        self.streams.append(res)
        return res

    # -- SDK calls ---------------------------------------------------------
    def services(self, filters=None):
        return [{'ID': sid, 'Spec': dict(s), 'CreatedAt': '1'}
                for sid, s in self.services_.items()
                if _labelled(filters, s['Labels'])]

    def inspect_service(self, sid):
        if sid not in self.services_:
            raise docker.errors.NotFound('service %s not found' % sid)
        return {'ID': sid, 'Spec': self.services_[sid]}

    def tasks(self, filters=None):
        sid = filters['service']
        if sid not in self.services_:
            raise docker.errors.NotFound('service %s not found' % sid)
        return list(self.tasks_.get(sid, []))

    def inspect_node(self, nid):
        if nid not in self.nodes_:
            raise docker.errors.NotFound('node %s not found' % nid)
        return self.nodes_[nid]

    def nodes(self):
        return list(self.nodes_.values())

    def secrets(self, filters=None):
        return [{'ID': i, 'Spec': s} for i, s in self.secrets_.items()
                if _labelled(filters, s['Labels']) and
                ('name' not in (filters or {}) or
                 s['Name'] == filters['name'])]

    def networks(self, names=None, filters=None):
        return [{'Id': i, 'Name': n['Name'], 'Labels': n['Labels'],
                 'Created': '2000-01-01T00:00:00.000000001Z'}
                for i, n in self.networks_.items()
                if _labelled(filters, n['Labels']) and
                (names is None or n['Name'] in names)]

    def remove_service(self, sid):
        self.calls.append(('remove_service', sid))
        if sid not in self.services_:
            raise docker.errors.NotFound('service %s not found' % sid)
        del self.services_[sid]
        self.tasks_.pop(sid, None)

    def remove_secret(self, oid):
        self.calls.append(('remove_secret', self.secrets_[oid]['Name']))
        del self.secrets_[oid]

    def remove_network(self, oid):
        self.calls.append(('remove_network', self.networks_[oid]['Name']))
        del self.networks_[oid]

    def info(self):
        return {'Name': 'node-1', 'Swarm': self.swarm_info}

    def ping(self):
        return True


class SwarmTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.cfg = self.useFixture(config_fixture.Config(CONF))
        self.cfg.config(group='docker', url='unix:///manager.sock',
                        registry='127.0.0.1:5001')
        self.cfg.config(group='conductor', execution_driver='swarm')
        self.api = FakeSwarm()
        self.useFixture(fixtures.MockPatch(
            'craton.common.docker_client.get_client',
            return_value=types.SimpleNamespace(api=self.api)))
        for name in ('START_WAIT', 'POLL_INTERVAL', 'NETWORK_WAIT',
                     'FAST_POLL', 'SLOW_POLL', 'NODE_STATE_TTL'):
            self.useFixture(fixtures.MockPatchObject(swarm_driver, name, 0))
        # The docker driver's, which the swarm driver's start() inherits.
        self.useFixture(fixtures.MockPatchObject(docker_driver,
                                                 'CREATED_GRACE', 0))
        self.useFixture(fixtures.MockPatchObject(swarm_logs,
                                                 'IDLE_CHECK_MIN', 0.01))
        self.rows = []
        dbapi = mock.Mock(list_task_nodes=mock.Mock(
            side_effect=lambda uuid: list(self.rows)))
        self.useFixture(fixtures.MockPatch(
            'craton.db.api.get_instance', return_value=dbapi))
        self.driver = drivers.get_driver(CONF)

    def spec(self, payload=b'{"a":1}', index=0, task_uuid=TASK):
        return driver_base.StepSpec(
            job_uuid=JOB, step_index=index, step_name='s%d' % index,
            image=IMAGE, command=['python3', '/t.py'], payload=payload,
            timeout=60, task_uuid=task_uuid)

    def service(self, handle):
        return self.api.services_[handle.id]

    def task(self, handle):
        return self.api.tasks_[handle.id][0]


class TestServiceSpec(SwarmTestCase):

    def test_registered(self):
        self.assertIsInstance(self.driver, swarm_driver.SwarmDriver)

    def test_sandbox_labels_and_mode(self):
        self.cfg.config(group='sandbox', memory='256m', cpus=0.5,
                        pids_limit=99, tmpfs_size='32m', user='1000:1001',
                        network_mode='bridge')
        handle = self.driver.start(self.spec())
        self.assertEqual('node-2', handle.node)
        svc = self.service(handle)
        labels = {'craton.job': JOB, 'craton.step': '0',
                  'craton.step_name': 's0', 'craton.managed': 'true',
                  'craton.timeout': '60'}
        self.assertEqual('craton-%s-0' % JOB, svc['Name'])
        self.assertEqual(labels, svc['Labels'])
        self.assertEqual({'Replicated': {'Replicas': 1}}, svc['Mode'])
        task = svc['TaskTemplate']
        self.assertEqual('none', task['RestartPolicy']['Condition'])
        self.assertEqual({'MemoryBytes': 256 * 1024 * 1024,
                          'NanoCPUs': 500000000, 'Pids': 99},
                         task['Resources']['Limits'])
        self.assertEqual([], task['Networks'])
        self.assertEqual('local', task['LogDriver']['Name'])
        c = task['ContainerSpec']
        self.assertEqual(IMAGE, c['Image'])
        self.assertNotIn('Command', c)      # the image's entrypoint stays
        self.assertEqual(['python3', '/t.py', '{"a":1}'], c['Args'])
        self.assertEqual(['CRATON_PAYLOAD_FILE=/run/craton/payload.json',
                          'HOME=/tmp'], c['Env'])
        self.assertEqual(labels, c['Labels'])
        self.assertEqual('1000:1001', c['User'])
        self.assertTrue(c['ReadOnly'])
        self.assertEqual(['ALL'], c['CapabilityDrop'])
        self.assertEqual([{'Type': 'tmpfs', 'Target': '/tmp',
                           'TmpfsOptions': {'SizeBytes': 32 * 1024 * 1024,
                                            'Mode': 0o1777}}], c['Mounts'])
        self.assertEqual('SIGKILL', c['StopSignal'])
        for key in ('Privileged', 'Hosts', 'Mounts'):
            self.assertNotIn('docker.sock', json.dumps(c.get(key)))
        self.assertEqual([{'SecretID': 'sec1',
                           'SecretName': swarm_spec.secret_names(
                               self.spec())[1],
                           'File': {'Name': '/run/craton/payload.json',
                                    'UID': '1000', 'GID': '1001',
                                    'Mode': 0o400}}], c['Secrets'])

    def test_root_user_refused(self):
        self.cfg.config(group='sandbox', user='0:0')
        self.assertRaises(exception.CratonException, self.driver.start,
                          self.spec())
        self.assertEqual({}, self.api.services_)

    def test_network_none_is_a_network_of_its_own(self):
        self.cfg.config(group='sandbox', network_mode='none')
        handle = self.driver.start(self.spec())
        [(nid, net)] = self.api.networks_.items()
        self.assertEqual('craton-%s-0' % JOB, net['Name'])
        self.assertEqual('overlay', net['Driver'])
        self.assertTrue(net['Internal'])
        self.assertEqual(JOB, net['Labels']['craton.job'])
        self.assertEqual([{'Target': nid}],
                         self.service(handle)['TaskTemplate']['Networks'])

    def test_named_network(self):
        self.cfg.config(group='sandbox', network_mode='tasks-net')
        handle = self.driver.start(self.spec())
        self.assertEqual([{'Target': 'tasks-net'}],
                         self.service(handle)['TaskTemplate']['Networks'])
        self.assertEqual({}, self.api.networks_)


class TestPlacement(SwarmTestCase):

    def constraints(self, handle):
        return self.service(handle)['TaskTemplate']['Placement'][
            'Constraints']

    def row(self, node, status='synced', image=IMAGE):
        return types.SimpleNamespace(node_id=node, hostname='h-' + node,
                                     status=status, image=image,
                                     reason=None)

    def test_config_constraints(self):
        self.cfg.config(group='swarm', placement_constraints=[
            'node.labels.craton==true', 'node.role==worker'])
        handle = self.driver.start(self.spec())
        self.assertEqual(['node.labels.craton==true', 'node.role==worker'],
                         self.constraints(handle))

    def test_no_rows_no_node_constraint(self):
        self.assertEqual([], self.constraints(self.driver.start(
            self.spec())))

    def test_no_task_uuid_no_node_constraint(self):
        self.rows = [self.row('n1')]
        self.assertEqual([], self.constraints(self.driver.start(
            self.spec(task_uuid=None))))

    def test_only_synced_nodes(self):
        self.cfg.config(group='swarm', placement_constraints=['a==b'])
        self.rows = [self.row('n1'), self.row('n2', status='failed'),
                     self.row('n3', image=IMAGE.replace('a' * 64,
                                                        'b' * 64))]
        self.assertEqual(['a==b', 'node.id!=n2', 'node.id!=n3'],
                         self.constraints(self.driver.start(self.spec())))

    def test_node_without_row_is_excluded(self):
        self.rows = [self.row('n1'), self.row('n3')]
        self.assertEqual(['node.id!=n2'],
                         self.constraints(self.driver.start(self.spec())))

    def test_digest_only_row_matches(self):
        self.rows = [self.row('n2', image='sha256:' + 'a' * 64)]
        self.assertEqual(['node.id!=n1', 'node.id!=n3'],
                         self.constraints(self.driver.start(self.spec())))

    def test_no_synced_row_falls_back(self):
        self.rows = [self.row('n1', status='failed')]
        self.assertEqual([], self.constraints(self.driver.start(
            self.spec())))


class TestPayload(SwarmTestCase):

    def secrets(self):
        return sorted(self.api.secrets_.values(), key=lambda s: s['Name'])

    def refs(self, handle):
        return self.service(handle)['TaskTemplate']['ContainerSpec'][
            'Secrets']

    def test_inline_and_file_up_to_64k(self):
        limit = driver_base.MAX_INLINE_PAYLOAD
        for index, size in enumerate((limit, limit + 1)):
            payload = b'"' + b'x' * (size - 2) + b'"'
            handle = self.driver.start(self.spec(payload, index))
            args = self.service(handle)['TaskTemplate']['ContainerSpec'][
                'Args']
            self.assertEqual(payload.decode() if size <= limit
                             else '@/run/craton/payload.json', args[-1])

    def test_one_secret_up_to_the_cap(self):
        payload = b'"' + b'x' * (swarm_spec.SECRET_MAX - 2) + b'"'
        handle = self.driver.start(self.spec(payload))
        [secret] = self.secrets()
        self.assertEqual(payload, base64.b64decode(secret['Data']))
        self.assertNotIn('Templating', secret)
        self.assertEqual(JOB, secret['Labels']['craton.job'])
        [ref] = self.refs(handle)
        self.assertEqual('/run/craton/payload.json', ref['File']['Name'])
        # Nothing of the payload in the service spec but argv.
        spec = json.dumps(self.service(handle))
        self.assertNotIn('x' * 100, spec)

    def test_parts_and_template_past_the_cap(self):
        cap = swarm_spec.SECRET_MAX
        payload = bytes(range(256)) * (2 * cap // 256 + 10)
        handle = self.driver.start(self.spec(payload))
        refs = self.refs(handle)
        self.assertEqual(4, len(refs))      # 3 parts + the template
        by_name = {s['Name']: s for s in self.api.secrets_.values()}
        parts = [by_name[r['SecretName']] for r in refs[:-1]]
        self.assertEqual(payload, b''.join(base64.b64decode(p['Data'])
                                           for p in parts))
        self.assertTrue(all(len(base64.b64decode(p['Data'])) <= cap
                            for p in parts))
        self.assertEqual(['/run/craton/payload.part000',
                          '/run/craton/payload.part001',
                          '/run/craton/payload.part002',
                          '/run/craton/payload.json'],
                         [r['File']['Name'] for r in refs])
        template = by_name[refs[-1]['SecretName']]
        self.assertEqual({'Name': 'golang'}, template['Templating'])
        self.assertEqual(
            '{{ secret "/run/craton/payload.part000" }}'
            '{{ secret "/run/craton/payload.part001" }}'
            '{{ secret "/run/craton/payload.part002" }}',
            base64.b64decode(template['Data']).decode())
        for ref in refs:
            self.assertEqual(0o400, ref['File']['Mode'])
            self.assertEqual('65534', ref['File']['UID'])

    def test_secret_names_fit_swarm(self):
        spec = self.spec(b'x' * (3 * swarm_spec.SECRET_MAX), index=999)
        names = [s['name'] for s in swarm_spec.payload_secrets(spec)]
        self.assertTrue(all(len(n) <= 64 for n in names), names)

    def test_user_name_payload_readable_by_all(self):
        self.cfg.config(group='sandbox', user='nobody')
        handle = self.driver.start(self.spec())
        self.assertEqual(0o444, self.refs(handle)[0]['File']['Mode'])


class TestSecretFiles(SwarmTestCase):
    """Each secret a step receives is a Swarm secret mounted at
    /run/craton/secrets/<name>, the step user's, mode 0400; its name
    tells nothing of its value.
    """

    def test_one_swarm_secret_per_value(self):
        spec = self.spec()
        spec.secrets = {'cloud-admin': b'hunter22', 'bmc': b'p4ssw0rd'}
        handle = self.driver.start(spec)
        refs = {r['File']['Name']: r for r in self.service(handle)[
            'TaskTemplate']['ContainerSpec']['Secrets']}
        self.assertEqual(
            {'/run/craton/payload.json', '/run/craton/secrets/bmc',
             '/run/craton/secrets/cloud-admin'}, set(refs))
        for name, value in spec.secrets.items():
            ref = refs['/run/craton/secrets/' + name]
            self.assertEqual(('65534', '65534', 0o400),
                             (ref['File']['UID'], ref['File']['GID'],
                              ref['File']['Mode']))
            created = [s for s in self.api.secrets_.values()
                       if s['Name'] == ref['SecretName']][0]
            self.assertEqual(value, base64.b64decode(created['Data']))
            self.assertNotIn(name, ref['SecretName'])
        text = json.dumps(self.service(handle))
        self.assertNotIn('hunter22', text)
        self.assertNotIn(base64.b64encode(b'hunter22').decode(), text)


class TestIdempotence(SwarmTestCase):

    def test_existing_service_reused(self):
        h = self.driver.start(self.spec())
        self.api.calls.clear()
        self.assertEqual(h, self.driver.start(self.spec()))
        # Only creates the manager refused by name: nothing new, nothing
        # removed.
        self.assertEqual(['create_secret', 'create_service'],
                         [c[0] for c in self.api.calls])
        self.assertEqual('craton-%s-0' % JOB, self.api.calls[1][1])
        self.assertEqual(1, len(self.api.services_))
        self.assertEqual(h, self.driver.find(JOB, 0))
        self.assertIsNone(self.driver.find(JOB, 1))

    def test_leftover_secrets_reused(self):
        # A conductor died after creating the secrets: the next start
        # uses them (same payload, same names) and creates the service.
        payload = b'y' * (swarm_spec.SECRET_MAX + 5)
        secrets = swarm_spec.payload_secrets(self.spec(payload))
        for s in secrets[:1]:
            self.api._create('secret', self.api.secrets_,
                             swarm_spec.secret_body(s, {}))
        handle = self.driver.start(self.spec(payload))
        self.assertEqual(3, len(self.api.secrets_))
        self.assertEqual(3, len(self.service(handle)['TaskTemplate'][
            'ContainerSpec']['Secrets']))

    def test_name_conflict_uses_the_winner(self):
        winner = self.driver.start(self.spec())
        # Another conductor created it first: ours is refused by name,
        # without a lookup before the create.
        with mock.patch.object(self.driver, 'find',
                               wraps=self.driver.find) as find:
            self.assertEqual(winner, self.driver.start(self.spec()))
        self.assertEqual(1, find.call_count)     # the winner's, after
        self.assertEqual(1, len(self.api.services_))

    def test_start_creates_first(self):
        with mock.patch.object(self.driver, 'find',
                               wraps=self.driver.find) as find:
            self.driver.start(self.spec())
        find.assert_not_called()

    def test_image_not_found(self):
        orig = self.api.answer

        def rejecting(url, data):
            result = orig(url, data)
            if url == '/services/create':
                self.api.tasks_[result['ID']][0]['Status'] = {
                    'State': 'rejected', 'Err': 'No such image: x'}
            return result
        self.api.answer = rejecting
        self.assertRaises(exception.ImageNotFound, self.driver.start,
                          self.spec())
        self.assertEqual({}, self.api.services_)
        self.assertEqual({}, self.api.secrets_)

    def test_refused_service(self):
        self.api.services_['x'] = {'Name': 'craton-%s-0' % JOB,
                                   'Labels': {}}
        orig = self.api.answer

        def refusing(url, data):
            if url == '/services/create':
                raise api_error(400, 'invalid constraint')
            return orig(url, data)
        self.api.answer = refusing
        exc = self.assertRaises(exception.CratonException, self.driver.start,
                                self.spec())
        # The engine's message comes back through engine_http.
        self.assertIn('invalid constraint', str(exc))


class TestState(SwarmTestCase):

    def state(self, **status):
        handle = self.driver.start(self.spec())
        self.task(handle)['Status'] = status
        return self.driver.state(handle)

    def test_running(self):
        self.assertEqual(driver_base.StepState('running', None, None),
                         self.state(State='running'))
        self.assertEqual('running', self.state(State='preparing').status)

    def test_complete_and_failed(self):
        self.assertEqual(driver_base.StepState('exited', 0, None), self.state(
            State='complete', ContainerStatus={'ExitCode': 0}))
        self.assertEqual(driver_base.StepState('exited', 3, None), self.state(
            State='failed', Err='task: non-zero exit (3)',
            ContainerStatus={'ExitCode': 3}))

    def test_rejected(self):
        st = self.state(State='rejected', Err='invalid mount config')
        self.assertEqual(('exited', None), (st.status, st.exit_code))
        self.assertEqual('node node-2 rejected the task: invalid mount '
                         'config', st.error)

    def test_node_down_is_gone(self):
        handle = self.driver.start(self.spec())
        self.api.nodes_['n2']['Status']['State'] = 'down'
        self.assertEqual(driver_base.StepState(
            'gone', None, 'node node-2 is down (its engine stopped '
            'answering)'), self.driver.state(handle))
        self.assertIsNone(self.driver.wait(handle, 5))

    def test_node_left_is_gone(self):
        handle = self.driver.start(self.spec())
        del self.api.nodes_['n2']
        self.assertEqual(driver_base.StepState(
            'gone', None, 'node node-2 has left the swarm'),
            self.driver.state(handle))

    def test_node_state_is_asked_at_most_once_a_ttl(self):
        self.useFixture(fixtures.MockPatchObject(swarm_driver,
                                                 'NODE_STATE_TTL', 30))
        handle = self.driver.start(self.spec())
        with mock.patch.object(self.api, 'inspect_node',
                               wraps=self.api.inspect_node) as inspect:
            for _ in range(5):
                self.assertEqual('running', self.driver.state(handle).status)
            self.assertEqual(0, inspect.call_count)   # start() asked
            self.useFixture(fixtures.MockPatchObject(swarm_driver,
                                                     'NODE_STATE_TTL', 0))
            self.api.nodes_['n2']['Status']['State'] = 'down'
            self.assertEqual('gone', self.driver.state(handle).status)
            self.assertEqual(1, inspect.call_count)

    def test_task_poll_is_fast_while_the_task_is_young(self):
        def wait_after(seconds):
            return swarm_driver.task_poll_wait(
                mock.Mock(seconds_since_start=seconds))
        self.assertEqual(swarm_driver.FAST_POLL, wait_after(0))
        self.assertEqual(swarm_driver.SLOW_POLL,
                         wait_after(swarm_driver.FAST_POLL_FOR))

    def test_unknown_or_disconnected_node_is_not_gone(self):
        # Every node is 'unknown' for a moment after a manager restart.
        handle = self.driver.start(self.spec())
        for state in ('unknown', 'disconnected', 'ready'):
            self.api.nodes_['n2']['Status']['State'] = state
            self.assertEqual('running', self.driver.state(handle).status)

    def test_finished_task_on_a_down_node_keeps_its_exit(self):
        handle = self.driver.start(self.spec())
        self.api.nodes_['n2']['Status']['State'] = 'down'
        self.task(handle)['Status'] = {'State': 'complete',
                                       'ContainerStatus': {'ExitCode': 0}}
        self.assertEqual('exited', self.driver.state(handle).status)

    def test_service_gone(self):
        handle = self.driver.start(self.spec())
        del self.api.services_[handle.id]
        self.assertEqual(driver_base.StepState('gone', None, None),
                         self.driver.state(handle))
        self.assertIsNone(self.driver.wait(handle, 5))

    def test_manager_without_leader_is_unavailable(self):
        handle = self.driver.start(self.spec())
        with mock.patch.object(self.api, 'tasks',
                               side_effect=api_error(503, 'no leader')):
            self.assertRaises(exception.EngineUnavailable,
                              self.driver.state, handle)

    def test_wait(self):
        handle = self.driver.start(self.spec())
        self.assertIsNone(self.driver.wait(handle, 0))
        self.task(handle)['Status'] = {'State': 'complete',
                                       'ContainerStatus': {'ExitCode': 0}}
        self.assertEqual(0, self.driver.wait(handle, 5))


class TestDeadlines(SwarmTestCase):
    """The driver's polls end as soon as what they wait for happens, and
    give up at their deadline, not before.
    """

    def setUp(self):
        super().setUp()
        for name in ('POLL_INTERVAL', 'FAST_POLL', 'SLOW_POLL'):
            self.useFixture(fixtures.MockPatchObject(swarm_driver, name,
                                                     0.01))

    def _after_looks(self, looks, change):
        # Run ``change`` when the driver lists the service's tasks for the
        # ``looks``-th time.
        real, seen = self.api.tasks, [0]

        def tasks(filters=None):
            seen[0] += 1
            if seen[0] == looks:
                change(filters['service'])
            return real(filters)
        self.api.tasks = tasks
        return seen

    def test_start_waits_for_placement(self):
        self.useFixture(fixtures.MockPatchObject(swarm_driver,
                                                 'START_WAIT', 30))
        self.api.place_on = None

        def placed(sid):
            self.api.tasks_[sid][0]['NodeID'] = 'n3'
        seen = self._after_looks(4, placed)
        started = time.monotonic()
        self.assertEqual('node-3', self.driver.start(self.spec()).node)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(4, seen[0])

    def test_start_gives_up_on_placement_after_start_wait(self):
        self.useFixture(fixtures.MockPatchObject(swarm_driver,
                                                 'START_WAIT', 0.2))
        self.api.place_on = None
        started = time.monotonic()
        handle = self.driver.start(self.spec())
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertEqual('', handle.node)
        self.assertIn(handle.id, self.api.services_)

    def test_rejected_image_ends_the_wait_for_placement(self):
        self.useFixture(fixtures.MockPatchObject(swarm_driver,
                                                 'START_WAIT', 30))
        self.api.place_on = None

        def rejected(sid):
            self.api.tasks_[sid][0]['Status'] = {
                'State': 'rejected', 'Err': 'No such image: x'}
        self._after_looks(3, rejected)
        started = time.monotonic()
        self.assertRaises(exception.ImageNotFound, self.driver.start,
                          self.spec())
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual({}, self.api.services_)

    def test_wait_returns_the_exit_code_once_final(self):
        handle = self.driver.start(self.spec())

        def exited(sid):
            self.api.tasks_[sid][0]['Status'] = {
                'State': 'failed', 'ContainerStatus': {'ExitCode': 3}}
        self._after_looks(4, exited)
        started = time.monotonic()
        self.assertEqual(3, self.driver.wait(handle, 30))
        self.assertLess(time.monotonic() - started, 10)

    def test_wait_gives_up_after_its_timeout(self):
        handle = self.driver.start(self.spec())
        started = time.monotonic()
        self.assertIsNone(self.driver.wait(handle, 0.2))
        self.assertGreaterEqual(time.monotonic() - started, 0.2)

    def test_wait_for_a_gone_service_ends_at_once(self):
        handle = self.driver.start(self.spec())
        self.driver.cleanup(handle)
        started = time.monotonic()
        self.assertIsNone(self.driver.wait(handle, 30))
        self.assertLess(time.monotonic() - started, 10)

    def _network(self, in_use_for, status=400):
        # A step network its task holds for the first ``in_use_for``
        # removals.
        self.cfg.config(group='sandbox', network_mode='none')
        self.driver.start(self.spec())
        (nid,) = self.api.networks_
        real, tries = self.api.remove_network, []

        def remove_network(oid):
            tries.append(oid)
            if len(tries) <= in_use_for:
                raise api_error(status, 'network %s is in use' % oid)
            real(oid)
        self.api.remove_network = remove_network
        return nid, tries

    def test_network_removed_once_released(self):
        nid, tries = self._network(in_use_for=3)
        started = time.monotonic()
        self.driver._remove_network(nid, wait=30)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual([nid] * 4, tries)
        self.assertEqual({}, self.api.networks_)

    def test_network_in_use_left_after_the_wait(self):
        nid, tries = self._network(in_use_for=10 ** 6)
        started = time.monotonic()
        with mock.patch.object(swarm_driver.LOG, 'info') as info:
            self.driver._remove_network(nid, wait=0.2)
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertGreater(len(tries), 2)
        self.assertIn(nid, self.api.networks_)
        self.assertEqual('network %s is in use' % nid, info.call_args[0][-1])

    def test_network_in_use_without_wait_is_tried_once(self):
        nid, tries = self._network(in_use_for=10 ** 6)
        self.driver._remove_network(nid)
        self.assertEqual([nid], tries)

    def test_other_network_errors_raised_at_once(self):
        nid, tries = self._network(in_use_for=10 ** 6, status=500)
        self.assertRaises(docker.errors.APIError,
                          self.driver._remove_network, nid, wait=30)
        self.assertEqual([nid], tries)


class TestLogs(SwarmTestCase):

    def test_stream_skip_and_catch_up(self):
        handle = self.driver.start(self.spec())
        self.api.logs[handle.id] = [('stdout', b'one\n'),
                                    ('stderr', b'err\n'),
                                    ('stdout', b'two')]
        self.task(handle)['Status'] = {'State': 'complete',
                                       'ContainerStatus': {'ExitCode': 0}}
        full = b'one\nerr\ntwo'
        for k in range(len(full) + 2):
            self.assertEqual(full[k:], b''.join(
                self.driver.stream_logs(handle, skip_bytes=k)))
        # Each follow, and each read that caught up after it, is closed.
        self.assertEqual([True, False] * (len(full) + 2),
                         [res.follow for res in self.api.streams])
        self.assertTrue(all(res.closed for res in self.api.streams))

    def test_follow_ends_for_a_down_node(self):
        handle = self.driver.start(self.spec())
        self.api.logs[handle.id] = [('stdout', b'up\n')]
        self.api.nodes_['n2']['Status']['State'] = 'down'
        self.assertEqual(b'up\n', b''.join(self.driver.stream_logs(handle)))
        # The follow was stopped (its read unblocked) and released.
        (followed,) = self.api.streams
        self.assertEqual((True, True, True), (
            followed.follow, followed.raw.shut_down, followed.closed))

    def test_gone_service_has_no_log(self):
        handle = self.driver.start(self.spec())
        self.driver.cleanup(handle)
        self.assertEqual(b'', b''.join(self.driver.stream_logs(handle)))
        self.assertEqual([], list(self.driver.read_output(
            handle, output.OutputDecoder())))

    def test_read_output_keeps_streams_apart(self):
        handle = self.driver.start(self.spec())
        self.api.logs[handle.id] = [('stdout', b'a\nb\n'),
                                    ('stderr', b'noise\n'),
                                    ('stdout', b'::craton-result:: {}\nend')]
        got = list(self.driver.read_output(handle, output.OutputDecoder()))
        self.assertEqual([(1, b'a\nb\n'), (2, b'noise\n'),
                          (1, b'::craton-result:: {}\nend')], got)


class TestCleanup(SwarmTestCase):

    def test_kill_removes_service_secrets_network(self):
        self.cfg.config(group='sandbox', network_mode='none')
        handle = self.driver.start(self.spec(b'z' * (
            swarm_spec.SECRET_MAX + 1)))
        self.driver.start(self.spec(index=1))
        self.driver.kill(handle)
        self.assertEqual('gone', self.driver.state(handle).status)
        self.assertEqual(['1'], [s['Labels']['craton.step']
                                 for s in self.api.secrets_.values()])
        self.assertEqual(['1'], [n['Labels']['craton.step']
                                 for n in self.api.networks_.values()])
        self.driver.kill(handle)         # gone: no error
        self.driver.cleanup(handle)

    def test_cleanup_job(self):
        self.cfg.config(group='sandbox', network_mode='none')
        for i in range(3):
            self.driver.start(self.spec(index=i))
        self.driver.cleanup_job(JOB)
        self.assertEqual(({}, {}, {}), (self.api.services_,
                                        self.api.secrets_,
                                        self.api.networks_))

    def test_check(self):
        self.driver.check()
        self.api.swarm_info = {'ControlAvailable': False}
        self.assertRaises(exception.EngineUnavailable, self.driver.check)
