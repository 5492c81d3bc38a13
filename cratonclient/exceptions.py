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
                 request_id=None, method=None, url=None):
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.method = method
        self.url = url
        super().__init__(str(self))

    def __str__(self):
        text = '%s (HTTP %s)' % (_one_line(self.detail), self.status)
        if self.request_id:
            text += ' (Request-ID: %s)' % self.request_id
        return text

    @classmethod
    def from_response(cls, response, method=None, url=None):
        """Build the error from a ``requests.Response`` of status >= 400.

        The API-WG body ``{"errors": [{status, code, title, detail,
        request_id}]}`` gives the fields; a body in any other shape (a proxy's
        HTML page) gives its first line as the detail, or the reason phrase.
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
            text = (response.text or '').strip()
            detail = (_one_line(text.splitlines()[0]) if text
                      else response.reason or 'HTTP error %s' % status)
        return cls(status=error.get('status') or status, detail=detail,
                   code=error.get('code'), title=error.get('title'),
                   request_id=error.get('request_id') or request_id,
                   method=method, url=url or response.url)


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
        cause = _root_cause(exc)
        reason = str(cause) or str(exc) or type(cause).__name__
        return cls(url, reason)
