# SPDX-License-Identifier: Apache-2.0
"""WSGI middleware of the API: error format, body size cap, noauth.

Every 4xx/5xx leaves the API in the OpenStack API-WG errors format::

    {"errors": [{"status": 404, "code": "craton.task.not_found",
                 "title": "Not Found", "detail": "...",
                 "request_id": "req-..."}]}

whoever produced it: a controller (its CratonException, recorded in the
environ by ``types.expose``), WSME (its ``faultstring``), pecan (404, 405),
keystonemiddleware (401) or this module (413).
"""

import collections
import json
import re

from oslo_log import log
from oslo_middleware import healthcheck
from oslo_middleware import request_id
from oslo_middleware import sizelimit
import webob
import webob.exc

from craton.api import media_types
from craton.common import exception

LOG = log.getLogger(__name__)

# Largest request body accepted (a job's inventory and variables, a
# workflow's steps); beyond it the answer is 413.
MAX_REQUEST_BODY = 10 * 1024 * 1024

MAX_DETAIL = 1024

ERROR_ENVIRON_KEY = 'craton.error'

_DEFAULT_CODES = {
    400: 'craton.invalid',
    401: 'craton.not_authorized',
    403: 'craton.forbidden',
    404: 'craton.not_found',
    405: 'craton.method_not_allowed',
    406: 'craton.not_acceptable',
    409: 'craton.conflict',
    413: 'craton.too_large',
    415: 'craton.unsupported_media_type',
    503: 'craton.unavailable',
}


def record_error(environ, exc):
    """Keep a CratonException's status, code and message for the error
    format (WSME turns exceptions into its own body and drops the code).
    """
    environ[ERROR_ENVIRON_KEY] = {'status': exc.code,
                                  'code': exc.error_code,
                                  'detail': str(exc),
                                  'retry_after': getattr(exc, 'retry_after',
                                                         None)}


class ErrorFormatMiddleware:
    """Rewrite every error response into the API-WG errors format."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        try:
            resp = req.get_response(self.app)
        except exception.CratonException as exc:
            record_error(environ, exc)
            resp = webob.Response(status=exc.code)
        except webob.exc.HTTPException as exc:
            resp = exc
        except Exception:
            LOG.exception('Unexpected error serving %s %s', req.method,
                          req.path)
            resp = webob.Response(status=500)
        if resp.status_int >= 400:
            resp = self._format(req, resp)
        return resp(environ, start_response)

    def _format(self, req, resp):
        status = resp.status_int
        recorded = req.environ.get(ERROR_ENVIRON_KEY)
        retry_after = None
        if recorded and recorded['status'] == status:
            code, detail = recorded['code'], recorded['detail']
            retry_after = recorded.get('retry_after')
        else:
            code = _DEFAULT_CODES.get(status, 'craton.error')
            detail = self._detail(req, resp)
        if status >= 500 and not recorded and status != 503:
            # Never show an internal error's text (it may quote SQL or a
            # path); the log has it, under the request id.
            detail = ('An unexpected error occurred; the service log has '
                      'the details under the request id.')
        if len(detail) > MAX_DETAIL:
            # WSME quotes the offending value, which may be huge.
            detail = detail[:MAX_DETAIL] + '...'
        cls = webob.exc.status_map.get(status)
        error = {
            'status': status,
            'code': code,
            'title': cls.title if cls else resp.status.partition(' ')[2],
            'detail': detail,
            'request_id': req.environ.get(request_id.ENV_REQUEST_ID),
        }
        headers = [(k, v) for k, v in resp.headerlist
                   if k.lower() not in ('content-type', 'content-length')]
        if error['request_id'] and not any(
                k.lower() == request_id.HTTP_RESP_HEADER_REQUEST_ID.lower()
                for k, _ in headers):
            # An exception went past RequestId before it could add it.
            headers.append((request_id.HTTP_RESP_HEADER_REQUEST_ID,
                            error['request_id']))
        if retry_after is not None:
            # A busy dependency (503): when to try again, in seconds.
            headers = [(k, v) for k, v in headers
                       if k.lower() != 'retry-after']
            headers.append(('Retry-After', str(int(retry_after))))
        new = webob.Response(status=resp.status, headerlist=headers)
        new.content_type = 'application/json'
        new.charset = None
        new.body = json.dumps({'errors': [error]}).encode('utf-8')
        return new

    @staticmethod
    def _detail(req, resp):
        status = resp.status_int
        body = resp.body if req.method != 'HEAD' else b''
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        if isinstance(data, dict):
            if data.get('faultstring'):  # WSME
                return str(data['faultstring'])
            error = data.get('error')
            if isinstance(error, dict) and error.get('message'):
                return str(error['message'])  # keystonemiddleware
        if status == 404:
            return 'No resource at %s %s.' % (req.method, req.path)
        if status == 405:
            return 'Method %s is not allowed on %s.' % (req.method,
                                                         req.path)
        if status == 413:
            return ('The request body is larger than %d bytes.'
                    % MAX_REQUEST_BODY)
        if status == 401:
            return 'Authentication is required: send a valid X-Auth-Token.'
        cls = webob.exc.status_map.get(status)
        return getattr(cls, 'explanation', None) or resp.status


class BodyRoute(collections.namedtuple(
        'BodyRoute', ['method', 'path', 'content_types', 'limit', 'what'])):
    """A route whose body is not JSON: it takes only ``content_types``
    (415 otherwise, before anything parses the body) and has a size limit
    of its own. ``path`` is a regular expression matched against
    PATH_INFO; ``limit`` returns ``(bytes, the option setting it)`` and is
    called per request (configuration is read at call time); ``what``
    names the body in messages.
    """

    def matches(self, req):
        return req.method == self.method and \
            re.match(self.path, req.path_info) is not None

    def media_type_error(self, req):
        return exception.UnsupportedMediaType(
            reason='the body of %s %s must be %s, sent as Content-Type: %s, '
                   'not %r' % (req.method, req.path_info, self.what,
                               self.content_types[0],
                               req.content_type or 'none'))


class BodySizeLimitMiddleware:
    """Refuse request bodies over :data:`MAX_REQUEST_BODY` (413), and apply
    the content types and size limit of a matching :class:`BodyRoute`.
    """

    def __init__(self, app, limit=MAX_REQUEST_BODY, routes=()):
        self.app = app
        self.limit = limit
        self.routes = tuple(routes)

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        route = next((r for r in self.routes if r.matches(req)), None)
        limit = self.limit
        if route:
            limit, option = route.limit()
            error = None
            if media_types.of(req.content_type) not in route.content_types:
                error = route.media_type_error(req)
            elif (req.content_length or 0) > limit:
                error = exception.RequestTooLarge(
                    reason='the body is %d bytes; at most %d are accepted '
                           '(%s)' % (req.content_length, limit, option))
            if error is not None:
                record_error(environ, error)
                return webob.Response(status=error.code)(environ,
                                                         start_response)
        if req.content_length is not None:
            if req.content_length > limit:
                return webob.exc.HTTPRequestEntityTooLarge()(
                    environ, start_response)
        elif req.is_body_readable:
            # Chunked: stop reading once past the limit.
            environ['wsgi.input'] = sizelimit.LimitingReader(
                environ['wsgi.input'], limit)
        return self.app(environ, start_response)


class NoAuthMiddleware:
    """Development only: identity from headers, with defaults.

    Sets the same environ keys keystonemiddleware sets, so the request
    context is built the same way under either strategy.
    """

    DEFAULTS = (('HTTP_X_PROJECT_ID', 'default'),
                ('HTTP_X_USER_ID', 'admin'),
                ('HTTP_X_ROLES', 'admin,member,reader'))

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        for key, default in self.DEFAULTS:
            if not environ.get(key, '').strip():
                environ[key] = default
        environ['HTTP_X_IDENTITY_STATUS'] = 'Confirmed'
        return self.app(environ, start_response)


class HealthcheckRoute:
    """``/healthcheck`` (oslo.middleware's Healthcheck, no auth); every
    other path goes on to ``app``. (The middleware itself answers any path
    it is mounted on, as paste's urlmap would mount it.)
    """

    PATH = '/healthcheck'

    def __init__(self, app, conf):
        self.app = app
        self.check = healthcheck.Healthcheck(app,
                                             {'oslo_config_config': conf})

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO', '').rstrip('/') == self.PATH:
            return self.check(environ, start_response)
        return self.app(environ, start_response)


class PublicRoutes:
    """Send version discovery (``/``, ``/v1``) past authentication."""

    PATHS = frozenset(('', '/', '/v1', '/v1/'))

    def __init__(self, authenticated, public):
        self.authenticated = authenticated
        self.public = public

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO', '') in self.PATHS and \
                environ.get('REQUEST_METHOD') in ('GET', 'HEAD'):
            return self.public(environ, start_response)
        return self.authenticated(environ, start_response)
