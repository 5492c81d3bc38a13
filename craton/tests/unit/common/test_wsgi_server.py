# SPDX-License-Identifier: Apache-2.0
"""The embedded API server (craton-api, craton-all): its listen backlog,
its bounded thread pool and how a burst of clients is served, on a real
socket on a free loopback port.
"""

import http.client
import socket
import struct
import sys
import threading
import time

from craton.api import app as api_app
from craton.common import wsgi_server
from craton import conf
from craton.tests import base
from craton.tests.unit.api import base as api_base


def kernel_backlog(sock):
    """The backlog the kernel holds for a listening TCP socket: Linux's
    TCP_INFO reports it as tcpi_sacked (after 8 one-byte fields and the
    four 32-bit rto, ato, snd_mss, rcv_mss, unacked).
    """
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return struct.unpack_from('I', info, 28)[0]


def somaxconn():
    with open('/proc/sys/net/core/somaxconn') as f:
        return int(f.read())


def get(port, path='/', headers=None, timeout=30):
    """``(status, body)`` of a GET; an exception if nothing came back."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('GET', path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def burst(port, count, path='/', headers=None):
    """Send ``count`` GETs at once, from as many threads; return what each
    got: ``(status, body)`` or the exception.
    """
    results = [None] * count
    start = threading.Barrier(count)

    def one(i):
        start.wait()
        try:
            results[i] = get(port, path, headers)
        except Exception as exc:
            results[i] = exc

    workers = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    return results


class SlowApp:
    """A WSGI app that takes ``delay`` seconds and counts how many
    requests it serves at once.
    """

    def __init__(self, delay=0.02):
        self.delay = delay
        self.lock = threading.Lock()
        self.now = self.most = 0

    def __call__(self, environ, start_response):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(self.delay)
        finally:
            with self.lock:
                self.now -= 1
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'ok']


class ServerCase(base.TestCase):

    def serve(self, app, **kw):
        server = wsgi_server.WSGIServer(app, '127.0.0.1', 0, **kw)
        server.start()
        self.addCleanup(server.stop)
        return server


class TestBacklog(ServerCase):

    def setUp(self):
        super().setUp()
        if not sys.platform.startswith('linux'):
            self.skipTest('reads the backlog through Linux TCP_INFO')

    def test_backlog_option(self):
        self.assertEqual(128, conf.CONF.api.backlog)
        for backlog in (128, 77):
            self.config(backlog=backlog, port=0, group='api')
            server = wsgi_server.WSGIServer.from_conf(SlowApp(), conf.CONF)
            self.addCleanup(server.stop)
            self.assertEqual(min(backlog, somaxconn()),
                             kernel_backlog(server.socket))

    def test_default_is_not_socketservers_five(self):
        server = self.serve(SlowApp())
        self.assertEqual(min(128, somaxconn()), kernel_backlog(server.socket))


class TestBurst(ServerCase):

    def test_more_clients_than_threads_all_answered(self):
        # 200 clients at once, 4 threads: the rest wait in the backlog
        # (as they would with one listening socket in front of many).
        app = SlowApp()
        server = self.serve(app, threads=4)
        results = burst(server.port, 200)
        failed = [r for r in results if r != (200, b'ok')]
        self.assertEqual([], failed)
        self.assertLessEqual(app.most, 4)
        self.assertGreater(app.most, 1)

    def test_silent_client_frees_its_thread(self):
        server = self.serve(SlowApp(0), threads=1, client_socket_timeout=1)
        silent = socket.create_connection(('127.0.0.1', server.port))
        self.addCleanup(silent.close)
        started = time.monotonic()
        self.assertEqual((200, b'ok'), get(server.port, timeout=30))
        self.assertLess(time.monotonic() - started, 15)

    def test_stop_with_every_thread_busy(self):
        server = wsgi_server.WSGIServer(SlowApp(3), '127.0.0.1', 0,
                                        threads=1)
        server.start()
        clients = [threading.Thread(target=burst, args=(server.port, 3))]
        clients[0].start()
        time.sleep(0.5)
        started = time.monotonic()
        server.stop()
        self.assertLess(time.monotonic() - started, 5)
        clients[0].join(30)


class TestAPIBurst(api_base.APITestCase):
    """The whole API behind the real server: a burst of 100 clients."""

    def test_hundred_concurrent_requests(self):
        self.make_region('r1')
        server = wsgi_server.WSGIServer(api_app.setup_app(conf.CONF),
                                        '127.0.0.1', 0, threads=8)
        server.start()
        self.addCleanup(server.stop)
        results = burst(server.port, 100, '/v1/regions', self.headers())
        statuses = [r[0] if isinstance(r, tuple) else r for r in results]
        self.assertEqual([200] * 100, statuses)
        self.assertIn(b'"r1"', results[0][1])
