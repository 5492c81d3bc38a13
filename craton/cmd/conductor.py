# SPDX-License-Identifier: Apache-2.0
"""craton-conductor: builds images and runs jobs, behind oslo.messaging."""

import signal
import sys
import threading

from oslo_log import log as logging

from craton.common import rpc
from craton.common import service as craton_service
from craton.conductor import manager
from craton.conductor import service

LOG = logging.getLogger(__name__)


def run(conf, with_api=False):
    """Start a conductor (and, for craton-all, the API) and block until
    SIGTERM/SIGINT.
    """
    conductor = service.ConductorService(conf)
    endpoint = manager.ConductorManager(conductor)
    rpc_server = None
    if conf.rpc_transport == 'local':
        if not with_api:
            sys.exit('rpc_transport = local only works with craton-all: '
                     'set [DEFAULT] rpc_transport = oslo and a transport_url')
        rpc.set_local_endpoint(endpoint)
    conductor.start()
    if conf.rpc_transport == 'oslo':
        rpc_server = rpc.get_server(conf, conductor.host, [endpoint])
        rpc_server.start()
    api_server = None
    if with_api:
        from craton.api import app
        from craton.common import wsgi_server
        api_server = wsgi_server.WSGIServer.from_conf(app.setup_app(conf),
                                                      conf)
        api_server.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *a: stop.set())
    LOG.info('craton ready (conductor %s)', conductor.host)
    stop.wait()
    LOG.info('Stopping')
    if api_server:
        api_server.stop()
    if rpc_server:
        rpc_server.stop()
        rpc_server.wait()
    conductor.stop()
    rpc.cleanup()


def main():
    conf = craton_service.prepare_service()
    run(conf)


if __name__ == '__main__':
    main()
