# SPDX-License-Identifier: Apache-2.0
"""Unit tests of the docker execution driver against a fake engine."""

import dataclasses
import functools
import io
import json
import tarfile
import time
import types
from unittest import mock

import docker
from docker.types import HostConfig
import fixtures
from oslo_config import fixture as config_fixture
from oslotest import base
import requests

from craton.common import exception
from craton.conductor import drivers
from craton.conductor.drivers import base as driver_base
from craton.conductor.drivers import docker as docker_driver
from craton.conductor.drivers import output
from craton import conf
from craton.tests.unit.conductor import fake_logs

CONF = conf.CONF
JOB = '6d1c3c4e-0a1b-4c2d-9e8f-0123456789ab'


def api_error(status, msg='error'):
    return docker.errors.APIError(msg, explanation=msg,
                                  response=mock.Mock(status_code=status))


def _matches(filters, labels):
    return dict(f.split('=', 1) for f in filters['label']).items() <= \
        labels.items()


class FakeAPI:
    """Just enough of docker.APIClient, keeping containers and volumes."""

    def __init__(self):
        self.calls = []         # (method, name or id) of the changing calls
        # id -> container dict; volume name -> labels; id -> payload tar
        self.containers_, self.volumes_, self.archives = {}, {}, {}
        self.log_frames, self.info_calls = [], 0

    create_host_config = staticmethod(functools.partial(HostConfig, '1.41'))

    def create_volume(self, name, labels):
        self.calls.append(('create_volume', name))
        self.volumes_.setdefault(name, labels)

    def create_container(self, image, name, labels, **kwargs):
        self.calls.append(('create_container', name))
        if image != 'craton/busybox:latest':
            raise docker.errors.ImageNotFound('No such image: ' + image)
        if any(c['name'] == name for c in self.containers_.values()):
            raise api_error(409, 'Conflict. The container name is in use')
        cid = 'c%d' % (len(self.containers_) + 1)
        # An anonymous volume for each volume mount without a source.
        volumes = []
        for mount in kwargs['host_config'].get('Mounts') or []:
            if mount['Type'] == 'volume' and not mount['Source']:
                volumes.append('anon-%s-%d' % (cid, len(volumes)))
                self.volumes_[volumes[-1]] = {}
        self.containers_[cid] = dict(name=name, labels=labels, exit_code=0,
                                     status='created', oom=False,
                                     volumes=volumes, **kwargs)
        return {'Id': cid}

    def _get(self, cid):
        if cid not in self.containers_:
            raise docker.errors.NotFound('No such container: ' + cid)
        return self.containers_[cid]

    def put_archive(self, cid, path, data):
        self.calls.append(('put_archive', cid, path))
        self.archives[self._get(cid) and cid] = data

    def start(self, cid):
        self.calls.append(('start', cid))
        self._get(cid)['status'] = 'running'

    def inspect_container(self, cid):
        c = self._get(cid)
        return {'Id': cid, 'State': {
            'Status': c['status'], 'ExitCode': c['exit_code'],
            'OOMKilled': c['oom'], 'Error': ''},
            'Mounts': [{'Type': 'volume', 'Name': v,
                        'Destination': '/run/craton'}
                       for v in c['volumes']]}

    def containers(self, all, filters):
        return [{'Id': cid, 'Names': ['/' + c['name']], 'Created': 1}
                for cid, c in self.containers_.items()
                if all and _matches(filters, c['labels'])]

    def volumes(self, filters):
        return {'Volumes': [{'Name': n} for n, labels in self.volumes_.items()
                            if _matches(filters, labels)]}

    base_url = 'http+docker://localhost'
    api_version = '1.41'

    def get(self, url, params=None, stream=False):
        # GET /v1.41/containers/{id}/logs: the frames the engine logged.
        assert stream and params['timestamps'] == 1, params
        cid = url.split('/')[-2]
        if cid not in self.containers_:
            self.last_stream = fake_logs.FakeResponse(404)
        else:
            self.last_stream = fake_logs.FakeResponse(
                200, fake_logs.encode(self.log_frames))
        return self.last_stream

    def wait(self, cid, timeout):
        if self._get(cid)['status'] == 'running':
            raise requests.exceptions.ConnectionError('Read timed out.')
        return {'StatusCode': self._get(cid)['exit_code']}

    def kill(self, cid):
        if self._get(cid)['status'] != 'running':
            raise api_error(409, 'Container %s is not running' % cid)
        self._get(cid).update(status='exited', exit_code=137)

    def remove_container(self, cid, force, v=False):
        self.calls.append(('remove_container', cid))
        container = self._get(cid)
        del self.containers_[cid]
        if v:
            for name in container['volumes']:
                self.volumes_.pop(name, None)

    def remove_volume(self, name, force):
        if self.volumes_.pop(name, None) is None:
            raise docker.errors.NotFound('No such volume: ' + name)

    def info(self):
        self.info_calls += 1
        return {'Name': 'engine-1'}

    ping = staticmethod(lambda: True)


class DriverTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.cfg = self.useFixture(config_fixture.Config(CONF))
        self.api = FakeAPI()
        client = types.SimpleNamespace(api=self.api)
        self.get_client = self.useFixture(fixtures.MockPatch(
            'craton.common.docker_client.get_client',
            return_value=client)).mock
        # Don't give (fake) other conductors time to start what they made.
        self.useFixture(fixtures.MockPatchObject(docker_driver,
                                                 'CREATED_GRACE', 0))
        self.driver = docker_driver.DockerDriver(CONF)

    def spec(self, payload=b'{"a":"b"}', index=0, image=None):
        return driver_base.StepSpec(
            job_uuid=JOB, step_index=index, step_name='step-%d' % index,
            image=image or 'craton/busybox:latest',
            command=['python3', 'task.py'], payload=payload, timeout=60)

    def container(self, handle):
        return self.api.containers_[handle.id]

    def archive_member(self, cid):
        with tarfile.open(fileobj=io.BytesIO(self.api.archives[cid])) as t:
            info = t.getmember('payload.json')
            return info, t.extractfile(info).read()


class TestStart(DriverTestCase):

    def test_inline_up_to_64k_bytes_exactly(self):
        at_limit = b'"' + b'x' * (64 * 1024 - 2) + b'"'
        above = b'"' + b'x' * (64 * 1024 - 1) + b'"'
        # 65,537 bytes in 65,536 characters: the kernel counts bytes.
        wide = ('"' + 'x' * (64 * 1024 - 3) + '\u00e9"').encode()
        self.assertEqual([65536, 65537, 65537],
                         [len(at_limit), len(above), len(wide)])
        self.assertEqual(['t', at_limit.decode()],
                         driver_base.build_command(['t'], at_limit))
        for payload in (above, wide):
            self.assertEqual(['t', '@/run/craton/payload.json'],
                             driver_base.build_command(['t'], payload))

    def test_payload_in_argv_or_by_path_and_always_in_file(self):
        large = json.dumps({'inventory': ['h%d' % i for i in range(20000)]},
                           separators=(',', ':')).encode()
        for index, payload, arg in ((0, b'{"a":"b"}', '{"a":"b"}'),
                                    (1, large, '@/run/craton/payload.json')):
            c = self.container(self.driver.start(self.spec(payload, index)))
            self.assertEqual(['python3', 'task.py', arg], c['command'])
            # The file's path, never the payload, in the environment.
            self.assertEqual(
                {'CRATON_PAYLOAD_FILE': '/run/craton/payload.json',
                 'HOME': '/tmp'}, c['environment'])
            info, data = self.archive_member('c%d' % (index + 1))
            self.assertEqual((payload, 65534, 65534, 0o400),
                             (data, info.uid, info.gid, info.mode))

    def test_labels_name_and_order(self):
        self.assertIsNone(self.driver.find(JOB, 3))
        h = self.driver.start(self.spec(index=3))
        self.assertEqual(h, self.driver.find(JOB, 3))
        self.assertIsNone(self.driver.find(JOB, 0))
        c = self.container(h)
        name = 'craton-%s-3' % JOB
        self.assertEqual(name, c['name'])
        self.assertEqual({'craton.job': JOB, 'craton.step': '3',
                          'craton.step_name': 'step-3',
                          'craton.managed': 'true', 'craton.timeout': '60'},
                         c['labels'])
        # The payload volume is the container's own, gone with it.
        self.assertEqual({'anon-%s-0' % h.id: {}}, self.api.volumes_)
        self.assertEqual('engine-1', h.node)
        self.assertEqual([('create_container', name),
                          ('put_archive', h.id, '/run/craton'),
                          ('start', h.id)], self.api.calls)

    def test_host_config(self):
        self.cfg.config(group='sandbox', user='1000:1000', memory='64m',
                        cpus=0.5, pids_limit=32, tmpfs_size='16m',
                        network_mode='none')
        h = self.driver.start(self.spec())
        c = self.container(h)
        self.assertEqual('1000:1000', c['user'])
        expected = {
            'CapDrop': ['ALL'], 'CapAdd': None, 'Privileged': None,
            'SecurityOpt': ['no-new-privileges'], 'ReadonlyRootfs': True,
            'Tmpfs': {'/tmp': 'rw,noexec,nosuid,size=16m'},
            'PidsLimit': 32, 'Memory': 64 * 1024 * 1024,
            'MemorySwap': 64 * 1024 * 1024, 'NanoCpus': 500000000,
            'NetworkMode': 'none', 'IpcMode': 'private', 'AutoRemove': None,
            'Binds': None,   # no host paths, never the engine's socket
            'Mounts': [{'Target': '/run/craton', 'Source': None,
                        'Type': 'volume', 'ReadOnly': False,
                        'VolumeOptions': {'NoCopy': True}}],
            'LogConfig': {'Type': 'local', 'Config': {
                'max-size': '3073m', 'max-file': '1',
                'compress': 'false'}}}
        self.assertEqual(expected, {k: c['host_config'].get(k)
                                    for k in expected})
        info = self.archive_member(h.id)[0]   # the payload file's owner
        self.assertEqual((1000, 1000), (info.uid, info.gid))
        self.assertEqual([(1000, 50, 0o400), (65534, 65534, 0o444)], [
            docker_driver.payload_owner(u) for u in ('1000:50', 'nobody')])

    def test_root_user_refused(self):
        for user in ('0', 'root', '0:0', 'root:root'):
            self.cfg.config(group='sandbox', user=user)
            self.assertRaises(exception.CratonException,
                              self.driver.start, self.spec())
        self.assertEqual({}, self.api.containers_)


class TestIdempotentStart(DriverTestCase):

    def test_running_or_exited_container_reused(self):
        h = self.driver.start(self.spec())
        for status in ('running', 'exited'):
            self.container(h)['status'] = status
            self.api.calls.clear()
            self.assertEqual(h, self.driver.start(self.spec()))
            # Only the create the engine refused (the name is taken): no
            # payload copy, no start.
            self.assertEqual([('create_container', 'craton-%s-0' % JOB)],
                             self.api.calls)
            self.assertEqual(status, self.container(h)['status'])

    def test_created_container_gets_payload_and_start(self):
        # A conductor died between create and start: no payload yet.
        self.driver._create(self.spec())
        (cid,) = self.api.containers_
        self.assertNotIn(cid, self.api.archives)
        self.assertEqual(cid, self.driver.start(self.spec()).id)
        self.assertEqual('running', self.api.containers_[cid]['status'])
        self.assertEqual(b'{"a":"b"}', self.archive_member(cid)[1])

    def test_created_by_live_conductor_left_to_it(self):
        # Within the grace time the creator starts it: no second payload
        # copy under the running task, no second start.
        h = self.driver._create(self.spec())
        self.api.calls.clear()
        with mock.patch.object(docker_driver, 'CREATED_GRACE', 3), \
                mock.patch.object(docker_driver.time, 'sleep', side_effect=(
                    lambda _: self.container(h).update(status='running'))):
            self.assertEqual(h, self.driver.start(self.spec()))
        self.assertEqual([('create_container', 'craton-%s-0' % JOB)],
                         self.api.calls)

    def test_start_creates_first_and_looks_up_nothing(self):
        # The usual case, nothing there yet: no lookup before the create.
        with mock.patch.object(self.driver, 'find',
                               wraps=self.driver.find) as find:
            self.driver.start(self.spec())
        find.assert_not_called()
        self.assertEqual(['create_container', 'put_archive', 'start'],
                         [c[0] for c in self.api.calls])

    def test_name_conflict_reuses_winner(self):
        # Another conductor created the step's container first: ours is
        # refused by name and the winner's is used (a winner not listed
        # yet: TestDeadlines.test_winner_found_once_listed).
        self.driver._create(self.spec())
        (cid,) = self.api.containers_
        h = self.driver.start(self.spec())
        self.assertIn(('create_container', 'craton-%s-0' % JOB),
                      self.api.calls)
        self.assertEqual((cid, [cid], 'running'), (
            h.id, list(self.api.containers_), self.container(h)['status']))

    def test_image_not_found(self):
        self.assertRaises(exception.ImageNotFound, self.driver.start,
                          self.spec(image='sha256:' + 'a' * 64))
        self.assertEqual({}, self.api.volumes_)


class TestDeadlines(DriverTestCase):
    """The driver's polls end as soon as what they wait for happens, and
    give up at their deadline, not before.
    """

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(docker_driver,
                                                 'POLL_INTERVAL', 0.01))

    def test_poll_gives_up_at_the_deadline_with_the_last_result(self):
        results = []

        def attempt():
            results.append(len(results))
            return results[-1]
        started = time.monotonic()
        last = docker_driver.poll(attempt, lambda result: True, 0.2, 0.01)
        self.assertEqual(results[-1], last)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 0.2)
        self.assertLess(elapsed, 2.2)
        self.assertGreater(len(results), 2)

    def test_poll_ends_with_the_first_accepted_result(self):
        results = iter(['created', 'created', 'running', 'exited'])
        started = time.monotonic()
        self.assertEqual('running', docker_driver.poll(
            lambda: next(results), lambda r: r == 'created', 30, 0.01))
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual('exited', next(results))

    def test_poll_raises_what_the_attempt_raises_at_once(self):
        calls = []

        def attempt():
            calls.append(1)
            raise exception.EngineUnavailable(url='x', reason='y')
        self.assertRaises(exception.EngineUnavailable, docker_driver.poll,
                          attempt, lambda r: True, 30, 0.01)
        self.assertEqual([1], calls)

    def test_created_container_launched_after_the_grace(self):
        # Left created by a conductor that died: after CREATED_GRACE (not
        # before) this one copies the payload in and starts it.
        h = self.driver._create(self.spec())
        self.api.calls.clear()
        self.useFixture(fixtures.MockPatchObject(docker_driver,
                                                 'CREATED_GRACE', 0.2))
        started = time.monotonic()
        self.assertEqual(h, self.driver.start(self.spec()))
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertEqual([('create_container', 'craton-%s-0' % JOB),
                          ('put_archive', h.id, '/run/craton'),
                          ('start', h.id)], self.api.calls)

    def test_winner_found_once_listed(self):
        self.driver._create(self.spec())
        (cid,) = self.api.containers_
        self.api.containers_[cid]['status'] = 'running'    # the winner's
        winner = self.driver._handle(cid)
        self.useFixture(fixtures.MockPatchObject(docker_driver,
                                                 'CREATED_GRACE', 30))
        # Our find() ran before the other conductor's create; the
        # container is listed only from the fourth look on.
        with mock.patch.object(self.driver, 'find', side_effect=[
                None, None, None, winner]) as find:
            self.assertEqual(winner, self.driver.start(self.spec()))
        self.assertEqual(4, find.call_count)

    def test_winner_never_listed_gives_up_after_the_grace(self):
        self.driver._create(self.spec())
        self.useFixture(fixtures.MockPatchObject(docker_driver,
                                                 'CREATED_GRACE', 0.2))
        started = time.monotonic()
        with mock.patch.object(self.driver, 'find',
                               return_value=None) as find:
            exc = self.assertRaises(exception.CratonException,
                                    self.driver.start, self.spec())
        self.assertIn('its name is taken but it cannot be found', str(exc))
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertGreater(find.call_count, 3)


class TestLifecycle(DriverTestCase):

    def test_skip_bytes_every_offset(self):
        chunks = [(1, b'ab'), (1, b'c'), (2, b''), (1, b'defgh'),
                  (2, b'\xff\x00\n'), (1, b'z')]
        self.api.log_frames = fake_logs.numbered(chunks)
        full = b''.join(data for _s, data in chunks)
        h = self.driver.start(self.spec())
        for k in range(len(full) + 3):
            got = list(self.driver.stream_logs(h, skip_bytes=k))
            self.assertEqual(full[k:], b''.join(got), 'skip_bytes=%d' % k)
            self.assertNotIn(b'', got)
            self.assertTrue(self.api.last_stream.closed)

    def test_early_stop_closes_stream_and_gone_has_none(self):
        self.api.log_frames = fake_logs.numbered([(1, b'one\n'),
                                                  (1, b'two\n')])
        gen = self.driver.stream_logs(self.driver.start(self.spec()))
        self.assertEqual(b'one\n', next(gen))
        gen.close()
        self.assertTrue(self.api.last_stream.closed)
        gone = driver_base.StepHandle(id='nope', node='engine-1')
        self.assertEqual([], list(self.driver.stream_logs(gone)))
        self.assertTrue(self.api.last_stream.closed)

    def test_read_output_joins_long_lines_back(self):
        h = self.driver.start(self.spec())
        # As engine 20.10 sends a 32,769-byte line: parts of 16 KiB, the
        # last without its newline, all with the line's timestamp.
        t1, t2, t3 = b'T1', b'T2', b'T3'
        self.api.log_frames = [
            (1, t1, b'r' * 16384), (1, t1, b'r' * 16384), (1, t1, b'r'),
            (2, t2, b'err\n'), (1, t3, b'\xffc')]
        decoder = output.OutputDecoder()
        got = list(self.driver.read_output(h, decoder))
        self.assertEqual(b'r' * 32769 + b'\n' + b'\xffc', b''.join(
            data for stream, data in got if stream == output.STDOUT))
        # The newline owed by stdout waits for stdout's next frame: the
        # other stream's frames cannot say whether it ended there.
        self.assertEqual(b'r' * 32769 + b'err\n\n\xffc',
                         b''.join(data for _s, data in got))
        self.assertEqual([], decoder.assumed)
        self.assertEqual([], list(self.driver.read_output(
            driver_base.StepHandle('gone', 'engine-1'),
            output.OutputDecoder())))

    def test_state(self):
        h = self.driver.start(self.spec())
        self.assertEqual(('running', None, None),
                         dataclasses.astuple(self.driver.state(h)))
        self.container(h).update(status='exited', exit_code=137, oom=True)
        self.assertEqual(('exited', 137, 'OOMKilled'),
                         dataclasses.astuple(self.driver.state(h)))
        del self.api.containers_[h.id]
        self.assertEqual(('gone', None, None),
                         dataclasses.astuple(self.driver.state(h)))

    def test_wait(self):
        h = self.driver.start(self.spec(index=1))
        # A read timeout on a unix socket surfaces as ConnectionError.
        self.assertIsNone(self.driver.wait(h, 1))
        self.container(h).update(status='exited', exit_code=4)
        self.assertEqual(4, self.driver.wait(h, 1))
        del self.api.containers_[h.id]
        self.assertIsNone(self.driver.wait(h, 1))

    def test_kill_and_cleanup(self):
        h = self.driver.start(self.spec())
        self.driver.kill(h)
        self.assertEqual(137, self.driver.wait(h, 1))
        self.driver.kill(h)                   # exited: 409, ignored
        self.driver.cleanup(h)
        self.assertEqual(({}, {}), (self.api.containers_, self.api.volumes_))
        self.driver.cleanup(h)                # gone: no error
        self.driver.kill(h)                   # gone: 404, ignored
        with mock.patch.object(self.api, 'kill',
                               side_effect=api_error(500)):
            self.assertRaises(docker.errors.APIError, self.driver.kill, h)

    def test_cleanup_job_and_node_cached(self):
        for i in range(3):
            self.assertEqual('engine-1', self.driver.start(
                self.spec(index=i)).node)
        self.assertEqual(1, self.api.info_calls)
        self.api.create_volume('other', {'craton.job': 'other-job'})
        self.driver.cleanup_job(JOB)
        self.assertEqual({}, self.api.containers_)
        self.assertEqual(['other'], list(self.api.volumes_))

    def test_unreachable(self):
        refused = requests.exceptions.ConnectionError('refused')
        with mock.patch.object(self.api, 'ping', side_effect=refused):
            self.assertRaises(exception.EngineUnavailable, self.driver.check)
        with mock.patch.object(self.api, 'create_container',
                               side_effect=refused):
            self.assertRaises(exception.EngineUnavailable, self.driver.start,
                              self.spec())
        self.driver.check()
        self.get_client.side_effect = exception.EngineUnavailable(
            url='tcp://127.0.0.1:1', reason='refused')
        self.cfg.config(group='docker', url='tcp://127.0.0.1:1')
        self.assertRaises(exception.EngineUnavailable, self.driver.check)

    def test_client_follows_url(self):
        self.driver.check()
        self.driver.check()
        self.assertEqual(1, self.get_client.call_count)
        self.cfg.config(group='docker', url='tcp://127.0.0.1:2375')
        self.driver.check()
        self.assertEqual(2, self.get_client.call_count)


class TestGetDriver(base.BaseTestCase):

    def test_by_name(self):
        self.assertIsInstance(drivers.get_driver(CONF),
                              docker_driver.DockerDriver)
        fake = types.SimpleNamespace(
            conductor=types.SimpleNamespace(execution_driver='nope'))
        self.assertRaises(exception.CratonException, drivers.get_driver, fake)


class TestSecretFiles(DriverTestCase):
    """Each secret a step receives is a file under /run/craton/secrets,
    the step user's, mode 0400, and nowhere in the container's spec.
    """

    SECRETS = {'cloud-admin': b'p4ss word\n', 'bmc': b'\xc3\xa9t\xc3\xa9!'}

    def test_files_owned_by_the_step_user_read_only(self):
        spec = self.spec()
        spec.secrets = dict(self.SECRETS)
        h = self.driver.start(spec)
        with tarfile.open(fileobj=io.BytesIO(self.api.archives[h.id])) as t:
            folder = t.getmember('secrets')
            self.assertTrue(folder.isdir())
            self.assertEqual((65534, 65534, 0o500),
                             (folder.uid, folder.gid, folder.mode))
            for name, value in self.SECRETS.items():
                info = t.getmember('secrets/' + name)
                self.assertEqual((65534, 65534, 0o400),
                                 (info.uid, info.gid, info.mode))
                self.assertEqual(value, t.extractfile(info).read())

    def test_values_not_in_the_container_spec_or_repr(self):
        spec = self.spec()
        spec.secrets = dict(self.SECRETS)
        h = self.driver.start(spec)
        text = repr(self.container(h)) + repr(spec)
        for value in self.SECRETS.values():
            self.assertNotIn(repr(value)[2:-1], text)
        self.assertNotIn('p4ss', text)

    def test_no_secrets_no_folder(self):
        h = self.driver.start(self.spec())
        with tarfile.open(fileobj=io.BytesIO(self.api.archives[h.id])) as t:
            self.assertEqual(['payload.json'], t.getnames())
