# SPDX-License-Identifier: Apache-2.0
"""Stopping a followed log from another thread, over a real socket."""

import queue
import socket
import struct
import threading
import time
from unittest import mock

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

    def test_once_ended_nothing_is_waited_for(self):
        # A frame the manager has not sent yet is not waited for: the
        # plain read at the end of the follow supplies it.
        frames, ended = queue.Queue(), threading.Event()
        ended.set()
        threading.Timer(0.5, frames.put, ('late',)).start()
        started = time.monotonic()
        self.assertIsNone(swarm_logs._next_frame(frames, 60, ended))
        self.assertLess(time.monotonic() - started, 0.4)

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
