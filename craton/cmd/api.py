# SPDX-License-Identifier: Apache-2.0
"""craton-api: the REST API in a small threaded server."""

import signal
import threading

from craton.common import service
from craton.common import wsgi_server


def main():
    conf = service.prepare_service()
    from craton.api import app
    server = wsgi_server.WSGIServer.from_conf(app.setup_app(conf), conf)
    server.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *a: stop.set())
    stop.wait()
    server.stop()


if __name__ == '__main__':
    main()
