# SPDX-License-Identifier: Apache-2.0
"""The docker execution driver against a real Docker engine.

Needs CRATON_FUNCTIONAL=1, an engine at CRATON_TEST_DOCKER_URL (default
unix:///run/craton/docker.sock; tools/docker-engine.sh starts one) and the
images of tools/build-base-images.sh. With CRATON_FUNCTIONAL set, an engine
that does not answer fails the tests instead of skipping them.
"""

import json
import os
import threading
import time
import uuid

import docker
from oslo_config import fixture as config_fixture
import testtools

from craton.common import exception
from craton.conductor.drivers import base as driver_base
from craton.conductor.drivers import docker as docker_driver
from craton.conductor.drivers import output
from craton import conf

CONF = conf.CONF
BUSYBOX = 'craton/busybox:latest'
PYTHON = 'craton/python3:bookworm'
DEFAULT_URL = 'unix:///run/craton/docker.sock'
# A step that does not end by itself within this is a test failure.
STEP_TIMEOUT = 120


def compact(obj):
    return json.dumps(obj, separators=(',', ':')).encode()


def inventory_payload(hosts):
    """A payload shaped as in API.md, with ``hosts`` inventory entries."""
    return compact({
        'job': {'uuid': str(uuid.uuid4()), 'project_id': 'p', 'user_id': 'u'},
        'step': {'index': 0, 'name': 'audit', 'task': str(uuid.uuid4())},
        'inventory': [{
            'uuid': str(uuid.uuid4()), 'name': 'compute-%05d' % i,
            'ip_address': '127.0.%d.%d' % (i // 250, i % 250 + 1),
            'region': 'r1', 'cell': 'c%d' % (i % 7), 'labels': ['compute'],
            'variables': {'rack': 'rack-%d' % (i % 40),
                          'notes': 'n\u00e9-"quoted"-' + 'x' * 900}}
            for i in range(hosts)],
        'variables': {'ticket': 'OPS-42'}, 'results': {}})


class DriverFunctionalBase(testtools.TestCase):
    """Config + driver for one real engine; every test's job cleaned up."""

    def setUp(self):
        super().setUp()
        if not os.environ.get('CRATON_FUNCTIONAL'):
            self.skipTest('functional test: set CRATON_FUNCTIONAL=1 to run '
                          'it against the Docker engine at '
                          'CRATON_TEST_DOCKER_URL (default %s)' % DEFAULT_URL)
        self.url = os.environ.get('CRATON_TEST_DOCKER_URL', DEFAULT_URL)
        self.cfg = self.useFixture(config_fixture.Config(CONF))
        self.cfg.config(group='docker', url=self.url, timeout=30)
        # Test containers need no network at all.
        self.cfg.config(group='sandbox', network_mode='none')
        self.driver = docker_driver.DockerDriver(CONF)
        self.driver.check()     # unreachable engine: an error, not a skip
        self.job = str(uuid.uuid4())
        self.addCleanup(self.driver.cleanup_job, self.job)
        self.api = self.driver._api()

    def spec(self, command, payload=b'{}', image=BUSYBOX, index=0):
        return driver_base.StepSpec(
            job_uuid=self.job, step_index=index, step_name='s%d' % index,
            image=image, command=command, payload=payload,
            timeout=STEP_TIMEOUT)

    def sh(self, script, payload=b'{}', **kwargs):
        # `sh -c SCRIPT NAME PAYLOAD`: the payload argument becomes $1.
        return self.spec(['sh', '-c', script, 'task'], payload, **kwargs)

    def finish(self, handle, timeout=STEP_TIMEOUT):
        """Wait for the step; kill it and fail if it does not end."""
        code = self.driver.wait(handle, timeout)
        if code is None:
            self.driver.kill(handle)
            self.fail('step did not end within %ss; killed' % timeout)
        return code

    def run_step(self, spec, timeout=STEP_TIMEOUT):
        """Start, wait, read all output: (exit code, output bytes, handle)."""
        handle = self.driver.start(spec)
        code = self.finish(handle, timeout)
        return code, b''.join(self.driver.stream_logs(handle)), handle

    def assert_engine_healthy(self):
        """The engine answers and another step still runs to exit 0."""
        self.driver.check()
        code, out, _ = self.run_step(self.sh('echo alive', index=99))
        self.assertEqual((0, b'alive\n'), (code, out))


class TestPayload(DriverFunctionalBase):

    SCRIPT = 'printf "%s\\n" "$1"; cat "$CRATON_PAYLOAD_FILE"'

    def test_inline_payload_in_argv_and_file(self):
        payload = compact({'a': 'b', 'text': 'caf\u00e9 \'"$(x)`'})
        code, out, _ = self.run_step(self.sh(self.SCRIPT, payload))
        self.assertEqual(0, code)
        self.assertEqual(payload + b'\n' + payload, out)

    def test_boundary_64k(self):
        limit = driver_base.MAX_INLINE_PAYLOAD
        for index, size, arg in ((0, limit, None),
                                 (1, limit + 1, b'@/run/craton/payload.json')):
            payload = compact({'pad': 'x' * (size - 10)})
            self.assertEqual(size, len(payload))
            code, out, _ = self.run_step(self.sh(self.SCRIPT, payload,
                                                 index=index))
            self.assertEqual(0, code)
            self.assertEqual((arg or payload) + b'\n' + payload, out)

    def test_5000_hosts_by_file(self):
        payload = inventory_payload(5000)
        self.assertGreater(len(payload), 4 * 1024 * 1024)
        start = time.monotonic()
        code, out, handle = self.run_step(self.sh(self.SCRIPT, payload))
        self.driver.cleanup(handle)
        elapsed = time.monotonic() - start
        self.assertEqual(0, code)
        self.assertEqual(b'@/run/craton/payload.json\n' + payload, out)
        self.addDetail('timing', testtools.content.text_content(
            '%d bytes: start+wait+logs+cleanup %.2fs' % (len(payload),
                                                          elapsed)))

    def test_python_reads_payload_file(self):
        # The python3 image, as a real task: noexec /tmp, read-only root.
        payload = inventory_payload(100)
        script = ('import json, os, sys; arg = sys.argv[1]; '
                  'path = arg[1:] if arg.startswith("@") else None; '
                  'd = json.load(open(os.environ["CRATON_PAYLOAD_FILE"])); '
                  'print(path, len(d["inventory"]))')
        code, out, _ = self.run_step(self.spec(['python3', '-c', script],
                                               payload, image=PYTHON))
        self.assertEqual((0, b'/run/craton/payload.json 100\n'), (code, out))


class TestLifecycle(DriverFunctionalBase):

    def test_exit_codes_and_state(self):
        for index, code in enumerate((0, 1, 7, 255)):
            got, _, handle = self.run_step(self.sh('exit %d' % code,
                                                   index=index))
            self.assertEqual(code, got)
            self.assertEqual(driver_base.StepState('exited', code, None),
                             self.driver.state(handle))

    def test_node_is_engine_name(self):
        handle = self.driver.start(self.sh('exit 0'))
        self.assertEqual(self.api.info()['Name'], handle.node)

    def test_kill(self):
        handle = self.driver.start(self.sh('sleep 300'))
        self.assertIsNone(self.driver.wait(handle, 1))
        self.assertEqual('running', self.driver.state(handle).status)
        start = time.monotonic()
        self.driver.kill(handle)
        self.assertEqual(137, self.driver.wait(handle, 30))
        self.assertLess(time.monotonic() - start, 10)
        self.driver.kill(handle)          # already exited: no error
        self.driver.cleanup(handle)
        self.driver.kill(handle)          # gone: no error
        self.assertEqual('gone', self.driver.state(handle).status)

    def test_cleanup_removes_container_and_volume(self):
        _, _, handle = self.run_step(self.sh('exit 0'))
        [volume] = [m['Name'] for m in self.api.inspect_container(
            handle.id)['Mounts'] if m['Destination'] == '/run/craton']
        self.assertEqual(volume, self.api.inspect_volume(volume)['Name'])
        self.driver.cleanup(handle)
        self.assertEqual('gone', self.driver.state(handle).status)
        self.assertIsNone(self.driver.find(self.job, 0))
        # The payload volume went with its container.
        self.assertRaises(docker.errors.NotFound, self.api.inspect_volume,
                          volume)
        self.driver.cleanup(handle)       # again: no error

    def test_cleanup_job(self):
        for i in range(3):
            self.driver.start(self.sh('sleep 300', index=i))
        self.driver.cleanup_job(self.job)
        label = {'label': ['craton.job=%s' % self.job]}
        self.assertEqual([], self.api.containers(all=True, filters=label))
        self.assertEqual([], self.api.volumes(filters=label)['Volumes'] or [])

    def test_start_twice_one_container(self):
        spec = self.sh('sleep 300')
        h1 = self.driver.start(spec)
        h2 = self.driver.start(spec)
        other = docker_driver.DockerDriver(CONF)   # another conductor
        h3 = other.start(spec)
        self.assertEqual(h1.id, h2.id)
        self.assertEqual(h1, h3)
        self.assertEqual(h1, self.driver.find(self.job, 0))
        label = {'label': ['craton.job=%s' % self.job]}
        self.assertEqual(1, len(self.api.containers(all=True, filters=label)))

    def test_racing_starts_one_container(self):
        spec = self.sh('sleep 300')
        handles, errors = [], []

        def start():
            try:
                handles.append(docker_driver.DockerDriver(CONF).start(spec))
            except Exception as exc:   # reported below
                errors.append(exc)
        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([], errors)
        self.assertEqual(1, len({h.id for h in handles}))
        label = {'label': ['craton.job=%s' % self.job]}
        self.assertEqual(1, len(self.api.containers(all=True, filters=label)))
        self.assertEqual('running', self.driver.state(handles[0]).status)

    def test_resume_created_container(self):
        # A conductor died after creating the container, before it copied
        # the payload in and started it: the next start() completes it.
        payload = compact({'resumed': True})
        spec = self.sh('cat "$CRATON_PAYLOAD_FILE"', payload)
        handle = self.driver._create(spec)
        self.assertEqual('created', self.driver.state(handle).status)
        self.assertEqual(handle, self.driver.start(spec))
        self.assertEqual(0, self.finish(handle))
        self.assertEqual(payload,
                         b''.join(self.driver.stream_logs(handle)))

    def test_image_not_found(self):
        self.assertRaises(exception.ImageNotFound, self.driver.start,
                          self.sh('exit 0', image='craton/no-such:image'))
        self.assertIsNone(self.driver.find(self.job, 0))
        label = {'label': ['craton.job=%s' % self.job]}
        self.assertEqual([], self.api.volumes(filters=label)['Volumes'] or [])

    def test_unreachable_engine(self):
        self.cfg.config(group='docker', url='unix:///nonexistent/docker.sock')
        # Cleanups run last-in first-out: restore the URL for cleanup_job.
        self.addCleanup(self.cfg.config, group='docker', url=self.url)
        driver = docker_driver.DockerDriver(CONF)
        self.assertRaises(exception.EngineUnavailable, driver.check)
        self.assertRaises(exception.EngineUnavailable, driver.start,
                          self.sh('exit 0'))


class StreamingContract:
    """Log streaming tests every execution driver passes (the swarm
    driver's tests mix this in too).
    """

    def read_all(self, handle):
        """All output after exit, as the executor reads it: the bytes of
        each stream and the streams whose final newline was assumed.
        """
        decoder = output.OutputDecoder()
        pairs = list(self.driver.read_output(handle, decoder))
        return (b''.join(d for s, d in pairs if s == output.STDOUT),
                b''.join(d for s, d in pairs if s == output.STDERR),
                b''.join(d for _s, d in pairs), decoder.assumed)

    def test_many_short_lines_are_all_kept(self):
        # Each logged line costs the engine about 34 bytes on disk: with
        # the cap at 200,000 bytes, 199,000 empty lines (6.7 MB in the
        # engine's file) used to be rotated away in part.
        self.cfg.config(group='sandbox', max_log_bytes=200000)
        body = ('import os; os.write(1, b"\\n" * 199000); '
                'os.write(2, b"e\\n" * 1000)')
        code, _, handle = self.run_step(self.spec(
            ['python3', '-c', body], image=self.python_image, index=300))
        self.assertEqual(0, code)
        out, err, _all, assumed = self.read_all(handle)
        self.assertEqual((199000, True), (len(out), out == b'\n' * 199000))
        self.assertEqual(b'e\n' * 1000, err)

    def test_long_lines_keep_newlines(self):
        # The engine cuts lines at 16 KiB and the 'local' log driver then
        # drops their newline: the decoder puts it back.
        script = ('for n in 16383 16384 16385 65536 100000; do '
                  'head -c $n /dev/zero | tr "\\0" x; echo; done; '
                  'echo short')
        code, _, handle = self.run_step(self.sh(script))
        self.assertEqual(0, code)
        out, _err, _all, assumed = self.read_all(handle)
        self.assertEqual([16383, 16384, 16385, 65536, 100000, 5, 0],
                         [len(ln) for ln in out.split(b'\n')])
        self.assertEqual([], assumed)

    def test_output_of_any_shape_is_exact(self):
        # The shapes operators' tasks print (issue 6): a 60,001-byte line
        # of two-byte characters, bytes that are not UTF-8, a result line
        # followed by many more lines, and a short last line without a
        # newline; repeated, since losing the tail was a race.
        body = ('import sys; w = sys.stdout.buffer; '
                'w.write(b"x" + "\\u00e9".encode() * 30000 + b"\\n"); '
                'w.write(b"\\xff\\xfe\\xed\\xa0\\x80 raw\\n"); '
                'sys.stderr.buffer.write(b"e" * 20000 + b"\\n"); '
                'w.write(b"::craton-result:: {\\"token\\": \\"R1\\"}\\n"); '
                '[w.write(b"line %d\\n" % i) for i in range(120)]; '
                'w.write(b"tail without newline")')
        want = (b'x' + '\u00e9'.encode() * 30000 + b'\n' +
                b'\xff\xfe\xed\xa0\x80 raw\n' +
                b'::craton-result:: {"token": "R1"}\n' +
                b''.join(b'line %d\n' % i for i in range(120)) +
                b'tail without newline')
        for run in range(5):
            spec = self.spec(['python3', '-c', body], image=self.python_image,
                             index=200 + run)
            code, _, handle = self.run_step(spec)
            self.assertEqual(0, code)
            out, err, _all, assumed = self.read_all(handle)
            self.assertEqual(want, out, 'run %d' % run)
            self.assertEqual(b'e' * 20000 + b'\n', err)
            self.assertEqual(self.assumed_when_long_last_line, assumed)

    def test_resume_while_running(self):
        # A conductor stores N bytes and dies mid-step; the next one resumes
        # at N and the two parts together are the whole output.
        script = ('i=0; while [ $i -lt 3000 ]; do echo "line $i"; '
                  'echo "err $i" >&2; i=$((i+1)); '
                  '[ $((i % 500)) = 0 ] && sleep 0.3; done')
        handle = self.driver.start(self.sh(script))
        first = b''
        stream = self.driver.stream_logs(handle)
        for chunk in stream:
            first += chunk
            if len(first) > 5000:
                break
        stream.close()
        rest = b''.join(self.driver.stream_logs(handle, len(first)))
        self.assertEqual(0, self.finish(handle))
        full = b''.join(self.driver.stream_logs(handle))
        self.assertEqual(full, first + rest)
        self.assertEqual(6000, full.count(b'\n'))

    def test_line_read_while_running(self):
        handle = self.driver.start(self.sh('echo first; sleep 60; echo end'))
        start = time.monotonic()
        stream = self.driver.stream_logs(handle)
        self.assertEqual(b'first\n', next(stream))
        self.assertLess(time.monotonic() - start, 10)
        self.assertEqual('running', self.driver.state(handle).status)
        self.driver.kill(handle)
        # The stream ends once the step's container (or task) has ended.
        self.assertEqual(b'', b''.join(stream))


class TestLogs(StreamingContract, DriverFunctionalBase):

    python_image = PYTHON
    # The driver attached to the container: it knows how stderr's long
    # last line ended.
    assumed_when_long_last_line = []

    def test_long_last_line_ends_as_written(self):
        # The one shape the engine's log cannot tell: a last line of 16 KiB
        # or more, with and without its newline. The driver watched the
        # raw stream end, so nothing is assumed.
        for index, (printf, end) in enumerate((('end', b''),
                                                ('end\\n', b'\n'))):
            script = ('head -c 40000 /dev/zero | tr "\\0" L; '
                      'printf "%s"; head -c 20000 /dev/zero | tr "\\0" E '
                      '>&2' % printf)
            code, _, handle = self.run_step(self.sh(script, index=index))
            self.assertEqual(0, code)
            out, err, _all, assumed = self.read_all(handle)
            # Compared by summary: a mismatch of 40 KB is unreadable.
            self.assertEqual((40003 + len(end), b'Lend' + end, True),
                             (len(out), out[-4 - len(end):],
                              out == b'L' * 40000 + b'end' + end))
            self.assertEqual((20000, True), (len(err), err == b'E' * 20000))
            self.assertEqual([], assumed)

    # ~200 KB on each of stdout and stderr, deterministic, with bytes that
    # are not UTF-8, a run longer than the engine's 16 KiB log buffer and
    # no final newline.
    PATTERN = (
        'i=0; while [ $i -lt 2000 ]; do '
        'printf "out-%05d-abcdefghijklmnopqrstuvwxyz-\\377\\000-%s\\n" $i '
        '0123456789012345678901234567890123456789012345678901234567890; '
        'printf "err-%05d-ABCDEFGHIJKLMNOPQRSTUVWXYZ-%s\\n" $i '
        '0123456789012345678901234567890123456789012345678901234567890 >&2; '
        'i=$((i+1)); done; '
        # stdout and stderr are two pipes the engine reads concurrently:
        # let stderr drain so the tail below stays one run on stdout.
        'sleep 1; head -c 40000 /dev/zero | tr "\\0" L; '
        'printf "no-newline-end"')

    def test_skip_bytes_is_exact(self):
        code, full, handle = self.run_step(self.sh(self.PATTERN))
        self.assertEqual(0, code)
        lines = full.split(b'\n')
        out = [ln for ln in lines if ln.startswith(b'out-')]
        err = [ln for ln in lines if ln.startswith(b'err-')]
        digits = b'0123456789' * 6 + b'0'
        # Each stream in its own order, every byte as written (the
        # 'local' log driver keeps bytes that are not UTF-8).
        self.assertEqual([b'out-%05d-abcdefghijklmnopqrstuvwxyz-'
                          b'\xff\x00-%s' % (i, digits)
                          for i in range(2000)], out)
        self.assertEqual([b'err-%05d-ABCDEFGHIJKLMNOPQRSTUVWXYZ-%s' % (
            i, digits) for i in range(2000)], err)
        self.assertTrue(full.endswith(b'L' * 40000 + b'no-newline-end'))
        self.assertGreater(len(full), 400000)
        again = b''.join(self.driver.stream_logs(handle))
        self.assertEqual(full, again)
        for k in (1, 7, 8, 9, 4096, 16384, 16385, 65536, 123457,
                  len(full) // 2, len(full) - 1, len(full), len(full) + 5):
            self.assertEqual(full[k:], b''.join(
                self.driver.stream_logs(handle, skip_bytes=k)),
                'skip_bytes=%d' % k)

