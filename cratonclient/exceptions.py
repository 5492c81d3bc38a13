# SPDX-License-Identifier: Apache-2.0
"""What the Craton client raises.

Two failures reach a caller: the API answered with an error
(:class:`ApiError`, one class whatever the status, carrying the API-WG error
body's fields), or the API could not be reached at all
(:class:`ConnectionFailure`, naming the URL). :class:`CommandError` is a
mistake found before anything was sent (a step name a job does not have, a
directory without a Dockerfile). Each one's ``str()`` is a single line meant
for the person at the terminal.
"""

import json


def _one_line(text):
    """``text`` with every run of whitespace (newlines too) made one space."""
    return ' '.join(str(text).split())


# How much of a text that is not the API's own (an HTML page, a proxy's
# answer) goes into a one-line error.
SNIPPET_CHARS = 200


def snippet(text, limit=SNIPPET_CHARS):
    """``text`` on one line, cut to about ``limit`` characters (``…``
    marks a cut).
    """
    text = _one_line(text)
    return text if len(text) <= limit else text[:limit].rstrip() + '…'


class ClientException(Exception):
    """Base class of everything the client raises on purpose."""


class CommandError(ClientException):
    """Bad input found on the client side, before any request was made."""


class ApiError(ClientException):
    """The Craton API answered a request with a 4xx or 5xx status.

    :ivar status: the HTTP status (int).
    :ivar code: the error code, e.g. ``craton.task.not_approved`` (or None
        when the body was not in the API-WG format).
    :ivar title: the status's title, e.g. ``Conflict`` (or None).
    :ivar detail: what went wrong, as the API wrote it (never empty).
    :ivar request_id: the ``req-…`` id the service logged (or None).
    :ivar method, url: the request that failed.
    """

    def __init__(self, status, detail, code=None, title=None,
                 request_id=None, method=None, url=None, reason=None,
                 api_error=True):
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.method = method
        self.url = url
        self.reason = reason
        self.api_error = api_error
        super().__init__(str(self))

    def __str__(self):
        if self.api_error:
            text = '%s (HTTP %s)' % (_one_line(self.detail), self.status)
        else:
            # Not the API's error body (a proxy, a web server, another
            # service): say where the answer came from, and only its start.
            text = '%s answered HTTP %s%s' % (
                self.url, self.status,
                ' %s' % _one_line(self.reason) if self.reason else '')
            if self.detail:
                text += ': %s' % snippet(self.detail)
        if self.request_id:
            text += ' (Request-ID: %s)' % self.request_id
        return text

    @classmethod
    def from_response(cls, response, method=None, url=None):
        """Build the error from a ``requests.Response`` of status >= 400.

        The API-WG body ``{"errors": [{status, code, title, detail,
        request_id}]}`` gives the fields; a body in any other shape (a proxy's
        HTML page) makes an error with ``api_error`` False, whose text names
        the URL, the status and reason, and the start of the body.
        """
        status = response.status_code
        request_id = (response.headers.get('x-openstack-request-id') or
                      response.headers.get('x-compute-request-id'))
        error = {}
        try:
            body = response.json()
        except (ValueError, json.JSONDecodeError):
            body = None
        if isinstance(body, dict) and isinstance(body.get('errors'), list) \
                and body['errors'] and isinstance(body['errors'][0], dict):
            error = body['errors'][0]
        detail = error.get('detail') or error.get('title')
        if not detail:
            return cls(status=status,
                       detail=snippet(response.text or ''),
                       request_id=request_id, method=method,
                       url=url or response.url, reason=response.reason,
                       api_error=False)
        return cls(status=error.get('status') or status, detail=detail,
                   code=error.get('code'), title=error.get('title'),
                   request_id=error.get('request_id') or request_id,
                   method=method, url=url or response.url,
                   reason=response.reason)


class InvalidResponse(ClientException):
    """A 2xx answer that is not what the Craton API sends (not JSON, or
    JSON of another shape): the URL most likely points at another service.

    :ivar url: the URL that was asked for.
    :ivar problem: what was wrong with the answer.
    """

    def __init__(self, url, problem):
        self.url = url
        self.problem = _one_line(problem)
        super().__init__(str(self))

    def __str__(self):
        return 'the service at %s did not answer as the Craton API: %s' % (
            self.url, self.problem)


def _root_cause(exc):
    """The innermost exception ``exc`` was raised from (or ``exc``)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc = nxt
    return exc


def root_cause_text(exc):
    """The text of the innermost cause of ``exc`` (or its class name)."""
    cause = _root_cause(exc)
    return str(cause) or str(exc) or type(cause).__name__


class ConnectionFailure(ClientException):
    """The Craton API could not be reached (refused, no route, DNS, TLS,
    timeout).

    :ivar url: the URL that was asked for.
    :ivar reason: the lowest-level cause, as text (e.g. ``[Errno 111]
        Connection refused``).
    """

    def __init__(self, url, reason):
        self.url = url
        self.reason = _one_line(reason)
        super().__init__(str(self))

    def __str__(self):
        return 'cannot reach the Craton API at %s: %s' % (self.url,
                                                          self.reason)

    @classmethod
    def from_exception(cls, url, exc):
        """From the exception keystoneauth/requests raised for ``url``."""
        return cls(url, root_cause_text(exc))
