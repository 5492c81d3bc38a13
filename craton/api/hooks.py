# SPDX-License-Identifier: Apache-2.0
"""Pecan hooks: give controllers the configuration, the request context
and the conductor RPC client.
"""

import threading

from oslo_log import log
from pecan import hooks

from craton.common import context
from craton.common import exception
from craton.conductor import rpcapi

LOG = log.getLogger(__name__)


class ConfigHook(hooks.PecanHook):
    """``pecan.request.conf``: the configuration the app was built with."""

    def __init__(self, conf):
        self.conf = conf

    def before(self, state):
        state.request.conf = self.conf


class IgnoreAcceptHook(hooks.PecanHook):
    """Every answer has one format (JSON; a step's log is text/plain), so
    the Accept header chooses nothing: without this, pecan answers 406 to
    a browser's ``Accept: text/html``.
    """

    def on_route(self, state):
        state.request.environ.pop('HTTP_ACCEPT', None)


class IgnoreBodyHook(hooks.PecanHook):
    """GET, HEAD and DELETE take their arguments from the path and query
    only. WSME would otherwise read a JSON body as arguments too, and a
    body value of the wrong type (``{"limit": {}}``) fails inside WSME as
    a server error instead of a 400.
    """

    def on_route(self, state):
        if state.request.method in ('GET', 'HEAD', 'DELETE'):
            state.request.body = b''
            state.request.environ.pop('CONTENT_TYPE', None)


# Query parameters a list takes several times, each value narrowing it.
REPEATABLE = frozenset(('label',))
# Query parameters that are not filters: one value each.
NOT_FILTERS = frozenset(('limit', 'marker', 'sort_key', 'sort_dir',
                         'all_projects', 'offset', 'resolved'))
# In the environ when a repeated filter holds values no item can have at
# once: the list is empty (see collection.Page.fetch).
DISJOINT_FILTERS = 'craton.disjoint_filters'


class RepeatedQueryHook(hooks.PecanHook):
    """api-ref.rst: a repeated filter means all of them. A filter an item has
    one value of (``status``, ``resource_type``, ...) given twice with
    different values therefore matches nothing, and the list is empty;
    the same value twice is that value. A parameter that is not a filter
    (``limit``, ``marker``, ...) given twice with different values is a
    400 naming it. Without this, the last value would silently win.
    """

    def before(self, state):
        request = state.request
        if request.method not in ('GET', 'HEAD'):
            return
        for key in set(request.GET.keys()):
            if key in REPEATABLE or len(set(request.GET.getall(key))) < 2:
                continue
            if key in NOT_FILTERS:
                raise exception.InvalidParameter(
                    name=key, reason='given more than once with different '
                    'values; it takes one')
            request.environ[DISJOINT_FILTERS] = True


class ContextHook(hooks.PecanHook):
    """``pecan.request.context``, built from the identity keystonemiddleware
    (or the noauth middleware) put in the environ.
    """

    def before(self, state):
        ctx = context.RequestContext.from_environ(state.request.environ)
        # Every resource belongs to a project (api-ref.rst: a token not scoped
        # to a project is 403). Refused before any lookup, so such a token
        # cannot even tell whether a UUID exists.
        if ctx.project_id is None and _is_resource(state.request.path):
            raise exception.ProjectScopeRequired()
        state.request.context = ctx


def _is_resource(path):
    """Whether ``path`` names a resource of ``/v1`` (not the root or the
    version documents, which anyone may read).
    """
    parts = [p for p in path.split('/') if p]
    return len(parts) >= 2 and parts[0] == 'v1'


class RPCHook(hooks.PecanHook):
    """``pecan.request.rpcapi``: one ConductorAPI per application, made on
    the first request (not when the app is built).
    """

    def __init__(self, conf):
        self.conf = conf
        self._rpcapi = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._rpcapi is None:
                self._rpcapi = rpcapi.ConductorAPI(self.conf)
            return self._rpcapi

    def before(self, state):
        try:
            state.request.rpcapi = self._get()
        except Exception:
            # A broken transport must not break reads; a write's cast is
            # only a wake-up (see utils.cast), so it goes without.
            LOG.exception('Cannot create the conductor RPC client')
            state.request.rpcapi = None
