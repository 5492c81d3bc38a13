# SPDX-License-Identifier: Apache-2.0
"""RPC plumbing: oslo.messaging, or in-process calls for craton-all.

``[DEFAULT] rpc_transport = oslo`` sends casts and calls through
oslo.messaging (``[DEFAULT] transport_url``). ``local`` hands them straight
to the conductor manager living in the same process; casts then run on a
small thread pool so the API answers at once, as it does over a broker.
"""

import threading

import futurist
import oslo_messaging as messaging
from oslo_messaging.rpc import dispatcher

from craton.common import context as craton_context
from craton.common import exception

TOPIC = 'craton-conductor'

_TRANSPORT = None
_LOCAL_ENDPOINT = None
_LOCAL_POOL = None
_LOCK = threading.Lock()


class RequestContextSerializer(messaging.Serializer):
    """Carries the request context across RPC; objects travel as plain
    values (the conductor reads what it needs from the database).
    """

    def serialize_entity(self, context, entity):
        return entity

    def deserialize_entity(self, context, entity):
        return entity

    def serialize_context(self, context):
        return context.to_dict()

    def deserialize_context(self, context):
        return craton_context.RequestContext.from_dict(context)


def get_transport(conf):
    global _TRANSPORT
    with _LOCK:
        if _TRANSPORT is None:
            _TRANSPORT = messaging.get_rpc_transport(conf)
        return _TRANSPORT


def cleanup():
    """Drop the transport and the local endpoint (tests, shutdown)."""
    global _TRANSPORT, _LOCAL_ENDPOINT, _LOCAL_POOL
    with _LOCK:
        if _TRANSPORT is not None:
            _TRANSPORT.cleanup()
        _TRANSPORT = None
        _LOCAL_ENDPOINT = None
        if _LOCAL_POOL is not None:
            _LOCAL_POOL.shutdown(wait=False)
        _LOCAL_POOL = None


def set_local_endpoint(endpoint):
    """Register the in-process conductor manager (craton-all)."""
    global _LOCAL_ENDPOINT, _LOCAL_POOL
    with _LOCK:
        _LOCAL_ENDPOINT = endpoint
        if _LOCAL_POOL is None:
            _LOCAL_POOL = futurist.ThreadPoolExecutor(max_workers=4)


class _LocalClient:
    """The subset of ``RPCClient`` Craton uses, served in-process."""

    def __init__(self, version_cap=None):
        self.version_cap = version_cap

    def prepare(self, **kwargs):
        return self

    def can_send_version(self, version):
        return True

    def _endpoint(self):
        if _LOCAL_ENDPOINT is None:
            raise exception.ServiceUnavailable(
                reason='no conductor runs in this process; rpc_transport = '
                       'local needs craton-all')
        return _LOCAL_ENDPOINT

    def call(self, context, method, **kwargs):
        return getattr(self._endpoint(), method)(context, **kwargs)

    def cast(self, context, method, **kwargs):
        endpoint = self._endpoint()
        # Work on a copy of the context: the caller's request ends now.
        ctx = craton_context.RequestContext.from_dict(context.to_dict())
        _LOCAL_POOL.submit(getattr(endpoint, method), ctx, **kwargs)


def get_client(conf, version_cap):
    """An RPC client for the conductor topic."""
    if conf.rpc_transport == 'local':
        return _LocalClient(version_cap)
    target = messaging.Target(topic=TOPIC)
    # A cast is only a wake-up (the row is already written and the sweep
    # finds it), so with the broker down the API gives up after one retry
    # instead of holding the request until the broker is back.
    return messaging.get_rpc_client(get_transport(conf), target,
                                    version_cap=version_cap, retry=1,
                                    serializer=RequestContextSerializer())


def get_server(conf, host, endpoints):
    """An oslo.messaging RPC server for a conductor, on a thread executor.

    oslo.messaging picks its threading executor by itself (eventlet only
    where threads are monkey-patched, which craton never does); naming it
    is deprecated.
    """
    target = messaging.Target(topic=TOPIC, server=host)
    access_policy = dispatcher.DefaultRPCAccessPolicy
    return messaging.get_rpc_server(get_transport(conf), target, endpoints,
                                    serializer=RequestContextSerializer(),
                                    access_policy=access_policy)
