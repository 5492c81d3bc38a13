"""A small threaded WSGI server for craton-api and craton-all.

Production deployments run ``craton.api.wsgi:application`` under a real WSGI
server (uWSGI, mod_wsgi); this one is for the embedded default and tests.
"""

import socketserver
import threading
from wsgiref import simple_server

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class _Handler(simple_server.WSGIRequestHandler):
    def log_message(self, fmt, *args):
        LOG.info('%s %s', self.client_address[0], fmt % args)


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class WSGIServer:
    """Serve ``app`` on ``host:port`` in a background thread."""

    def __init__(self, app, host, port):
        self._server = simple_server.make_server(
            host, port, app, server_class=_Server, handler_class=_Handler)
        self._thread = None

    @property
    def port(self):
        return self._server.server_port

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name='craton-api', daemon=True)
        self._thread.start()
        LOG.info('API listening on %s:%s', *self._server.server_address[:2])

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
