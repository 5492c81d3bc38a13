# SPDX-License-Identifier: Apache-2.0
"""Input no controller may see, refused once for every request (400).

Checked before pecan routes the request and before WSME parses a body:

* Path segments and query parameters must be UTF-8 once percent-decoded
  (``/v1/hosts/%ff``, ``?name=%ed%a0%80``), without NUL (``%00``).
* A JSON body (POST, PUT, PATCH) may be nested at most ``[api]
  max_json_depth`` levels, counted from its root (``{}`` is depth 1). The
  depth is found by a scan of the raw bytes that does not recurse:
  ``json.loads`` itself recurses and raises ``RecursionError`` about 1,000
  levels down, and so would everything that walks the value later.
* Every string of a JSON body, object keys included, must be valid
  Unicode: no lone surrogate (``"\\ud83d"``, half of an emoji whose other
  half a client cut off) and no byte that is not UTF-8. Such a string
  cannot be written out as UTF-8 later (a task's payload, a log line, the
  database) and would fail far from the request that brought it.
* No string of a JSON body, object keys included, may hold the NUL
  character (U+0000, ``"\u0000"`` in JSON): PostgreSQL cannot store it in
  a text column, nor a process take it in an argument or the environment.

Each refusal is a 400 whose detail names the field. Also here: a PATCH
body sent as ``application/json-patch+json`` (RFC 6902's media type) goes
on as ``application/json``, the type WSME parses.
"""

import json
import re
import urllib.parse

import webob
from wsme.rest import json as wsme_json

from craton.api import media_types
from craton.api import middleware
from craton.common import exception
from craton.common import json_text

JSON_PATCH_MEDIA_TYPE = 'application/json-patch+json'
# The media types WSME parses as JSON: the bodies checked here.
JSON_MEDIA_TYPES = frozenset(wsme_json.accept_content_types)
FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded'
BODY_METHODS = frozenset(('POST', 'PUT', 'PATCH'))

# A whole JSON string, its escapes skipped.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# One token of a JSON text, as far as nesting goes: a whole string, a
# bracket or a comma. A quote that opens a string with no end matches
# alone; the rest of the text is inside that string.
_TOKENS = re.compile(_STRING.pattern + rb'|[\[\]{},]|"', re.DOTALL)
_OPEN = frozenset(b'[{')
_CLOSE = frozenset(b']}')
_COMMA, _BRACE = ord(','), ord('{')
# A JSON escape that may stand for half of a surrogate pair.
_SURROGATE_ESCAPE = re.compile(rb'\\u[dD][89a-fA-F]')
_SURROGATE = re.compile('[\ud800-\udfff]')
# NUL, the one character no text field can hold, and its JSON escape.
NUL = '\x00'
_NUL_ESCAPE = re.compile(rb'\\u0000')
# What a string of a body must not hold.
_BAD_CHARACTER = re.compile('[\x00\ud800-\udfff]')
_IDENTIFIER = re.compile(r'[A-Za-z_][A-Za-z0-9_-]*\Z')

_NOT_UNICODE = ('is not valid Unicode: it holds %s; send UTF-8 text, and '
                'characters beyond U+FFFF as one code point or as a complete '
                'surrogate pair')


def invalid(name, reason):
    return exception.InvalidParameter(name=name, reason=reason)


# -- naming a place in a JSON value ----------------------------------------

def field_name(parts):
    """``('steps', 0, 'variables', 'a b')`` → ``steps[0].variables["a b"]``.

    A key that is not a plain identifier is written as a JSON string with
    ASCII escapes, so that even a key holding a lone surrogate can be shown.
    A path starting inside a top-level list is written ``body[0]...``.
    """
    out = ''
    for part in parts:
        if isinstance(part, int):
            out += '[%d]' % part
        elif _IDENTIFIER.match(part):
            out += ('.' if out else '') + part
        else:
            out += '[%s]' % json.dumps(part)
    if not out or out.startswith('['):
        out = 'body' + out
    return out


_NUL_REFUSED = ('holds the NUL character (U+0000, "\\u0000" in JSON), '
                'which no text field can store; remove it')


def _what_is_bad(text, undecodable):
    """What makes ``text`` unacceptable, in words: its first NUL or lone
    surrogate. ``undecodable``: the body was not UTF-8, so U+DC80..U+DCFF
    stand for its stray bytes.
    """
    code = ord(_BAD_CHARACTER.search(text).group())
    if code == 0:
        return _NUL_REFUSED
    if undecodable and 0xdc80 <= code <= 0xdcff:
        what = 'the byte 0x%02X, which is not UTF-8 here' % (code - 0xdc00)
    else:
        what = ('the lone surrogate \\u%04x (half of a surrogate pair, as '
                'when a client cuts a string inside an emoji)' % code)
    return _NOT_UNICODE % what


# -- JSON depth ------------------------------------------------------------

def too_deep(raw, limit):
    """Where ``raw`` (the bytes of a JSON text) nests deeper than ``limit``.

    Scans the bytes token by token, without recursion, counting ``[`` and
    ``{`` outside strings and following keys and list indexes; stops at
    the first container over the limit.

    :returns: None if the depth is at most ``limit``; otherwise the path
        (keys and list indexes, as :func:`field_name` takes) of the
        container holding the one that goes too deep.
    """
    # One frame per open container: [is_object, key or index, expect_key].
    stack = []
    for match in _TOKENS.finditer(raw):
        first = raw[match.start()]
        if first in _OPEN:
            if len(stack) >= limit:
                return [_label(frame) for frame in stack
                        if frame[1] is not None]
            stack.append([first == _BRACE, None if first == _BRACE else 0,
                          first == _BRACE])
        elif first in _CLOSE:
            if stack:
                stack.pop()
        elif first == _COMMA:
            if stack:
                frame = stack[-1]
                if frame[0]:
                    frame[2] = True
                else:
                    frame[1] += 1
        elif match.end() - match.start() == 1:
            break  # an unterminated string: the rest is inside it
        elif stack and stack[-1][0] and stack[-1][2]:
            stack[-1][1] = match.group()
            stack[-1][2] = False
    return None


def _label(frame):
    if not frame[0]:
        return frame[1]
    try:
        return json.loads(frame[1].decode('utf-8', 'surrogateescape'))
    except ValueError:
        return '?'


def check_depth(raw, limit):
    """:raises InvalidParameter: if ``raw`` nests deeper than ``limit``."""
    if json_text.depth(raw) <= limit:
        return
    # Slower, but it stops at the first container over the limit.
    where = too_deep(raw, limit) or []
    # The outermost field is enough to find it; the full path may be long.
    outer = where[:2] if where and isinstance(where[0], int) else where[:1]
    raise invalid(field_name(outer),
                  'JSON nested deeper than %d levels (counted from the '
                  "body's root, where {} is depth 1); at most %d are "
                  'accepted ([api] max_json_depth)' % (limit, limit))


# -- strings that are not Unicode ------------------------------------------

def bad_string(value):
    """The first string in ``value`` (a parsed JSON value) holding a lone
    surrogate or a NUL, in document order, found without recursion.

    :returns: None, or ``(path, key)``: the path of the string, and the
        offending object key when it is a key rather than a value.
    """
    todo = [((), value)]
    while todo:
        path, value = todo.pop()
        if isinstance(value, str):
            if _BAD_CHARACTER.search(value):
                return path, None
        elif isinstance(value, dict):
            for key in value:
                if _BAD_CHARACTER.search(key):
                    return path, key
            todo.extend((path + (key,), value[key])
                        for key in reversed(list(value)))
        elif isinstance(value, list):
            todo.extend((path + (i,), value[i])
                        for i in range(len(value) - 1, -1, -1))
    return None


def check_unicode(raw):
    """:raises InvalidParameter: naming the field of the first string of
    ``raw`` (a JSON body) that is not valid Unicode or holds a NUL, or
    ``body`` if the bytes are not UTF-8 outside any string.
    """
    try:
        text, where = raw.decode('utf-8'), None
    except UnicodeDecodeError as exc:
        # Undecodable bytes become lone surrogates, found like the escapes.
        text, where = raw.decode('utf-8', 'surrogateescape'), exc.start
    else:
        if not _SURROGATE_ESCAPE.search(raw) and \
                not _NUL_ESCAPE.search(raw):
            # Nothing in it could be a lone surrogate or a NUL (a raw NUL
            # byte is not JSON; WSME says so).
            return
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        if where is None:
            return  # not JSON: WSME says so
        raise invalid('body', 'is not UTF-8 (byte %d)' % where)
    found = bad_string(value)
    if found is None:
        return
    path, key = found
    undecodable = where is not None
    if key is not None:
        raise invalid(field_name(path), 'the key %s ' % json.dumps(key) +
                      _what_is_bad(key, undecodable))
    text = value
    for part in path:
        text = text[part]
    raise invalid(field_name(path), _what_is_bad(text, undecodable))


# -- paths and query strings -----------------------------------------------

def _wsgi_bytes(text):
    """The bytes behind a WSGI string (PEP 3333: bytes as latin-1)."""
    try:
        return text.encode('latin-1')
    except UnicodeEncodeError:
        # Already decoded by a server that does not follow PEP 3333.
        return text.encode('utf-8', 'surrogatepass')


def check_path(path_info):
    """:raises InvalidParameter: if a segment of ``path_info`` (a WSGI
    PATH_INFO, percent-decoded by the server) is not UTF-8 or holds a NUL.
    """
    segments = _wsgi_bytes(path_info).split(b'/')
    for i, segment in enumerate(segments):
        try:
            segment.decode('utf-8')
            if b'\0' not in segment:
                continue
            problem = 'holds the NUL character (%00), which no name can hold'
        except UnicodeDecodeError:
            problem = 'does not decode to UTF-8 once percent-decoded'
        before = b'/'.join(segments[:i]) + b'/'
        raise invalid('path', "segment %d (%s, after '%s') %s" % (
            i, urllib.parse.quote(segment),
            before.decode('utf-8', 'replace'), problem))


def check_query(query, what='query parameter'):
    """:raises InvalidParameter: naming the first parameter of ``query``
    (``a=1&b=2``, str or bytes) whose name or value is not UTF-8 once
    percent-decoded, or holds a NUL.
    """
    if isinstance(query, str):
        query = _wsgi_bytes(query)
    for n, pair in enumerate(query.split(b'&')):
        name, _, value = pair.partition(b'=')
        name = urllib.parse.unquote_to_bytes(name.replace(b'+', b' '))
        try:
            name = name.decode('utf-8')
        except UnicodeDecodeError:
            raise invalid('%s %d' % (what, n + 1), 'its name (%s) does not '
                          'decode to UTF-8 once percent-decoded'
                          % urllib.parse.quote(name))
        if NUL in name:
            raise invalid('%s %d' % (what, n + 1), 'its name (%s) holds the '
                          'NUL character (%%00)' % urllib.parse.quote(name))
        value = urllib.parse.unquote_to_bytes(value.replace(b'+', b' '))
        try:
            value.decode('utf-8')
        except UnicodeDecodeError:
            raise invalid(name, 'the %s (%s) does not decode to UTF-8 once '
                          'percent-decoded' % (what,
                                               urllib.parse.quote(value)))
        if b'\0' in value:
            raise invalid(name, 'the %s (%s) holds the NUL character (%%00), '
                          'which no text field can store'
                          % (what, urllib.parse.quote(value)))


# -- the middleware --------------------------------------------------------

class _Refusing:
    """Base of the two middlewares: answer 400 when :meth:`check` raises."""

    def __init__(self, app, conf=None):
        self.app = app
        self.conf = conf

    def __call__(self, environ, start_response):
        try:
            self.check(environ)
        except exception.CratonException as exc:
            middleware.record_error(environ, exc)
            return webob.Response(status=exc.code)(environ, start_response)
        return self.app(environ, start_response)

    def check(self, environ):
        raise NotImplementedError()


class UrlCheckMiddleware(_Refusing):
    """Path segments and query parameters that are not UTF-8 (400).

    Outside every other layer but the error format and the request id:
    anything that reads ``req.path_info`` (routes, logs, pecan) would fail
    on such a path.
    """

    def check(self, environ):
        check_path(environ.get('PATH_INFO', ''))
        check_query(environ.get('QUERY_STRING', ''))


class BodyCheckMiddleware(_Refusing):
    """JSON bodies too deep or holding strings that are not Unicode, and
    form bodies that are not UTF-8 (400); the JSON Patch media type.

    Inside authentication: bodies are read for callers who may send them.
    """

    def check(self, environ):
        req = webob.Request(environ)
        if req.method not in BODY_METHODS:
            return  # a GET's or DELETE's body is ignored (hooks.py)
        media_type = media_types.of(req.content_type)
        if req.method == 'PATCH' and media_type == JSON_PATCH_MEDIA_TYPE:
            params = environ['CONTENT_TYPE'].partition(';')[1:]
            environ['CONTENT_TYPE'] = 'application/json' + ''.join(params)
            media_type = 'application/json'
        if media_type in JSON_MEDIA_TYPES:
            body = req.body
            check_depth(body, self.conf.api.max_json_depth)
            check_unicode(body)
        elif media_type == FORM_MEDIA_TYPE:
            check_query(req.body, 'form field')
