# SPDX-License-Identifier: Apache-2.0
"""Media types (``Content-Type``) compared as RFC 9110 says they are.

A media type's type and subtype are case-insensitive and may be followed by
parameters, with optional white space around the ``;`` (RFC 9110 section
8.3.1): ``Application/JSON-Patch+JSON ; charset=UTF-8`` is
``application/json-patch+json``. Every comparison of a request's media
type in the API goes through :func:`of`; :class:`NormaliseMiddleware`
rewrites ``CONTENT_TYPE`` once, in front of everything else, so that the
parts we do not own (WSME, which compares the exact string) see the same.
"""

_OWS = ' \t'


def _split(value):
    """``value`` (a Content-Type) → ``(media type, parameters)``: the type
    in lower case, both without surrounding white space.
    """
    media_type, _, params = (value or '').partition(';')
    media_type = media_type.strip(_OWS)
    if media_type.isascii():
        # Only ASCII is folded: no other character lowers into a letter
        # of a media type we accept.
        media_type = media_type.lower()
    return media_type, params.strip(_OWS)


def of(value):
    """The media type of ``value`` (a Content-Type header, or None), lower
    case, without parameters: ``'Application/Gzip; x=1'`` →
    ``'application/gzip'``; ``''`` when there is none.
    """
    return _split(value)[0]


def canonical(value):
    """``value`` (a Content-Type header) with its media type in lower case
    and no white space around it or the first ``;``; the parameters are
    kept as sent.
    """
    media_type, params = _split(value)
    return media_type + ('; ' + params if params else '')


class NormaliseMiddleware:
    """Rewrite the request's ``CONTENT_TYPE`` to :func:`canonical` form."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get('CONTENT_TYPE'):
            environ['CONTENT_TYPE'] = canonical(environ['CONTENT_TYPE'])
        return self.app(environ, start_response)
