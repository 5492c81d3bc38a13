# SPDX-License-Identifier: Apache-2.0
"""The API's WSGI application and its middleware stack.

From the outside in: error format → request id → path and query checks
(UTF-8) → Content-Type in canonical form → proxy headers → body size cap
→ healthcheck → authentication (keystonemiddleware ``auth_token``, or the
development ``noauth``) → audit trail of writes → body checks (JSON
depth, Unicode) → pecan (hooks, then the controllers).
"""

from keystoneauth1 import loading
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
import pecan

from craton.api import audit
from craton.api.controllers import root
from craton.api.controllers.v1 import task_source
from craton.api import hooks
from craton.api import input_checks
from craton.api import media_types
from craton.api import middleware
from craton import conf as craton_conf

KEYSTONE_AUTHTOKEN_GROUP = 'keystone_authtoken'


def register_auth_opts(conf):
    """Register ``[keystone_authtoken]`` (keystonemiddleware's options)."""
    # Imported here, not at the top: importing auth_token registers its
    # options and oslo.cache's on the global cfg.CONF, which a noauth API
    # (the embedded craton-all) has no use for.
    from keystonemiddleware import auth_token
    # auth_token.list_opts is the public list for registering the options
    # in a service's own configuration (its docstring says so).
    for group, opts in auth_token.list_opts():
        conf.register_opts(opts, group=group)
    loading.register_auth_conf_options(conf, KEYSTONE_AUTHTOKEN_GROUP)


def _pecan_app(conf):
    return pecan.Pecan(
        root.RootController(),
        hooks=[hooks.IgnoreAcceptHook(), hooks.IgnoreBodyHook(),
               hooks.RepeatedQueryHook(),
               hooks.ConfigHook(conf),
               hooks.ContextHook(),
               hooks.RPCHook(conf)],
        force_canonical=False,
        guess_content_type_from_ext=False)


def _auth(app, conf):
    if conf.api.auth_strategy == 'noauth':
        return middleware.NoAuthMiddleware(app)
    # Here, not at the top: see register_auth_opts.
    from keystonemiddleware import auth_token
    register_auth_opts(conf)
    authenticated = auth_token.AuthProtocol(
        app, {'oslo_config_config': conf, 'oslo_config_project': 'craton'})
    return middleware.PublicRoutes(authenticated, app)


def setup_app(conf=None):
    """Build the API's WSGI application from ``conf`` (read now)."""
    if conf is None:
        conf = craton_conf.CONF
    app = _auth(audit.AuditMiddleware(
        input_checks.BodyCheckMiddleware(_pecan_app(conf), conf)), conf)
    app = middleware.HealthcheckRoute(app, conf)
    app = middleware.BodySizeLimitMiddleware(
        app, routes=[task_source.body_route(conf)])
    # Behind a TLS-terminating proxy, links use the client's scheme and
    # host ([oslo_middleware] enable_proxy_headers_parsing).
    app = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    # Media types are case-insensitive; WSME compares them as strings.
    app = media_types.NormaliseMiddleware(app)
    app = input_checks.UrlCheckMiddleware(app)
    app = request_id.RequestId(app)
    return middleware.ErrorFormatMiddleware(app)

