# SPDX-License-Identifier: Apache-2.0
"""Pushing task images and the registry HTTP API, against fakes.

The push chunks and error messages are the ones engine 20.10 sent to a real
registry (Debian's docker-registry 2.8) on our machines.
"""


import docker
import requests

from craton.common import exception
from craton.common import states
from craton.conductor.builds import registry
from craton import conf
from craton.tests import base
from craton.tests.unit.conductor.builds import test_builder

CONF = conf.CONF
UUID = test_builder.UUID
REG = '10.250.0.254:5001'
REPO = '%s/craton/task-%s' % (REG, UUID)
MANIFEST = 'sha256:' + 'e8' * 32
OTHER = 'sha256:' + '14' * 32

# What `POST /images/{name}/push` streamed (docker SDK, decode=True).
PUSH_OK = [
    {'status': 'The push refers to repository [%s]' % REPO},
    {'status': 'Preparing', 'progressDetail': {}, 'id': 'a2d4e9ceddb6'},
    {'status': 'Mounted from craton/busybox', 'progressDetail': {},
     'id': 'daa947dde07d'},
    {'status': 'Pushed', 'progressDetail': {}, 'id': 'a2d4e9ceddb6'},
    {'status': '3: digest: %s size: 735' % MANIFEST},
    {'progressDetail': {}, 'aux': {'Tag': '3', 'Digest': MANIFEST,
                                   'Size': 735}}]
REFUSED = ('Get "https://10.251.0.1:5999/v2/": dial tcp 10.251.0.1:5999: '
           'connect: connection refused')
PLAIN_HTTP = ('Get "https://10.251.0.1:5011/v2/": http: server gave HTTP '
              'response to HTTPS client')


def push_error(message):
    return [{'status': 'The push refers to repository [%s]' % REPO},
            {'errorDetail': {'message': message}, 'error': message}]


class FakePushAPI(test_builder.FakeAPI):
    def __init__(self, push_chunks=None, push_error=None, **kwargs):
        super().__init__(**kwargs)
        self.push_chunks = PUSH_OK if push_chunks is None else push_chunks
        self.push_error = push_error
        self.tagged, self.pushed = [], []

    def tag(self, image, repository, tag=None):
        self.tagged.append((image, repository, tag))
        return True

    def push(self, repository, tag=None, stream=False, decode=False):
        self.pushed.append((repository, tag, stream, decode))
        if self.push_error is not None:
            raise self.push_error
        return iter(list(self.push_chunks))


class FakePushClient(test_builder.FakeClient):
    def __init__(self, **kwargs):
        self.api = FakePushAPI(**kwargs)
        self.closed = False


class TestPush(base.TestCase):

    def test_digest_from_aux(self):
        client = FakePushClient()
        self.assertEqual(MANIFEST, registry.push(client, 'sha256:id', REPO,
                                                 '3'))
        self.assertEqual([('sha256:id', REPO, '3')], client.api.tagged)
        self.assertEqual([(REPO, '3', True, True)], client.api.pushed)

    def test_digest_from_status_line_without_aux(self):
        chunks = [c for c in PUSH_OK if 'aux' not in c]
        self.assertEqual(MANIFEST, registry.push(
            FakePushClient(push_chunks=chunks), 'sha256:id', REPO, '3'))

    def test_no_digest_is_an_error(self):
        exc = self.assertRaises(
            exception.RegistryError, registry.push,
            FakePushClient(push_chunks=PUSH_OK[:4]), 'sha256:id', REPO, '3')
        self.assertIn('reported no manifest digest', str(exc))

    def test_registry_errors_are_reported(self):
        for message in (REFUSED, PLAIN_HTTP):
            exc = self.assertRaises(
                exception.RegistryError, registry.push,
                FakePushClient(push_chunks=push_error(message)),
                'sha256:id', REPO, '3')
            self.assertEqual('registry %s: push of %s:3 failed: %s'
                             % (REG, REPO, message), str(exc))

    def test_engine_refuses(self):
        error = docker.errors.APIError(
            'x', explanation='An image does not exist locally with the tag')
        exc = self.assertRaises(exception.RegistryError, registry.push,
                                FakePushClient(push_error=error), 'sha256:id',
                                REPO, '3')
        self.assertIn('the engine refused to push', str(exc))

    def test_engine_unreachable(self):
        error = requests.exceptions.ConnectionError('refused')
        self.assertRaises(exception.EngineUnavailable, registry.push,
                          FakePushClient(push_error=error), 'sha256:id',
                          REPO, '3')

    def test_names(self):
        self.config(registry=REG, group='docker')
        self.assertEqual(REPO, registry.repository(CONF, UUID))
        self.config(registry='http://%s/' % REG, group='docker')
        self.assertEqual(REPO, registry.repository(CONF, UUID))
        self.assertEqual(REPO + '@' + MANIFEST,
                         registry.pinned(REPO + ':3', MANIFEST))
        self.assertEqual('craton/t@' + MANIFEST,
                         registry.pinned('craton/t', MANIFEST))
        self.assertEqual(REPO + '@' + MANIFEST,
                         registry.pinned(REPO + '@' + OTHER, MANIFEST))


class FakeResponse:
    def __init__(self, status, json=None, headers=None, text=''):
        self.status_code = status
        self._json = json
        self.headers = headers or {}
        self.text = text

    def json(self):
        return self._json


class FakeSession:
    """requests.Session answering like distribution 2.8 over plain HTTP."""

    def __init__(self, manifests=None, delete_enabled=True, https=False):
        # name -> {tag: digest}
        self.manifests = manifests or {}
        self.delete_enabled = delete_enabled
        self.https = https
        self.calls = []

    def get(self, url, timeout=None):
        return self.request('GET', url, timeout=timeout)

    def request(self, method, url, headers=None, timeout=None):
        self.calls.append((method, url, headers))
        scheme, _, rest = url.partition('://')
        if scheme == 'https' and not self.https:
            raise requests.exceptions.SSLError('wrong version number')
        path = '/' + rest.partition('/')[2]
        if path == '/v2/':
            return FakeResponse(200, {})
        parts = path[len('/v2/'):].split('/')
        if parts[-2:-1] == ['tags']:
            name = '/'.join(parts[:-2])
            if name not in self.manifests:
                return FakeResponse(404, {'errors': [
                    {'code': 'NAME_UNKNOWN'}]})
            return FakeResponse(200, {'name': name, 'tags': sorted(
                self.manifests[name]) or None})
        name, ref = '/'.join(parts[:-2]), parts[-1]
        tags = self.manifests.get(name, {})
        if method == 'HEAD':
            digest = tags.get(ref) or (ref if ref in tags.values() else None)
            if digest is None:
                return FakeResponse(404)
            return FakeResponse(200, headers={registry.DIGEST_HEADER: digest})
        if method == 'DELETE':
            if not self.delete_enabled:
                return FakeResponse(405, text='{"errors":[{"code":'
                                    '"UNSUPPORTED"}]}')
            if ref not in tags.values():
                return FakeResponse(404)
            for tag in [t for t, d in tags.items() if d == ref]:
                del tags[tag]
            return FakeResponse(202)
        raise AssertionError(url)

    def close(self):
        pass


class TestRegistryClient(base.TestCase):

    def setUp(self):
        super().setUp()
        self.config(registry=REG, group='docker')
        self.name = registry.repository_name(UUID)
        self.session = FakeSession({self.name: {
            '1': OTHER, '2': OTHER, '3': MANIFEST}})
        self.client = registry.RegistryClient(CONF, session=self.session)

    def test_falls_back_to_plain_http(self):
        self.assertEqual('http://' + REG, self.client.base_url())
        self.assertEqual(['https://%s/v2/' % REG, 'http://%s/v2/' % REG],
                         [c[1] for c in self.session.calls])
        self.session.https = True
        fresh = registry.RegistryClient(CONF, session=self.session)
        self.assertEqual('https://' + REG, fresh.base_url())

    def test_scheme_from_the_option(self):
        self.config(registry='http://' + REG, group='docker')
        client = registry.RegistryClient(CONF, session=self.session)
        self.assertEqual(['1', '2', '3'], client.tags(self.name))
        self.assertEqual(1, len(self.session.calls))

    def test_digests_accepts_schema2_and_oci(self):
        self.assertEqual({OTHER: ['1', '2'], MANIFEST: ['3']},
                         self.client.digests(self.name))
        heads = [c[2] for c in self.session.calls if c[0] == 'HEAD']
        for accept in heads:
            self.assertIn('application/vnd.docker.distribution.manifest.v2'
                          '+json', accept['Accept'])
            self.assertIn('application/vnd.oci.image.manifest.v1+json',
                          accept['Accept'])

    def test_unknown_repository(self):
        self.assertEqual([], self.client.tags('craton/task-nope'))
        self.assertEqual({}, self.client.digests('craton/task-nope'))

    def test_delete_keeps_the_current_manifest(self):
        deleted = self.client.delete_task_manifests(UUID, keep={MANIFEST})
        self.assertEqual([OTHER], deleted)
        self.assertEqual({'3': MANIFEST}, self.session.manifests[self.name])
        self.assertIn(('DELETE', 'http://%s/v2/%s/manifests/%s'
                       % (REG, self.name, OTHER), None), self.session.calls)

    def test_delete_everything(self):
        self.assertEqual(sorted([OTHER, MANIFEST]),
                         self.client.delete_task_manifests(UUID))
        self.assertEqual([], self.client.tags(self.name))
        self.assertFalse(self.client.delete_manifest(self.name, OTHER))

    def test_delete_disabled_names_the_fix(self):
        self.session.delete_enabled = False
        exc = self.assertRaises(exception.RegistryError,
                                self.client.delete_task_manifests, UUID)
        self.assertIn('storage: delete: enabled: true', str(exc))

    def test_unreachable(self):
        session = FakeSession()

        def refuse(method, url, **kwargs):
            raise requests.exceptions.ConnectionError('connection refused')
        session.request = refuse
        session.get = lambda url, timeout=None: refuse('GET', url)
        client = registry.RegistryClient(CONF, session=session)
        exc = self.assertRaises(exception.RegistryError, client.tags, 'x')
        self.assertIn('does not answer: connection refused', str(exc))


class TestBuildAndPush(base.TestCase):
    """build_task with a registry and the docker driver: pushed, no sync."""

    def setUp(self):
        super().setUp()
        self.source = test_builder.local_source(self)

    def test_push_sets_registry_tag_and_digest(self):
        self.config(registry=REG, group='docker')
        task = test_builder.FakeTask(self.source, build_number=2)
        client = FakePushClient()
        test_builder.build_task(task, client=client)
        self.assertEqual([states.TASK_BUILDING, states.TASK_READY],
                         [s['status'] for s in task.saved])
        self.assertEqual(REPO + ':3', task.image)
        self.assertEqual(MANIFEST, task.registry_digest)
        # The image id approval is bound to does not change by pushing.
        self.assertEqual(test_builder.DIGEST_A, task.image_digest)
        self.assertEqual([(test_builder.DIGEST_A, REPO, '3')],
                         client.api.tagged)

    def test_push_failure_is_a_task_error(self):
        self.config(registry=REG, group='docker')
        task = test_builder.FakeTask(self.source)
        test_builder.build_task(task, client=FakePushClient(
            push_chunks=push_error(PLAIN_HTTP)))
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertIn('server gave HTTP response to HTTPS client',
                      task.status_reason)
        self.assertIsNone(task.image)

    def test_without_registry_nothing_is_pushed(self):
        task = test_builder.FakeTask(self.source)
        client = FakePushClient()
        test_builder.build_task(task, client=client)
        self.assertEqual('craton/task-%s:1' % UUID, task.image)
        self.assertIsNone(task.registry_digest)
        self.assertEqual([], client.api.pushed)

    def test_swarm_without_registry_is_an_error(self):
        self.config(execution_driver='swarm', group='conductor')
        task = test_builder.FakeTask(self.source)
        test_builder.build_task(task, client=FakePushClient())
        self.assertEqual(states.TASK_ERROR, task.status)
        self.assertIn('needs [docker] registry', task.status_reason)
