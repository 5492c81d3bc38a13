# SPDX-License-Identifier: Apache-2.0
"""The swarm execution driver against a real multi-node Docker Swarm.

Needs CRATON_FUNCTIONAL=1 and the cluster of tools/swarm-cluster.sh (see
swarmenv.py: CRATON_SWARM=1 or its CRATON_SWARM_* variables). The base
images are pulled by the nodes from the cluster's registry.
"""

import collections
import hashlib
import threading
import time
import types
import uuid
from unittest import mock

import docker
from oslo_config import fixture as config_fixture
import testtools

from craton.common import exception
from craton.conductor.drivers import base as driver_base
from craton.conductor.drivers import output
from craton.conductor.drivers import swarm as swarm_driver
from craton.conductor.drivers.swarm import spec as swarm_spec
from craton import conf
from craton.tests.functional import dbfixtures
from craton.tests.functional import swarmenv
from craton.tests.functional import test_docker_driver as docker_tests

CONF = conf.CONF
STEP_TIMEOUT = 120


@dbfixtures.requires_functional
@swarmenv.requires_swarm
class SwarmFunctionalBase(testtools.TestCase):
    """Config + driver for the cluster; every test's job cleaned up."""

    def setUp(self):
        super().setUp()
        self.cfg = self.useFixture(config_fixture.Config(CONF))
        self.cfg.config(group='docker', url=swarmenv.manager_url(),
                        registry=swarmenv.registry(), timeout=60)
        self.cfg.config(group='sandbox', network_mode='none')
        self.driver = swarm_driver.SwarmDriver(CONF)
        self.driver.check()     # no manager: an error, not a skip
        self.api = self.driver._api()
        self.busybox = swarmenv.registry() + '/craton/busybox:latest'
        self.python = swarmenv.registry() + '/craton/python3:bookworm'
        self.job = str(uuid.uuid4())
        self.addCleanup(self.assert_job_cleaned)
        self.addCleanup(self.driver.cleanup_job, self.job)

    def assert_job_cleaned(self):
        label = {'label': ['craton.job=%s' % self.job]}
        self.assertEqual([], self.api.services(filters=label))
        self.assertEqual([], self.api.secrets(filters=label))
        # The manager's own node lists a removed network until its local
        # copy is gone (a task there was still being stopped).
        deadline = time.monotonic() + 20
        while self.api.networks(filters=label) and \
                time.monotonic() < deadline:
            time.sleep(0.5)
        self.assertEqual([], self.api.networks(filters=label))

    def spec(self, command, payload=b'{}', image=None, index=0):
        return driver_base.StepSpec(
            job_uuid=self.job, step_index=index, step_name='s%d' % index,
            image=image or self.busybox, command=command, payload=payload,
            timeout=STEP_TIMEOUT)

    def sh(self, script, payload=b'{}', **kwargs):
        return self.spec(['sh', '-c', script, 'task'], payload, **kwargs)

    def finish(self, handle, timeout=STEP_TIMEOUT):
        code = self.driver.wait(handle, timeout)
        if code is None:
            self.driver.kill(handle)
            self.fail('step did not end within %ss (%s); killed' % (
                timeout, self.driver.state(handle)))
        return code

    def run_step(self, spec, timeout=STEP_TIMEOUT):
        handle = self.driver.start(spec)
        code = self.finish(handle, timeout)
        return code, b''.join(self.driver.stream_logs(handle)), handle

    def tasks(self, handle):
        return self.api.tasks(filters={'service': handle.id})


class TestPayload(SwarmFunctionalBase):

    SCRIPT = docker_tests.TestPayload.SCRIPT

    def test_inline_payload_in_argv_and_file(self):
        payload = docker_tests.compact({'a': 'b',
                                        'text': 'caf\u00e9 \'"$(x)`{{x}}'})
        code, out, handle = self.run_step(self.sh(self.SCRIPT, payload))
        self.assertEqual(0, code)
        self.assertEqual(payload + b'\n' + payload, out)
        # Only the contract's argv: the payload is nowhere else in the spec.
        spec = self.api.inspect_service(handle.id)['Spec']
        container = spec['TaskTemplate']['ContainerSpec']
        self.assertEqual(['CRATON_PAYLOAD_FILE=/run/craton/payload.json',
                          'HOME=/tmp'], container['Env'])

    def test_boundaries(self):
        limit = driver_base.MAX_INLINE_PAYLOAD
        cap = swarm_spec.SECRET_MAX
        for index, size in enumerate((limit, limit + 1, cap, cap + 1,
                                      3 * cap + 7)):
            payload = docker_tests.compact({'pad': 'x' * (size - 10)})
            self.assertEqual(size, len(payload))
            code, out, handle = self.run_step(self.sh(self.SCRIPT, payload,
                                                      index=index))
            self.assertEqual(0, code)
            arg = payload if size <= limit else b'@/run/craton/payload.json'
            self.assertEqual(arg + b'\n' + payload, out, 'size %d' % size)
            spec = self.api.inspect_service(handle.id)['Spec']
            refs = spec['TaskTemplate']['ContainerSpec']['Secrets']
            self.assertEqual(1 if size <= cap else -(-size // cap) + 1,
                             len(refs))
            self.driver.cleanup(handle)
            label = {'label': ['craton.job=%s' % self.job,
                               'craton.step=%d' % index]}
            self.assertEqual([], self.api.secrets(filters=label))

    def test_10000_hosts_by_file_on_a_worker(self):
        # Several MiB: far past one secret; on a worker node, so the parts
        # travel to the node and are put together there.
        payload = docker_tests.inventory_payload(10000)
        self.assertGreater(len(payload), 8 * 1024 * 1024)
        manager = self.api.info()['Name']
        self.cfg.config(group='swarm', placement_constraints=[
            'node.hostname!=%s' % manager])
        start = time.monotonic()
        code, out, handle = self.run_step(self.sh(
            'echo "$1"; md5sum "$CRATON_PAYLOAD_FILE"; '
            'ls -ln "$CRATON_PAYLOAD_FILE"', payload))
        elapsed = time.monotonic() - start
        self.assertEqual(0, code, out)
        lines = out.decode().splitlines()
        self.assertEqual('@/run/craton/payload.json', lines[0])
        self.assertEqual(hashlib.md5(payload).hexdigest(),
                         lines[1].split()[0])
        # Owned by the task's user, readable by it alone.
        self.assertTrue(lines[2].startswith('-r--------'), lines[2])
        self.assertEqual(['65534', '65534'], lines[2].split()[2:4])
        self.assertNotEqual(manager, handle.node)
        self.addDetail('timing', testtools.content.text_content(
            '%d bytes to %s: start+wait+logs %.2fs' % (
                len(payload), handle.node, elapsed)))

    def test_python_reads_payload_file(self):
        payload = docker_tests.inventory_payload(100)
        script = ('import json, os, sys; arg = sys.argv[1]; '
                  'd = json.load(open(os.environ["CRATON_PAYLOAD_FILE"])); '
                  'print(arg.startswith("@"), len(d["inventory"]))')
        code, out, _ = self.run_step(self.spec(['python3', '-c', script],
                                               payload, image=self.python))
        self.assertEqual((0, b'True 100\n'), (code, out))


class TestSandbox(SwarmFunctionalBase):

    def test_confined(self):
        script = ('id -u; id -g; grep CapEff /proc/self/status; '
                  'touch /x 2>&1; touch /tmp/x && echo tmp-ok; '
                  'grep " /tmp " /proc/mounts; ip route; '
                  'cat /sys/fs/cgroup/pids/pids.max; '
                  'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; '
                  'ls /var/run/docker.sock /run/docker.sock 2>&1')
        self.cfg.config(group='sandbox', memory='96m', pids_limit=40)
        code, out, _ = self.run_step(self.sh(script))
        out = out.decode()
        self.assertEqual(1, code, out)     # ls of the sockets fails
        lines = out.splitlines()
        self.assertEqual(['65534', '65534'], lines[:2])
        self.assertIn('0000000000000000', lines[2])
        self.assertIn('Read-only file system', out)
        self.assertIn('tmp-ok', out)
        self.assertIn('noexec', [ln for ln in lines if ' /tmp ' in ln][0])
        # network_mode none: a network of its own with no route out.
        self.assertNotIn('default', out)
        self.assertIn('40\n', out)
        self.assertIn(str(96 * 1024 * 1024), out)
        self.assertIn('No such file or directory', out)


class TestLifecycle(SwarmFunctionalBase):

    def test_exit_codes_and_state(self):
        for index, code in enumerate((0, 1, 7, 255)):
            got, _, handle = self.run_step(self.sh('exit %d' % code,
                                                   index=index))
            self.assertEqual(code, got)
            self.assertEqual(driver_base.StepState('exited', code, None),
                             self.driver.state(handle))
            self.assertEqual(1, len(self.tasks(handle)))

    def test_node_is_swarm_node_hostname(self):
        handle = self.driver.start(self.sh('exit 0'))
        hostnames = {n['Description']['Hostname'] for n in self.api.nodes()}
        self.assertIn(handle.node, hostnames)

    def test_kill(self):
        handle = self.driver.start(self.sh('echo started; sleep 300'))
        self.assertIsNone(self.driver.wait(handle, 1))
        self.assertEqual('running', self.driver.state(handle).status)
        stream = self.driver.stream_logs(handle)
        self.assertEqual(b'started\n', next(stream))
        start = time.monotonic()
        self.driver.kill(handle)
        # The service is removed: no exit code, the log ends.
        self.assertEqual(driver_base.StepState('gone', None, None),
                         self.driver.state(handle))
        self.assertIsNone(self.driver.wait(handle, 30))
        self.assertEqual(b'', b''.join(stream))
        self.assertLess(time.monotonic() - start, 15)
        self.assertIsNone(self.driver.find(self.job, 0))
        self.driver.kill(handle)          # gone: no error
        self.driver.cleanup(handle)       # again: no error

    def test_cleanup_job(self):
        for i in range(3):
            self.driver.start(self.sh('sleep 300', index=i))
        self.driver.cleanup_job(self.job)
        self.assert_job_cleaned()

    def test_start_twice_one_service_and_find(self):
        spec = self.sh('sleep 300')
        h1 = self.driver.start(spec)
        h2 = self.driver.start(spec)
        other = swarm_driver.SwarmDriver(CONF)     # another conductor
        self.assertEqual(h1, other.start(spec))
        self.assertEqual(h1.id, h2.id)
        self.assertEqual(h1, other.find(self.job, 0))
        label = {'label': ['craton.job=%s' % self.job]}
        self.assertEqual(1, len(self.api.services(filters=label)))

    def test_racing_starts_one_service(self):
        spec = self.sh('sleep 300', docker_tests.compact(
            {'pad': 'x' * (2 * swarm_spec.SECRET_MAX)}))
        handles, errors = [], []

        def start():
            try:
                handles.append(swarm_driver.SwarmDriver(CONF).start(spec))
            except Exception as exc:   # reported below
                errors.append(exc)
        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        self.assertEqual([], errors)
        self.assertEqual(1, len({h.id for h in handles}))
        label = {'label': ['craton.job=%s' % self.job]}
        self.assertEqual(1, len(self.api.services(filters=label)))
        self.assertEqual('running', self.driver.state(handles[0]).status)

    def test_image_not_found(self):
        image = swarmenv.registry() + '/craton/no-such@sha256:' + '0' * 64
        self.assertRaises(exception.ImageNotFound, self.driver.start,
                          self.sh('exit 0', image=image))
        self.assertIsNone(self.driver.find(self.job, 0))

    def test_steps_land_on_several_nodes(self):
        handles = [self.driver.start(self.sh('sleep 20', index=i))
                   for i in range(6)]
        nodes = collections.Counter(h.node for h in handles)
        self.assertGreater(len(nodes), 1, nodes)
        self.addDetail('nodes', testtools.content.text_content(str(nodes)))

    def test_synced_nodes_only(self):
        # The sync records say only one node holds the image: every step
        # lands there.
        nodes = {n['Description']['Hostname']: n['ID']
                 for n in self.api.nodes()}
        target = sorted(nodes)[-1]
        rows = [types.SimpleNamespace(node_id=nid, hostname=host,
                                      image=self.busybox,
                                      status='synced' if host == target
                                      else 'failed', reason=None)
                for host, nid in nodes.items()]
        dbapi = mock.Mock(list_task_nodes=mock.Mock(return_value=rows))
        with mock.patch('craton.db.api.get_instance', return_value=dbapi):
            handles = []
            for i in range(4):
                spec = self.sh('sleep 10', index=i)
                spec.task_uuid = str(uuid.uuid4())
                handles.append(self.driver.start(spec))
        self.assertEqual({target}, {h.node for h in handles})


class TestLogs(docker_tests.StreamingContract, SwarmFunctionalBase):

    # Nothing attaches to a service's container: stderr's last line, of
    # 16 KiB and more, ends with an assumed newline (right, here).
    assumed_when_long_last_line = [output.STDERR]

    @property
    def python_image(self):
        return self.python

    PATTERN = docker_tests.TestLogs.PATTERN

    def test_skip_bytes_is_exact(self):
        code, full, handle = self.run_step(self.sh(self.PATTERN))
        self.assertEqual(0, code)
        lines = full.split(b'\n')
        self.assertEqual(2000, len([ln for ln in lines
                                    if ln.startswith(b'out-')]))
        self.assertEqual(2000, len([ln for ln in lines
                                    if ln.startswith(b'err-')]))
        self.assertTrue(full.endswith(b'L' * 40000 + b'no-newline-end'))
        # The service log is the container's log, byte for byte.
        cid = self.tasks(handle)[0]['Status']['ContainerStatus'][
            'ContainerID']
        node_api = self.node_api(handle)
        self.assertEqual(node_api.logs(cid, stdout=True, stderr=True), full)
        self.assertEqual(full, b''.join(self.driver.stream_logs(handle)))
        for k in (1, 8, 4096, 16385, 123457, len(full) // 2,
                  len(full) - 1, len(full), len(full) + 5):
            self.assertEqual(full[k:], b''.join(
                self.driver.stream_logs(handle, skip_bytes=k)),
                'skip_bytes=%d' % k)

    def node_api(self, handle):
        for url in swarmenv.node_urls().values():
            api = docker.APIClient(base_url=url, version='auto')
            if api.info()['Name'] == handle.node:
                return api
        self.fail('no engine URL for node %s' % handle.node)


class TestNodeDown(SwarmFunctionalBase):
    """A worker's engine dies mid-step: the step is gone with the reason
    soon after the manager marks the node down, never running for ever.
    """

    def node_number(self, hostname):
        return swarmenv.node_number(hostname)

    def test_engine_death_is_noticed(self):
        manager = self.api.info()['Name']
        workers = sorted(n['Description']['Hostname']
                         for n in self.api.nodes()
                         if n['Description']['Hostname'] != manager)
        target = workers[0]
        number = self.node_number(target)
        self.cfg.config(group='swarm', placement_constraints=[
            'node.hostname==%s' % target])
        handle = self.driver.start(self.sh('echo up; sleep 300'))
        self.assertEqual(target, handle.node)
        stream = self.driver.stream_logs(handle)
        self.assertEqual(b'up\n', next(stream))
        self.addCleanup(swarmenv.cluster, 'start-node', number)
        swarmenv.cluster('stop-node', number)
        stopped = time.monotonic()
        while True:
            st = self.driver.state(handle)
            if st.status != 'running':
                break
            self.assertLess(time.monotonic() - stopped, 60,
                            'still running after the engine died')
            time.sleep(0.5)
        noticed = time.monotonic() - stopped
        self.assertEqual('gone', st.status)
        self.assertIn('node %s is down' % target, st.error)
        # The log stream ends too instead of waiting for ever.
        self.assertEqual(b'', b''.join(stream))
        self.assertIsNone(self.driver.wait(handle, 1))
        # Swarm did not start the step again anywhere.
        self.assertEqual(1, len(self.tasks(handle)))
        self.addDetail('timing', testtools.content.text_content(
            'noticed %.1f s after the engine was killed' % noticed))
