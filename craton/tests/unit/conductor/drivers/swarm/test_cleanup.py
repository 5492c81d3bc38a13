# SPDX-License-Identifier: Apache-2.0
"""Removing task images from Swarm nodes: the node helper (its script run
for real against a fake engine socket) and its image."""

import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading
from unittest import mock

import docker
import fixtures

from craton.common import exception
from craton.conductor.builds import registry
from craton.conductor.drivers.swarm import cleanup as image_cleanup
from craton.conductor.drivers.swarm import sync
from craton import conf
from craton.tests.unit.conductor.builds import test_registry
from craton.tests.unit.conductor.drivers.swarm import test_sync

CONF = conf.CONF
REG = test_sync.REG
UUID = '0b6f3c4e-6d1a-4a53-9a8e-2f0f1b7b9c11'
NEW = 'sha256:' + 'a' * 64
OLD = 'sha256:' + 'b' * 64
PINNED = 'sha256:' + 'c' * 64


def images():
    """/images/json of a node that holds three builds of the task (pulled
    by digest: no tags), a base image, and another task's image.
    """
    repo = '%s/craton/task-%s' % (REG, UUID)
    return [
        {'Id': 'sha256:new', 'RepoTags': None,
         'RepoDigests': [repo + '@' + NEW]},
        {'Id': 'sha256:old', 'RepoTags': ['<none>:<none>'],
         'RepoDigests': [repo + '@' + OLD]},
        {'Id': 'sha256:pinned', 'RepoTags': [],
         'RepoDigests': [repo + '@' + PINNED]},
        # A task whose Dockerfile is a bare FROM: the base image's id.
        {'Id': 'sha256:busybox',
         'RepoTags': ['craton/busybox:latest', 'craton/task-%s:1' % UUID],
         'RepoDigests': ['%s/craton/busybox@sha256:%s' % (REG, 'd' * 64)]},
        {'Id': 'sha256:other', 'RepoTags': ['craton/task-%s2:1' % UUID[:-1]],
         'RepoDigests': []},
    ]


class FakeEngine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path, node_id):
        self.node_id = node_id
        self.deleted = []
        engine = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def address_string(self):
                return 'engine'

            def log_message(self, *args):
                pass

            def reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == '/info':
                    self.reply(200, {'Swarm': {'NodeID': engine.node_id}})
                else:
                    self.reply(200, images())

            def do_DELETE(self):
                engine.deleted.append(self.path)
                self.reply(200, [{'Untagged': self.path}])

        super().__init__(path, Handler)


class TestNodeScript(test_sync.SyncTestCase):

    def run_script(self, node_id='n1', engine_node='n1', keep=()):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 's')
        engine = FakeEngine(path, engine_node)
        thread = threading.Thread(target=engine.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(engine.server_close)
        self.addCleanup(engine.shutdown)
        template, _ = image_cleanup.clean_spec('helper@x', '/s', UUID, keep)
        env = dict(e.split('=', 1) for e in template['ContainerSpec']['Env'])
        env.update(CRATON_NODE_ID=node_id, CRATON_SOCKET=path)
        command = template['ContainerSpec']['Command']
        self.assertEqual(['python3', '-c'], command[:2])
        out = subprocess.run([sys.executable, '-c', command[2]], env=env,
                             capture_output=True, text=True, timeout=30)
        return out, engine.deleted

    def test_removes_stale_references_keeps_the_rest(self):
        out, deleted = self.run_script(keep=(NEW, PINNED))
        self.assertEqual(0, out.returncode, out.stdout + out.stderr)
        repo = '%s/craton/task-%s' % (REG, UUID)
        # By reference: the base image only loses the task's tag.
        self.assertEqual(['/images/%s@%s?force=1' % (repo, OLD),
                          '/images/craton/task-%s:1?force=1' % UUID],
                         deleted)
        self.assertIn('craton-clean: kept sha256:new', out.stdout)

    def test_refuses_another_nodes_engine(self):
        out, deleted = self.run_script(node_id='n2', engine_node='n1')
        self.assertEqual(image_cleanup.WRONG_ENGINE_EXIT, out.returncode)
        self.assertEqual([], deleted)
        self.assertIn('nothing removed', out.stdout)


class TestCleanSpec(test_sync.SyncTestCase):

    def test_only_the_helper_gets_the_socket(self):
        template, mode = image_cleanup.clean_spec(
            '%s/craton/python3@%s' % (REG, NEW),
            '/run/craton/swarm/{{slice .Node.Hostname 7}}/docker.sock',
            UUID, {OLD})
        spec = template['ContainerSpec']
        self.assertEqual('%s/craton/python3@%s' % (REG, NEW), spec['Image'])
        self.assertEqual([{
            'Target': image_cleanup.SOCKET_IN_CONTAINER,
            'Source': '/run/craton/swarm/{{slice .Node.Hostname 7}}/'
                      'docker.sock',
            'Type': 'bind', 'ReadOnly': False}],
            [{k: m[k] for k in ('Target', 'Source', 'Type', 'ReadOnly')}
             for m in spec['Mounts']])
        self.assertIn('CRATON_NODE_ID={{.Node.ID}}', spec['Env'])
        self.assertIn('CRATON_TASK=%s' % UUID, spec['Env'])
        self.assertIn('CRATON_KEEP=%s' % OLD, spec['Env'])
        self.assertEqual('none', template['RestartPolicy']['Condition'])
        self.assertEqual({'global': {}}, dict(mode))
        # The task sync never mounts anything.
        pull, _ = sync.pull_spec('x@' + NEW, [], 'n')
        self.assertNotIn('Mounts', pull['ContainerSpec'])

    def test_judge(self):
        table = [
            ({'State': 'complete'}, image_cleanup.CLEANED),
            ({'State': 'running'}, None),
            ({'State': 'preparing'}, None),
            ({'State': 'failed', 'Err': 'task: non-zero exit (3)',
              'ContainerStatus': {'ExitCode': 3}}, sync.FAILED),
            ({'State': 'failed', 'Err': 'task: non-zero exit (1)',
              'ContainerStatus': {'ExitCode': 1}}, sync.FAILED),
            (test_sync.NO_SUCH_IMAGE, sync.FAILED),
        ]
        for status, want in table:
            self.assertEqual(want, image_cleanup.judge_clean(
                {'Status': status})[0], status)
        self.assertIn('node_docker_socket', image_cleanup.judge_clean(
            {'Status': table[3][0]})[1])

    def test_clean_nodes_runs_on_active_ready_nodes(self):
        nodes = [test_sync.raw_node('n1', 'craton-node1'),
                 test_sync.raw_node('n2', 'craton-node2', state='down')]
        client = self.swarm({'craton-node1': [{'State': 'complete'}]}, nodes)
        with mock.patch.object(image_cleanup, 'helper_reference',
                               return_value='helper@' + NEW):
            results = image_cleanup.clean_nodes(client, CONF, UUID, {NEW})
        self.assertEqual({'n1': image_cleanup.CLEANED},
                         {k: r.status for k, r in results.items()})
        created = client.api.created[0]
        self.assertTrue(created['name'].startswith('craton-clean-%s-'
                                                   % UUID))
        self.assertEqual('clean', created['labels'][sync.LABEL_KIND])
        self.assertEqual(['svc1'], client.api.removed)


class FakeEngineClient:
    def __init__(self, image_list, repo_digests=()):
        self.api = mock.Mock()
        self.api.images.return_value = image_list
        self.api.inspect_image.return_value = {
            'Id': 'sha256:helper', 'RepoDigests': list(repo_digests)}
        self.api.base_url = 'http+docker://engine'


class TestHelperImage(test_sync.SyncTestCase):

    def test_helper_reference_reuses_a_pushed_digest(self):
        repo = '%s/craton/python3' % REG
        client = FakeEngineClient([], [repo + '@' + NEW])
        session = test_registry.FakeSession({'craton/python3': {
            'bookworm': NEW}})
        with mock.patch.object(registry.requests, 'Session',
                               return_value=session):
            self.assertEqual(repo + '@' + NEW,
                             image_cleanup.helper_reference(client, CONF))
        client.api.push.assert_not_called()

    def test_helper_reference_pushes_when_missing(self):
        client = test_registry.FakePushClient()
        client.api.inspect_image = mock.Mock(return_value={
            'Id': 'sha256:helper', 'RepoDigests': []})
        with mock.patch.object(registry.requests, 'Session',
                               return_value=test_registry.FakeSession()):
            ref = image_cleanup.helper_reference(client, CONF)
        self.assertEqual('%s/craton/python3@%s' % (REG,
                                                   test_registry.MANIFEST),
                         ref)
        self.assertEqual([('sha256:helper', REG + '/craton/python3',
                           'bookworm')], client.api.tagged)

    def test_helper_reference_missing_helper(self):
        client = FakeEngineClient([])
        client.api.inspect_image.side_effect = docker.errors.NotFound('no')
        exc = self.assertRaises(exception.RegistryError,
                                image_cleanup.helper_reference, client, CONF)
        self.assertIn('[swarm] helper_image', str(exc))
        self.config(helper_image='h@' + NEW, group='swarm')
        self.assertEqual('h@' + NEW,
                         image_cleanup.helper_reference(client, CONF))
