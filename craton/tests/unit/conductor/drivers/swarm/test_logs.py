# SPDX-License-Identifier: Apache-2.0
"""Stopping a followed log from another thread, over a real socket."""

import queue
import socket
import struct
import threading
import time
from unittest import mock

import fixtures
from oslotest import base
import requests

from craton.conductor.drivers.swarm import logs as swarm_logs
from craton.tests.unit.conductor import fake_logs

FRAME = fake_logs.encode([(1, b'2026-11-30T00:00:00.000000000Z', b'hi\n')])


class SilentEngine(threading.Thread):
    """Answers one followed log request with a frame, then says nothing.

    As the manager does while a task runs quietly: the connection stays
    open and the reader's next read blocks.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.server = socket.create_server(('127.0.0.1', 0))
        self.port = self.server.getsockname()[1]
        self.done = threading.Event()

    def run(self):
        conn, _addr = self.server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b'HTTP/1.1 200 OK\r\n'
                         b'Content-Type: application/vnd.docker.raw-stream'
                         b'\r\nTransfer-Encoding: chunked\r\n\r\n' +
                         b'%x\r\n' % len(FRAME) + FRAME + b'\r\n')
            self.done.wait(30)

    def stop(self):
        self.done.set()
        self.server.close()


class TestFollowerClose(base.BaseTestCase):

    def test_close_unblocks_a_blocked_read(self):
        engine = SilentEngine()
        engine.start()
        self.addCleanup(engine.stop)
        session = requests.Session()
        self.addCleanup(session.close)
        response = session.get('http://127.0.0.1:%d/v1.41/services/s/logs'
                               % engine.port, stream=True, timeout=30)
        follower = swarm_logs._Follower(response)
        follower.start()
        self.assertEqual(struct.unpack('>BxxxL', FRAME[:8])[0],
                         follower.queue.get(timeout=10)[0])
        # The follower now waits for the next frame, which never comes.
        self.assertRaises(queue.Empty, follower.queue.get, timeout=0.2)
        self.assertTrue(follower.is_alive())
        started = time.monotonic()
        follower.close()
        # close() joins for up to 5 s: a read it could not unblock would
        # still be running then.
        self.assertLess(time.monotonic() - started, 4)
        self.assertFalse(follower.is_alive())
        self.assertIs(swarm_logs._END, follower.queue.get(timeout=1))
        self.assertTrue(response.raw.closed)

    def test_close_after_the_stream_ended(self):
        response = fake_logs.FakeResponse(200, FRAME)
        follower = swarm_logs._Follower(response)
        follower.start()
        follower.join(5)
        # An ended (or released) stream cannot be shut down: no error,
        # and the response is still closed.
        with mock.patch.object(response.raw, 'shutdown',
                               side_effect=RuntimeError('released')):
            follower.close()
        self.assertTrue(response.closed)


class TestEndedHint(base.BaseTestCase):
    """A quiet follow looks at the task as soon as it is told the task
    ended, not at its next idle check.
    """

    def test_frames_first_then_none_once_ended(self):
        frames, ended = queue.Queue(), threading.Event()
        frames.put('frame')
        ended.set()
        self.assertEqual('frame', swarm_logs._next_frame(frames, 60, ended))
        self.assertIsNone(swarm_logs._next_frame(frames, 60, ended))

    def test_frames_still_coming_after_the_end_are_followed(self):
        # The manager may send a backlog after the task ended: with a
        # pause, a frame that comes within it is still followed.
        frames, ended = queue.Queue(), threading.Event()
        ended.set()
        threading.Timer(0.01, frames.put, ('late',)).start()
        self.assertEqual('late', swarm_logs._next_frame(frames, 60, ended,
                                                        pause=5))

    def test_without_a_pause_nothing_is_waited_for(self):
        frames, ended = queue.Queue(), threading.Event()
        ended.set()
        threading.Timer(5, frames.put, ('late',)).start()
        self.assertIsNone(swarm_logs._next_frame(frames, 60, ended,
                                                 pause=0))


class _QueuedFollower:
    """Stands for _Follower: its queue starts with ``initial`` (what the
    manager sent so far); the stream stays open, as a followed service
    log does.
    """

    initial = []
    instances = []

    def __init__(self, response):
        self.queue = queue.Queue()
        for frame in self.initial:
            self.queue.put(frame)
        self.error = None
        self.instances.append(self)

    def start(self):
        pass

    def close(self):
        pass


class TestFollowEnd(base.BaseTestCase):
    """How a follow that was told its task ended finishes: from a plain
    read at once when that read lines up with what was followed, else
    after the manager's backlog.
    """

    A1 = (1, b'2026-11-30T00:00:01Z', b'a1\n')
    A2 = (1, b'2026-11-30T00:00:02Z', b'a2\n')
    B = (1, b'2026-11-30T00:00:03Z', b'b\n')

    def setUp(self):
        super().setUp()
        _QueuedFollower.instances = []
        self.useFixture(fixtures.MockPatchObject(swarm_logs, '_Follower',
                                                 _QueuedFollower))
        self.useFixture(fixtures.MockPatchObject(swarm_logs, '_request'))
        self.useFixture(fixtures.MockPatchObject(swarm_logs,
                                                 'IDLE_CHECK_MIN', 0.01))
        self.reads = []
        self.plain = []
        self.useFixture(fixtures.MockPatchObject(swarm_logs, 'read',
                                                 self.read))

    def read(self, api, service_id):
        self.reads.append(service_id)
        yield from list(self.plain)

    def follow(self, followed):
        """The frames a follow yields whose task ended after the manager
        sent ``followed``.
        """
        _QueuedFollower.initial = list(followed)
        ended = threading.Event()
        ended.set()
        exited = mock.Mock(return_value=mock.Mock(status='exited'))
        return list(swarm_logs.follow(None, 's1', exited, RuntimeError,
                                      ended=ended))

    def test_a_plain_read_that_lines_up_ends_it_at_once(self):
        self.plain = [self.A1, self.A2, self.B]
        self.assertEqual([self.A1, self.A2, self.B],
                         self.follow([self.A1, self.A2]))
        self.assertEqual(1, len(self.reads))     # no second, final read

    def test_a_head_dropped_by_the_engine_takes_the_backlog_first(self):
        # The engine kept only the end of a long log: its plain read does
        # not line up, so what the manager still sends is followed first.
        self.plain = [self.A2, self.B]
        real_read = self.read

        def read(api, service_id):
            if not self.reads:
                # The backlog arrives while the follow looks.
                (follower,) = _QueuedFollower.instances
                follower.queue.put(self.A2)
                follower.queue.put(self.B)
            return real_read(api, service_id)
        self.useFixture(fixtures.MockPatchObject(swarm_logs, 'read', read))
        self.assertEqual([self.A1, self.A2, self.B],
                         self.follow([self.A1]))
        self.assertEqual(2, len(self.reads))

    def test_nothing_followed_yet_waits_for_the_backlog(self):
        self.plain = [self.A1]
        self.assertEqual([self.A1], self.follow([]))
        # No read to line up with: only the final one.
        self.assertEqual(1, len(self.reads))

    def test_told_while_waiting(self):
        frames, ended = queue.Queue(), threading.Event()
        got = {}

        def wait():
            got['frame'] = swarm_logs._next_frame(frames, 3600, ended)
        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        ended.set()
        waiter.join(30)
        self.assertFalse(waiter.is_alive(), 'waited for the idle check')
        self.assertIsNone(got['frame'])

    def test_without_a_hint_the_idle_check_comes(self):
        self.assertIsNone(swarm_logs._next_frame(queue.Queue(), 0.01, None))
        self.assertIsNone(swarm_logs._next_frame(queue.Queue(), 0.01,
                                                 threading.Event()))
