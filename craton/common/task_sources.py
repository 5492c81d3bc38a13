# SPDX-License-Identifier: Apache-2.0
"""Task sources as the API receives and shows them.

Sources are ``{"type": "git", "url", "ref"?, "path"?}``, ``{"type":
"local", "path"}`` or ``{"type": "upload"}`` (:mod:`craton.common.archives`).
The API validates them (:func:`validate`) and shows them
(:func:`public_view`); the conductor, which fetches them
(:mod:`craton.conductor.builds.fetch`), checks local paths and scrubs its
messages with the same rules. Credentials in a git URL are stored (the
clone needs them); wherever a URL or git's output is shown, the whole
userinfo becomes ``***`` (``https://***@host/repo``): credentials are set,
never shown.
"""

import os
import re
import urllib.parse

from craton.common import archives
from craton.common import exception

GIT, LOCAL, UPLOAD = 'git', 'local', 'upload'
_KEYS = {GIT: frozenset(('type', 'url', 'ref', 'path')),
         LOCAL: frozenset(('type', 'path'))}
_GIT_SCHEMES = ('git', 'http', 'https', 'ssh')
# "<transport>::<address>" makes git run a remote helper (ext:: runs any
# command); git spots it with the character class of a URL scheme.
_TRANSPORT_HELPER = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*::')
_SCHEME_URL = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*)://')
# [user@]host:path; bracketed IPv6 hosts must use ssh:// instead. No "@"
# before the path's first "/": "user:password@host:path" reads as host "user".
_SCP_LIKE = re.compile(r'^(?:[A-Za-z0-9._][A-Za-z0-9._-]*@)?'
                       r'[A-Za-z0-9][A-Za-z0-9.-]*:(?![^/]*@).+$')
# git check-ref-format's rules (spaces and control characters are refused
# for every field), plus no leading "-", which git would read as an option.
_BAD_REF = re.compile(r'^[-/.]|[/.]$|[:~^?*\[\\]|\.\.|//|@\{|^@$|/\.|'
                      r'\.lock(/|$)')
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
# A URL's userinfo anywhere in a text, to the last "@" before the path.
_URL_USERINFO = re.compile(r'(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s\'"]+@')
_LIMITS = {'url': 2048, 'ref': 255, 'path': 1024}


def _invalid(reason):
    return exception.InvalidSource(reason=reason)


def validate(source, conf, current=None):
    """Check a task source as the API receives it; return a clean copy.

    The copy holds the known keys only (null optional ones are left out).
    ``current``: the task's source before a change (PATCH).
    :raises InvalidSource: naming the field at fault and the fix.
    """
    kind = source.get('type') if isinstance(source, dict) else None
    if kind == UPLOAD:
        return archives.validate_source(source, current)
    if kind not in _KEYS:
        raise _invalid('source must be an object whose "type" is "git", '
                       '"local" or "upload", not %r' % (kind,))
    unknown = sorted(set(source) - _KEYS[kind])
    if unknown:
        raise _invalid('unknown field(s) %s in a %s source; allowed: %s' % (
            ', '.join('source.' + k for k in unknown), kind,
            ', '.join(sorted(_KEYS[kind]))))
    if kind == LOCAL:
        path = _check_path(_string(source, 'path'), absolute=True)
        roots = conf.builder.local_source_roots
        if not inside_roots(path, roots):
            raise _invalid('source.path %s is not below an allowed directory '
                           '(%s); an operator can add one to [builder] '
                           'local_source_roots'
                           % (path, ', '.join(r for r in roots if r) or '-'))
        return {'type': LOCAL, 'path': path}
    clean = {'type': GIT, 'url': _check_git_url(_string(source, 'url'), conf)}
    for key, check in (('ref', _check_ref), ('path', _check_path)):
        if source.get(key) is not None:
            clean[key] = check(_string(source, key))
    return clean


def _string(source, key):
    value = source.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= _LIMITS[key]:
        raise _invalid('source.%s must be a string of 1 to %d characters'
                       % (key, _LIMITS[key]))
    if _CONTROL.search(value) or (key != 'path' and ' ' in value):
        raise _invalid('source.%s must not hold control characters or '
                       'spaces' % key)
    return value


def allowed_schemes(conf):
    """The URL schemes git sources may use with this configuration."""
    return _GIT_SCHEMES + ('file',) * bool(conf.builder.allow_file_git_urls)


def _check_git_url(url, conf):
    if url.startswith('-'):
        raise _invalid('source.url must not start with "-"')
    if _TRANSPORT_HELPER.match(url) or url.lower().startswith(('ext:', 'fd:')):
        raise _invalid('source.url uses a git transport helper (%s:), which '
                       'is not allowed; use a git://, http://, https:// or '
                       'ssh:// URL' % url.split(':', 1)[0])
    allowed = allowed_schemes(conf)
    scheme = _SCHEME_URL.match(url)
    if scheme:
        scheme = scheme.group(1).lower()
        if scheme not in allowed:
            raise _invalid('source.url scheme %s:// is not allowed; use %s%s'
                           % (scheme, ', '.join(s + '://' for s in allowed),
                              ' (file:// needs [builder] allow_file_git_urls'
                              ' = true)' if scheme == 'file' else ''))
        parts = urllib.parse.urlsplit(url)
        try:
            host, user, _port = parts.hostname, parts.username, parts.port
        except ValueError as exc:
            raise _invalid('source.url is not a valid URL: %s' % exc)
        if parts.netloc.count('@') > 1:
            raise _invalid('source.url has several "@" before the host; '
                           'write an "@" in a user name or password as %40')
        if scheme != 'file' and not host:
            raise _invalid('source.url must name a host, e.g. '
                           'https://git.example.org/ops/tasks.git')
        if (host or '').startswith('-') or (user or '').startswith('-'):
            # ssh would read "-oProxyCommand=..." as an option.
            raise _invalid('source.url host and user must not start with -')
    elif not _SCP_LIKE.match(url):
        # Not quoted: whatever it is, it may hold a password.
        raise _invalid('source.url is not a git URL; use git://, http://, '
                       'https://, ssh:// or user@host:path (no password: '
                       'use an ssh key)')
    return url


def _check_ref(ref):
    if _BAD_REF.search(ref):
        raise _invalid('source.ref %r is not a valid git ref name: no '
                       'leading "-", "/" or "."; no "..", "//", "@{", '
                       'component starting with "." or ending with ".lock", '
                       'trailing "/" or "."; none of : ~ ^ ? * [ \\' % ref)
    return ref


def _check_path(path, absolute=False):
    """Relative in a repository, absolute for local; always normalised."""
    parts = path.split('/')
    if '.' in parts or '..' in parts:
        raise _invalid('source.path must not contain "." or ".." components')
    if path.startswith('/') != absolute:
        raise _invalid('source.path of a local source must be absolute, e.g. '
                       '/srv/craton/tasks/patch-host' if absolute else
                       'source.path is a directory inside the repository '
                       'and must be relative, e.g. tasks/patch-host')
    # normpath keeps a leading "//" (POSIX leaves its meaning open): refuse.
    if os.path.normpath(path) != path or path.startswith('//'):
        raise _invalid('source.path must be normalised (no empty components '
                       'or trailing "/"): use %r'
                       % ('/' * absolute + '/'.join(p for p in parts if p)))
    return path


def inside_roots(path, roots):
    """True when ``path`` is strictly below one of ``roots``.

    :param path: an absolute, normalised path (as :func:`validate` leaves
        a local source's).
    :param roots: directories, e.g. ``[builder] local_source_roots``; an
        empty or relative one matches nothing.
    """
    # By components: /srv/tasks2 is not inside /srv/tasks. A relative root
    # is a configuration mistake and matches nothing.
    parts = [p for p in path.split('/') if p]
    for root in roots or ():
        top = [p for p in os.path.normpath(root or '.').split('/') if p]
        if root.startswith('/') and len(parts) > len(top) and \
                parts[:len(top)] == top:
            return True
    return False


def scrub(text, secrets=()):
    """Replace URL userinfo and each of ``secrets`` in ``text`` by ***."""
    text = _URL_USERINFO.sub(r'\1***@', text or '')
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            text = text.replace(secret, '***')
    return text


def url_secrets(url):
    """The credential strings of a URL (userinfo, user, password)."""
    netloc = urllib.parse.urlsplit(url or '').netloc
    if not _SCHEME_URL.match(url or '') or '@' not in netloc:
        return []
    found = {netloc.rsplit('@', 1)[0]}
    found |= set(next(iter(found)).split(':', 1))
    return sorted(found | {urllib.parse.unquote(s) for s in found})


def public_view(source):
    """The source as the API shows it: https://***@host/x, no userinfo."""
    view = dict(source or {})
    if view.get('type') == GIT and isinstance(view.get('url'), str):
        view['url'] = scrub(view['url'])
    return view


def describe(source):
    """A one-line, credential-free description of where a source lives."""
    if source.get('type') != GIT:
        return str(source.get('path'))
    return scrub(source['url']) + ''.join(
        ' %s %s' % (word, source[key]) for key, word in
        (('ref', 'at'), ('path', 'directory')) if source.get(key))
