# SPDX-License-Identifier: Apache-2.0
"""A small threaded WSGI server for craton-api and craton-all.

Production deployments run ``craton.api.wsgi:application`` under a real WSGI
server (uWSGI, mod_wsgi); this one is for the embedded default and tests.
It is the standard library's ``wsgiref`` server on ``socketserver``, with:

* a listen backlog of ``[api] backlog``, set through socketserver's
  ``request_queue_size`` (its default, 5, let the kernel drop a burst of
  connections: clients waited for SYN retransmits or gave up);
* at most ``[api] threads`` requests served at once, by a futurist thread
  pool; while every thread is busy the server accepts nothing more, so
  further connections wait in the listen backlog, never refused or reset;
* ``[api] client_socket_timeout`` on each connection, so that a client
  that stops sending or reading frees its thread.
"""

import sys
import threading
from wsgiref import simple_server

import futurist
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# How often a server waiting for a free thread checks whether it is stopping.
_STOP_POLL = 0.5


class _Handler(simple_server.WSGIRequestHandler):

    def setup(self):
        # StreamRequestHandler.setup puts self.timeout on the socket.
        self.timeout = self.server.client_socket_timeout
        super().setup()

    def log_message(self, fmt, *args):
        LOG.info('%s %s', self.client_address[0], fmt % args)


class _Server(simple_server.WSGIServer):
    """wsgiref's server, serving each connection on a bounded pool."""

    allow_reuse_address = True

    def __init__(self, address, backlog, threads, client_socket_timeout):
        # Read by server_activate(), which the base __init__ calls.
        self.request_queue_size = backlog
        self.client_socket_timeout = client_socket_timeout or None
        self._slots = threading.BoundedSemaphore(threads)
        self._pool = futurist.ThreadPoolExecutor(max_workers=threads)
        self._stopping = threading.Event()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        """Serve an accepted connection on the pool; until a thread is
        free, accept nothing more (the kernel queues new connections).
        """
        while not self._slots.acquire(timeout=_STOP_POLL):
            if self._stopping.is_set():
                self.shutdown_request(request)
                return
        try:
            self._pool.submit(self._serve, request, client_address)
        except Exception:
            self._slots.release()
            self.shutdown_request(request)
            raise

    def _serve(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def handle_error(self, request, client_address):
        # socketserver's own prints a traceback to stderr.
        error = sys.exc_info()[1]
        if isinstance(error, (TimeoutError, ConnectionError)):
            LOG.info('Connection from %s closed: %s', client_address[0],
                     error or type(error).__name__)
        else:
            LOG.exception('Error serving a request from %s',
                          client_address[0])

    def stop(self, serving=True):
        """Stop serving (``serving``: whether serve_forever runs, which
        shutdown() waits for) and close the listening socket.
        """
        self._stopping.set()
        if serving:
            self.shutdown()
        self.server_close()
        # Requests under way finish on their own (daemon threads).
        self._pool.shutdown(wait=False)


class WSGIServer:
    """Serve ``app`` on ``host:port`` in a background thread.

    :param backlog: length of the listen queue (the kernel caps it at
        ``net.core.somaxconn``).
    :param threads: requests served at once.
    :param client_socket_timeout: seconds a client's socket may stay
        silent (reading the request, sending the answer); 0 for no limit.
    """

    def __init__(self, app, host, port, backlog=128, threads=64,
                 client_socket_timeout=60):
        self._server = _Server((host, port), backlog, threads,
                               client_socket_timeout)
        self._server.set_app(app)
        self._thread = None

    @classmethod
    def from_conf(cls, app, conf):
        """The server ``[api]`` options describe, serving ``app``."""
        return cls(app, conf.api.host_ip, conf.api.port,
                   backlog=conf.api.backlog, threads=conf.api.threads,
                   client_socket_timeout=conf.api.client_socket_timeout)

    @property
    def port(self):
        return self._server.server_port

    @property
    def socket(self):
        """The listening socket."""
        return self._server.socket

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name='craton-api', daemon=True)
        self._thread.start()
        LOG.info('API listening on %s:%s', *self._server.server_address[:2])

    def stop(self):
        self._server.stop(serving=self._thread is not None)

