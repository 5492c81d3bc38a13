# SPDX-License-Identifier: Apache-2.0
"""The one place that speaks HTTP to Craton, through a keystoneauth1 adapter.

Every request goes through :meth:`HTTPClient.request`, which finds the
endpoint (the catalog's ``craton-workflow`` service, or the override),
turns an error answer into :class:`~cratonclient.exceptions.ApiError` and a
transport failure into :class:`~cratonclient.exceptions.ConnectionFailure`.
"""

import json as jsonlib
import logging
import urllib.parse

from keystoneauth1 import exceptions as ksa_exc
import requests
import requests.adapters

from cratonclient import exceptions

LOG = logging.getLogger(__name__)

SERVICE_TYPE = 'craton-workflow'
API_PREFIX = '/v1'
JSON = 'application/json'
JSON_PATCH = 'application/json-patch+json'
GZIP = 'application/gzip'


# Path segments that URL resolution (RFC 3986 section 5.2.4) would remove
# or climb out of, when written as they are.
DOT_SEGMENTS = ('.', '..')


def quote(ident):
    """``ident`` (a UUID, a name, an index) made safe as one path segment:
    percent-encoded, and a name ``.`` or ``..`` written ``%2E``/``%2E%2E``
    so that it stays a name instead of being resolved away.
    """
    text = urllib.parse.quote(str(ident), safe='')
    if text in DOT_SEGMENTS:
        text = text.replace('.', '%2E')
    return text


def encode_dot_segments(url):
    """``url`` with every path segment ``.`` or ``..`` written ``%2E`` or
    ``%2E%2E``; other URLs are returned unchanged.
    """
    parts = urllib.parse.urlsplit(url)
    segments = parts.path.split('/')
    if not any(seg in DOT_SEGMENTS for seg in segments):
        return url
    path = '/'.join(seg.replace('.', '%2E') if seg in DOT_SEGMENTS else seg
                    for seg in segments)
    return urllib.parse.urlunsplit(parts._replace(path=path))


class _DotSegmentAdapter(requests.adapters.BaseAdapter):
    """A transport adapter that sends through ``inner`` after putting back
    the ``%2E`` of dot segments.

    requests decodes ``%2E`` to ``.`` while preparing a URL (after it has
    resolved the literal dot segments), so a dot segment still present when
    the request is sent was percent-encoded by us, as a name.
    """

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def send(self, request, **kwargs):
        request.url = encode_dot_segments(request.url)
        return self.inner.send(request, **kwargs)

    def close(self):
        self.inner.close()


def _keep_dot_segments(adapter, root):
    """Have the requests session under ``adapter`` send URLs under
    ``root`` through :class:`_DotSegmentAdapter` (once per session).
    """
    session = getattr(getattr(adapter, 'session', None), 'session', None)
    if not isinstance(session, requests.Session):
        return
    prefix = root + '/'
    current = session.get_adapter(prefix)
    if not isinstance(current, _DotSegmentAdapter):
        session.mount(prefix, _DotSegmentAdapter(current))


# Seconds a request may wait for the connection and then for each read.
DEFAULT_TIMEOUT = 60.0
# What a masked field's value is written as in the debug log.
MASK = '***'


def masked(body, fields):
    """A copy of the JSON value ``body`` in which every value of an object
    key named in ``fields`` (at any depth) is replaced by ``MASK``.
    """
    if isinstance(body, dict):
        return {k: MASK if k in fields else masked(v, fields)
                for k, v in body.items()}
    if isinstance(body, list):
        return [masked(v, fields) for v in body]
    return body


class HTTPClient:
    """Requests to the Craton API v1 over a ``keystoneauth1`` adapter.

    :param adapter: a ``keystoneauth1.adapter.Adapter`` (its session carries
        the auth, or none for ``noauth``; its ``endpoint_override``, when
        set, is where Craton answers).
    :param timeout: seconds (a float > 0) to wait for the connection, and
        then for each read of the answer, of every request; None waits
        forever.
    """

    def __init__(self, adapter, timeout=DEFAULT_TIMEOUT):
        self.adapter = adapter
        self.timeout = timeout
        self._root = None

    @property
    def root(self):
        """The service's root URL, without a trailing ``/`` or ``/v1``.

        :raises ClientException: no endpoint in the catalog (and no
            override).
        """
        if self._root is None:
            try:
                endpoint = self.adapter.get_endpoint()
            except ksa_exc.ConnectionError as exc:
                raise exceptions.ConnectionFailure.from_exception(
                    'the identity service', exc)
            except (ksa_exc.EndpointNotFound,
                    ksa_exc.MissingAuthPlugin) as exc:
                raise exceptions.ClientException(self._no_endpoint(exc))
            if not endpoint:
                raise exceptions.ClientException(self._no_endpoint(None))
            endpoint = endpoint.rstrip('/')
            if endpoint.endswith(API_PREFIX):
                endpoint = endpoint[:-len(API_PREFIX)]
            self._root = endpoint
            _keep_dot_segments(self.adapter, endpoint)
        return self._root

    def _no_endpoint(self, exc):
        text = ('no Craton endpoint found (service type %s): give its URL '
                'with --os-craton-url or OS_CRATON_URL' % SERVICE_TYPE)
        return text + (' (%s)' % exc if exc else '')

    def url(self, path):
        """The absolute URL of ``path`` (``/v1/...``); absolute URLs (a
        list's ``next``) are kept as they are.
        """
        if urllib.parse.urlparse(path).netloc:
            return path
        return self.root + path

    def request(self, method, path, json=None, data=None, params=None,
                headers=None, content_type=None, accept=JSON,
                log_body=True, secret_fields=()):
        """Send one request; return the ``requests.Response`` (status < 400).

        :param path: ``/v1/...`` or an absolute URL.
        :param json: a body to send as JSON (``content_type`` defaults to
            ``application/json``).
        :param data: raw bytes to send with ``content_type``.
        :param params: query parameters; a list value repeats the parameter.
        :param log_body: False to keep the answer's body out of the debug
            log (a step's log: a user's data, and large); the request and
            the answer's status and headers are still logged.
        :param secret_fields: keys of ``json`` (at any depth) whose values
            must never reach the debug log (a secret's ``value``): the
            request and its answer are then logged here, with those values
            written ``***``, instead of by keystoneauth, which logs a body
            whole.
        :raises ApiError: the API answered 4xx/5xx.
        :raises ConnectionFailure: the API could not be reached, or did not
            answer within ``timeout`` seconds.
        """
        url = self.url(path)
        headers = dict(headers or {})
        if accept:
            headers.setdefault('Accept', accept)
        if json is not None:
            try:
                # Strict JSON: no NaN or Infinity, which the API refuses.
                data = jsonlib.dumps(json, allow_nan=False).encode('utf-8')
            except (TypeError, ValueError) as exc:
                raise exceptions.CommandError(
                    'cannot send the request body as JSON: %s' % exc)
            content_type = content_type or JSON
        if content_type:
            headers['Content-Type'] = content_type
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        query = ('?' + urllib.parse.urlencode(params, True)
                 if params else '')
        secret_fields = frozenset(secret_fields or ())
        debug = LOG.isEnabledFor(logging.DEBUG)
        try:
            if secret_fields and debug:
                # keystoneauth logs request bodies whole: log this one here.
                LOG.debug('REQ: %s %s%s %s -d %s', method, url, query,
                          ' '.join('-H "%s: %s"' % h
                                   for h in sorted(headers.items())),
                          jsonlib.dumps(masked(json, secret_fields)))
            elif not log_body:
                # keystoneauth logs text bodies whole; log this call here.
                LOG.debug('REQ: %s %s%s (answer body not logged)', method,
                          url, query)
            response = self.adapter.request(
                url, method, data=data, params=params or None,
                headers=headers, raise_exc=False, timeout=self.timeout,
                log=log_body and not secret_fields)
            if secret_fields and debug:
                LOG.debug('RESP: [%s] %s RESP BODY: %s',
                          response.status_code, _header_text(response),
                          _masked_text(response, secret_fields))
            elif not log_body:
                LOG.debug('RESP: [%s] %s (%d bytes, not logged)',
                          response.status_code, _header_text(response),
                          len(response.content))
        except ksa_exc.ConnectTimeout as exc:
            # keystoneauth raises this for a read timeout too.
            raise exceptions.ConnectionFailure(
                url, 'no answer within %g s (--os-craton-timeout) (%s)'
                % (self.timeout, exceptions.snippet(
                    exceptions.root_cause_text(exc), 120)))
        except ksa_exc.ConnectionError as exc:
            raise exceptions.ConnectionFailure.from_exception(url, exc)
        if response.status_code >= 400:
            raise exceptions.ApiError.from_response(response, method, url)
        return response

    def json(self, method, path, **kwargs):
        """:meth:`request`, returning the decoded JSON body (None when the
        answer has no body, as a 204).

        :raises InvalidResponse: the body is not JSON.
        """
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise exceptions.InvalidResponse(
                self.url(path), 'HTTP %s with a body that is not JSON: %s' % (
                    response.status_code,
                    exceptions.snippet(response.text or '')))

    def resource(self, method, path, **kwargs):
        """:meth:`json` for a call answered with one resource: a JSON
        object with a ``uuid``.

        :raises InvalidResponse: no body, not JSON, or not such an object.
        """
        body = self.json(method, path, **kwargs)
        if not isinstance(body, dict) or 'uuid' not in body:
            raise exceptions.InvalidResponse(
                self.url(path), 'expected a resource (a JSON object with a '
                'uuid), got %s' % _shape(body))
        return body

    def pages(self, path, key, params=None):
        """Yield every item of the list at ``path``, following ``next``.

        :param key: the list's key in the body (``"regions"``).
        :raises InvalidResponse: a page is not ``{key: [objects…], …}``.
        """
        while path:
            body = self.json('GET', path, params=params)
            items = body.get(key) if isinstance(body, dict) else None
            if not isinstance(items, list) or \
                    not all(isinstance(i, dict) for i in items):
                raise exceptions.InvalidResponse(
                    self.url(path), 'expected a JSON object with a list of '
                    'objects under %r, got %s' % (key, _shape(body)))
            yield from items
            nxt = body.get('next')
            if nxt is not None and not isinstance(nxt, str):
                raise exceptions.InvalidResponse(
                    self.url(path), 'a list\'s "next" is not a URL')
            path = nxt
            # ``next`` carries the query already.
            params = None


def _header_text(response):
    return ' '.join('%s: %s' % h for h in sorted(response.headers.items()))


def _masked_text(response, fields):
    """An answer's body for the debug log: its JSON with ``fields``
    masked, or only its size when it is not JSON.
    """
    try:
        body = response.json()
    except ValueError:
        return '(%d bytes, not JSON, not logged)' % len(response.content)
    return jsonlib.dumps(masked(body, fields))


def _shape(body):
    """A few words on what a JSON body is, for an error message."""
    if body is None:
        return 'no body'
    if isinstance(body, dict):
        return 'an object with keys %s' % exceptions.snippet(
            ', '.join(sorted(str(k) for k in body)) or 'none', 80)
    return 'a JSON %s' % {list: 'array', str: 'string', bool: 'boolean',
                          int: 'number', float: 'number'}.get(
                              type(body), type(body).__name__)
