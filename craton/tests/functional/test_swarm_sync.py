# SPDX-License-Identifier: Apache-2.0
"""Registry push and Swarm image sync through a real craton-all.

Needs CRATON_FUNCTIONAL=1. ``SwarmSyncTest`` also needs the 3-node cluster
of tools/swarm-cluster.sh (CRATON_SWARM=1, see swarmenv.py; CI sets it):
craton-all builds on the manager, pushes to the cluster's registry and
syncs each image to the nodes, which the test checks on every node's own
engine. ``RegistryOnlyTest`` runs on the main engine with the registry of
tools/registry.sh (127.0.0.1:5001): pushed, no sync, jobs run by digest.
With CRATON_FUNCTIONAL set, a cluster or registry that does not answer is
a failure, not a skip.
"""

import os
import re
import threading
import time

import docker
import requests
import testtools
from testtools import content

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment
from craton.tests.functional import swarmenv

LOCAL_REGISTRY = os.environ.get('CRATON_TEST_REGISTRY', '127.0.0.1:5001')
BUSYBOX_TASK = '''\
FROM craton/busybox:latest
RUN echo %s > /version
CMD ["sh", "-c", "echo task code ran; touch /tmp/ran"]
'''


def manifest_status(registry, task_uuid, digest):
    """HTTP status of HEAD /v2/craton/task-<uuid>/manifests/<digest>."""
    return requests.head(
        'http://%s/v2/craton/task-%s/manifests/%s' % (registry, task_uuid,
                                                      digest),
        headers={'Accept': 'application/vnd.docker.distribution.manifest.'
                           'v2+json'}, timeout=10).status_code


def wait_for(check, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('%s not reached within %s s' % (what,
                                                                  timeout))
        time.sleep(interval)


class StatusWatch:
    """Every distinct status a task shows, polled every 50 ms."""

    def __init__(self, client, ident):
        self.client, self.ident = client, ident
        self.seen = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self):
        while not self.stop.is_set():
            try:
                status = self.client.get('/v1/tasks/%s' % self.ident)[
                    'status']
            except Exception:
                status = None
            if status and (not self.seen or self.seen[-1] != status):
                self.seen.append(status)
            if status in ('ready', 'error'):
                return
            time.sleep(0.05)

    def join(self, timeout):
        self.thread.join(timeout)
        self.stop.set()
        return self.seen


def node_socket_template():
    """``[swarm] node_docker_socket`` for tools/swarm-cluster.sh: node N
    (host name craton-nodeN) has its socket at /run/craton/swarm/nodeN/.
    """
    urls = swarmenv.node_urls()
    for number, url in urls.items():
        if url != 'unix:///run/craton/swarm/node%d/docker.sock' % number:
            raise AssertionError('unexpected node socket %s' % url)
    return '/run/craton/swarm/{{slice .Node.Hostname 7}}/docker.sock'


@dbfixtures.requires_functional
@swarmenv.requires_swarm
class SwarmSyncTest(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = swarmenv.registry()
        try:
            requests.get('http://%s/v2/' % cls.registry, timeout=10)
            manager = docker.DockerClient(base_url=swarmenv.manager_url())
            ready = [n for n in manager.api.nodes()
                     if n['Status']['State'] == 'ready']
        except Exception as exc:
            raise AssertionError('the Swarm cluster does not answer (%s); '
                                 'start it with tools/swarm-cluster.sh'
                                 % exc)
        if len(ready) != 3:
            raise AssertionError('expected 3 ready Swarm nodes, got %d'
                                 % len(ready))
        cls.manager = manager
        cls.root = deployment.source_root()
        cls.deploy = deployment.Deployment(
            source_roots=[cls.root], extra=swarmenv.deployment_extra({
                'swarm': {'sync_interval': '5', 'sync_timeout': '120',
                          'node_docker_socket': node_socket_template()},
                'docker': {'timeout': '60'}}))
        cls.deploy.setUp()
        cls.api = cls.deploy.client
        cls.nodes = {n: docker.DockerClient(base_url=url)
                     for n, url in swarmenv.node_urls().items()}

    @classmethod
    def tearDownClass(cls):
        cls.deploy.cleanUp()
        for client in cls.nodes.values():
            client.close()
        cls.manager.close()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.addOnException(self.attach_log)

    def attach_log(self, exc_info):
        self.addDetail('craton-all.log', content.text_content(
            self.deploy.log('craton-all-1')[-30000:]))

    def make_task(self, name):
        path = deployment.task_dir(self.root, name,
                                   dockerfile=BUSYBOX_TASK % time.time())
        task = self.api.create_task(name, path, ['sh', '-c', 'exit 0'])
        return task, path

    def ref(self, task):
        return '%s/craton/task-%s@%s' % (self.registry, task['uuid'],
                                         task['registry_digest'])

    def on_node(self, number, ref):
        try:
            self.nodes[number].api.inspect_image(ref)
            return True
        except docker.errors.ImageNotFound:
            return False

    def assert_synced(self, task, hostnames):
        nodes = {n['hostname']: n for n in task['nodes']}
        for host in hostnames:
            self.assertEqual('synced', nodes[host]['status'], task['nodes'])
            self.assertIsNone(nodes[host]['reason'])
            self.assertTrue(self.on_node(int(host[-1]), self.ref(task)),
                            '%s does not hold %s' % (host, self.ref(task)))

    def test_build_sync_rebuild_delete(self):
        started = time.monotonic()
        task, path = self.make_task('sync-busybox')
        watch = StatusWatch(self.api, task['uuid'])
        task = self.api.wait_task(task['uuid'], timeout=300)
        build_to_ready = time.monotonic() - started
        seen = watch.join(10)
        self.assertEqual(['building', 'syncing', 'ready'],
                         [s for s in seen if s != 'pending'], seen)
        self.assertEqual(
            '%s/craton/task-%s:1' % (self.registry, task['uuid']),
            task['image'])
        self.assertTrue(re.match(r'^sha256:[0-9a-f]{64}$',
                                 task['registry_digest']))
        self.assertNotEqual(task['image_digest'], task['registry_digest'])
        self.assertEqual(['craton-node1', 'craton-node2', 'craton-node3'],
                         [n['hostname'] for n in task['nodes']])
        self.assert_synced(task, ['craton-node1', 'craton-node2',
                                  'craton-node3'])
        self.addDetail('build_to_ready_seconds',
                       content.text_content('%.2f' % build_to_ready))
        # The sync ran nothing of the task, and left no service behind.
        self.assertEqual([], self.manager.api.services(
            filters={'label': 'craton.sync'}))

        # A rebuild with a changed Dockerfile re-syncs; the old manifest
        # and the old image on the nodes go.
        old = task
        with open(os.path.join(path, 'Dockerfile'), 'w') as f:
            f.write(BUSYBOX_TASK % ('changed %s' % time.time()))
        self.api.post('/v1/tasks/%s/rebuild' % task['uuid'], expect=202)
        task = self.api.wait_task(task['uuid'], timeout=300)
        self.assertNotEqual(old['registry_digest'], task['registry_digest'])
        self.assertTrue(task['image'].endswith(':2'))
        self.assert_synced(task, ['craton-node1', 'craton-node2',
                                  'craton-node3'])
        self.assertEqual(200, manifest_status(self.registry, task['uuid'],
                                              task['registry_digest']))
        wait_for(lambda: manifest_status(
            self.registry, task['uuid'], old['registry_digest']) == 404,
            120, 'old manifest deleted from the registry')
        wait_for(lambda: not any(self.on_node(n, self.ref(old))
                                 for n in self.nodes),
                 180, 'old image removed from every node')

        # Deleting the task removes its image everywhere.
        self.api.request('DELETE', '/v1/tasks/%s' % task['uuid'], 204)
        wait_for(lambda: manifest_status(
            self.registry, task['uuid'], task['registry_digest']) == 404,
            120, 'manifest deleted from the registry')
        wait_for(lambda: not any(self.on_node(n, self.ref(task))
                                 for n in self.nodes),
                 180, 'image removed from every node')

    def test_stopped_node_then_periodic_sync(self):
        self.addCleanup(swarmenv.cluster, 'start-node', 3)
        swarmenv.cluster('stop-node', 3)
        wait_for(lambda: [n for n in self.manager.api.nodes()
                          if n['Description']['Hostname'] == 'craton-node3'
                          and n['Status']['State'] != 'ready'],
                 60, 'node3 seen down by the manager')
        task, _ = self.make_task('sync-node-down')
        task = self.api.wait_task(task['uuid'], timeout=300)
        self.assert_synced(task, ['craton-node1', 'craton-node2'])
        node3 = [n for n in task['nodes'] if n['hostname'] == 'craton-node3']
        if node3:
            self.assertEqual('failed', node3[0]['status'])
            self.assertIn('down', node3[0]['reason'])

        swarmenv.cluster('start-node', 3)
        # The periodic sync (every 5 s here) brings the image to node3.
        task = wait_for(lambda: (lambda t: t if any(
            n['hostname'] == 'craton-node3' and n['status'] == 'synced'
            for n in t['nodes']) else None)(
                self.api.get('/v1/tasks/%s' % task['uuid'])),
            180, 'node3 synced by the periodic sync', 1)
        self.assertEqual('ready', task['status'])
        self.assert_synced(task, ['craton-node1', 'craton-node2',
                                  'craton-node3'])


class EventImages:
    """Images of the containers the engine creates for one job's steps."""

    def __init__(self, client, job_label='craton.job'):
        self.created = []
        self._events = client.events(
            decode=True, filters={'type': 'container', 'event': 'create',
                                  'label': 'craton.managed=true'})
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            for event in self._events:
                attrs = event['Actor']['Attributes']
                self.created.append((attrs.get('craton.job'),
                                     attrs.get('image')))
        except Exception:
            pass

    def stop(self):
        self._events.close()


@dbfixtures.requires_functional
class RegistryOnlyTest(testtools.TestCase):
    """[docker] registry with the docker driver on one engine."""

    def setUp(self):
        super().setUp()
        try:
            requests.get('http://%s/v2/' % LOCAL_REGISTRY, timeout=10)
        except requests.RequestException as exc:
            self.fail('no registry at %s (%s); start it with '
                      'tools/registry.sh' % (LOCAL_REGISTRY, exc))
        self.root = deployment.source_root()
        self.deploy = self.useFixture(deployment.Deployment(
            source_roots=[self.root],
            extra={'docker': {'registry': LOCAL_REGISTRY}}))
        self.api = self.deploy.client
        self.engine = docker.DockerClient(base_url=deployment.DOCKER_URL)
        self.addCleanup(self.engine.close)

    def test_push_and_run_by_digest(self):
        path = deployment.task_dir(self.root, 'pushed', dockerfile=(
            'FROM craton/busybox:latest\nRUN echo %s > /v\n' % time.time()))
        task = self.api.create_task('pushed', path,
                                    ['sh', '-c', 'cat /v'])
        watch = StatusWatch(self.api, task['uuid'])
        task = self.api.wait_task(task['uuid'])
        self.assertNotIn('syncing', watch.join(10))
        self.assertEqual('%s/craton/task-%s:1' % (LOCAL_REGISTRY,
                                                  task['uuid']),
                         task['image'])
        self.assertEqual(200, manifest_status(LOCAL_REGISTRY, task['uuid'],
                                              task['registry_digest']))
        self.assertEqual([], task['nodes'])
        self.api.post('/v1/tasks/%s/approve' % task['uuid'], expect=200)
        self.api.add_hosts(['reg-host'])
        events = EventImages(self.engine)
        self.addCleanup(events.stop)
        job = self.api.submit_job({'hosts': ['reg-host']}, task='pushed')
        job = self.api.wait_job(job['uuid'])
        self.assertEqual('succeeded', job['status'], job)
        want = '%s/craton/task-%s@%s' % (LOCAL_REGISTRY, task['uuid'],
                                         task['registry_digest'])
        wait_for(lambda: [i for j, i in events.created
                          if j == job['uuid']], 10, 'create event')
        self.assertEqual([want], [i for j, i in events.created
                                  if j == job['uuid']])
        self.api.request('DELETE', '/v1/tasks/%s' % task['uuid'], 204)
        wait_for(lambda: manifest_status(
            LOCAL_REGISTRY, task['uuid'], task['registry_digest']) == 404,
            60, 'manifest deleted')
