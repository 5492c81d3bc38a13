"""Task sources: validate what the API receives, fetch what a build needs.

Sources are ``{"type": "git", "url", "ref"?, "path"?}``, ``{"type":
"local", "path"}`` or ``{"type": "upload"}`` (:mod:`.uploads`). Credentials
in a git URL are stored (the clone needs them); wherever a URL or git's
output is shown, the whole userinfo becomes ``***``
(``https://***@host/repo``): credentials are set, never shown.
"""

import os
import re
import shutil
import signal
import stat
import subprocess
import time
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
_HEX_SHA = re.compile(r'^[0-9a-fA-F]{7,64}$')
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
        if not _inside_roots(path, roots):
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


def _inside_roots(path, roots):
    """True when ``path`` is strictly below one of ``roots``."""
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


def fetch(source, dest_dir, conf, task_uuid=None):
    """Materialise a validated source's build context in ``dest_dir``.

    ``dest_dir`` is an empty directory owned by this build; the context
    directory (holding the Dockerfile) is returned, its modes normalised
    as a git checkout's (:func:`normalise_modes`) whatever the source kind.
    An upload source needs the ``task_uuid`` whose archive it is.
    :raises BuildError: with a reason a person can act on: git's own error
        lines (credentials scrubbed), the symlink that leads outside, the
        refused or missing archive, the missing Dockerfile.
    """
    fetcher = {GIT: _fetch_git, LOCAL: _fetch_local, UPLOAD: lambda *a:
               archives.fetch(*a, task_uuid=task_uuid)}.get(source.get('type'))
    if fetcher is None:
        raise exception.BuildError(reason='cannot build a %r source'
                                   % (source.get('type'),))
    context = fetcher(source, dest_dir, conf)
    if not os.path.isfile(os.path.join(context, 'Dockerfile')):
        raise exception.BuildError(reason='no Dockerfile in %s; a task '
                                   'source directory must hold one'
                                   % describe(source))
    normalise_modes(context)
    return context


def normalise_modes(context):
    """Give every entry of the build context the mode a git checkout has.

    ``ADD``/``COPY`` keep the context's modes (owner root), and a step runs
    as an unprivileged user ([sandbox] user): a 0600 file of an uploaded
    archive or a local directory, or of a checkout made under a umask of
    077, would be unreadable in the image. So, whatever the source kind:
    directories (``context`` itself included) become 0755; regular files
    0755 when their owner may execute them, else 0644 (no setuid, setgid
    or sticky bit, no group or other write). Symlinks are neither followed
    nor changed; the fetchers have refused every other file type.

    :param context: the fetched build context, a directory this build owns.
    :raises OSError: an entry cannot be read or changed.
    """
    # Each directory is made readable before it is listed: a 0000 or 0300
    # directory of the source may be walked too.
    os.chmod(context, 0o755)
    pending = [context]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    os.chmod(entry.path, 0o755)
                    pending.append(entry.path)
                elif stat.S_ISREG(mode):
                    os.chmod(entry.path,
                             0o755 if mode & stat.S_IXUSR else 0o644)


class _GitFailed(Exception):
    pass  # args[0]: git's message, or None when it timed out.


def _run_git(args, conf, deadline, cwd=None):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _GitFailed(None)
    env = dict(os.environ, GIT_TERMINAL_PROMPT='0', GIT_ASKPASS='',
               SSH_ASKPASS='', GIT_CONFIG_NOSYSTEM='1',
               # Holds whatever a URL, a redirect or a submodule asks for.
               GIT_ALLOW_PROTOCOL=':'.join(allowed_schemes(conf)),
               # Messages are matched below and shown to people: English.
               LC_ALL='C', LANGUAGE='C')
    env.setdefault('GIT_SSH_COMMAND', 'ssh -o BatchMode=yes')
    # An empty helper list: the URL's credentials are never stored in, nor
    # asked for by, a credential helper.
    cmd = ['git', '-c', 'credential.helper=', '-c', 'protocol.file.allow=%s'
           % ('user' if conf.builder.allow_file_git_urls else 'never')]
    # Own session: a timeout also kills git's helpers (git-remote-http, ssh).
    proc = subprocess.Popen(cmd + args, cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise _GitFailed(None)
    if proc.returncode:
        raise _GitFailed((err or out).decode('utf-8', 'replace'))
    return out.decode('utf-8', 'replace').strip()


def _fetch_git(source, dest_dir, conf):
    deadline = time.monotonic() + conf.builder.git_timeout
    repo = os.path.join(dest_dir, 'repo')
    url, ref = source['url'], source.get('ref')
    try:
        commit = 'HEAD'
        if ref and _HEX_SHA.match(ref):
            commit = _clone_and_resolve(url, ref, repo, conf, deadline)
        else:
            try:  # A branch or tag: a shallow clone is all a build needs.
                _run_git(['clone', '--quiet', '--no-checkout', '--depth', '1',
                          '--no-tags'] + (['--branch', ref] if ref else []) +
                         ['--', url, repo], conf, deadline)
            except _GitFailed as failure:
                if not ref or 'Remote branch %s not found' % ref not in (
                        failure.args[0] or ''):
                    raise
                # A full ref name (refs/heads/x) or a ref outside branches
                # and tags: clone everything and look it up.
                shutil.rmtree(repo, ignore_errors=True)
                commit = _clone_and_resolve(url, ref, repo, conf, deadline)
        _run_git(['checkout', '--quiet', '--force', '--detach', commit, '--'],
                 conf, deadline, cwd=repo)
    except _GitFailed as failure:
        lines = [ln.rstrip() for ln in (failure.args[0] or '').splitlines()
                 if ln.strip() and not ln.startswith('Cloning into')]
        reason = 'git clone of %s %s' % (describe(source), 'timed out '
                                         '([builder] git_timeout)' if
                                         failure.args[0] is None else
                                         'failed:\n' + '\n'.join(lines[-20:]))
        raise exception.BuildError(reason=scrub(reason, url_secrets(url)))
    # Build the checkout alone: .git holds the URL with its credentials, and
    # per-clone files that would leak into images and change their digest.
    shutil.rmtree(os.path.join(repo, '.git'))
    context = os.path.join(repo, source.get('path', ''))
    # A path that is (or crosses) a symlink could lead to the conductor's
    # own files, which the build would then send to the engine.
    real, top = os.path.realpath(context), os.path.realpath(repo)
    if os.path.commonpath([real, top]) != top or not os.path.isdir(real):
        raise exception.BuildError(reason='source.path %s is not a directory '
                                   'inside the repository (missing, or a '
                                   'symlink leading out)' % source['path'])
    return context


def _clone_and_resolve(url, ref, repo, conf, deadline):
    """Clone all of ``url``; return the commit ``ref`` names in it."""
    _run_git(['clone', '--quiet', '--no-checkout', '--', url, repo],
             conf, deadline)
    names = [ref, 'refs/remotes/origin/' + ref,
             'refs/remotes/origin/' + ref.replace('refs/heads/', '', 1)]
    for name in names:
        try:
            return _run_git(['rev-parse', '--verify', '--quiet',
                             '--end-of-options', name + '^{commit}'],
                            conf, deadline, cwd=repo)
        except _GitFailed as failure:
            if failure.args[0] is None:
                raise
    # Not a branch, tag or commit of the clone; a ref outside refs/heads and
    # refs/tags (e.g. refs/changes/...) may still be fetched by name.
    try:
        _run_git(['fetch', '--quiet', '--no-tags', 'origin', '--', ref],
                 conf, deadline, cwd=repo)
    except _GitFailed as failure:
        if failure.args[0] is None:
            raise
        raise _GitFailed("ref '%s' is not a branch, tag or commit of the "
                         "repository:\n%s" % (ref, failure.args[0]))
    return _run_git(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'],
                    conf, deadline, cwd=repo)


def _fetch_local(source, dest_dir, conf):
    path, roots = source['path'], conf.builder.local_source_roots
    real = os.path.realpath(path)
    # The path may be, or cross, a symlink that leads out of the roots.
    if not _inside_roots(path, roots) or not _inside_roots(
            real, [os.path.realpath(r) for r in roots if r.startswith('/')]):
        raise exception.BuildError(reason='local source %s (resolved: %s) is '
                                   'not below [builder] local_source_roots'
                                   % (path, real))
    if not os.path.isdir(real):
        raise exception.BuildError(reason='local source %s is not a '
                                   'directory on this conductor' % path)
    # A snapshot: the build sees the tree as checked, not later writes.
    context = os.path.join(dest_dir, 'context')
    _snapshot(real, real, context, path)
    return context


def _snapshot(top, src, dst, shown_top):
    """Copy ``src`` to ``dst``; no symlink may lead out of ``top``."""
    os.mkdir(dst, 0o700)
    with os.scandir(src) as entries:
        names = sorted(e.name for e in entries)
    for name in names:
        source_path, target = os.path.join(src, name), os.path.join(dst, name)
        shown = os.path.join(shown_top, os.path.relpath(source_path, top))
        st = os.lstat(source_path)
        if stat.S_ISLNK(st.st_mode):
            link = os.readlink(source_path)
            if os.path.commonpath([os.path.realpath(source_path),
                                   top]) != top:
                raise exception.BuildError(
                    reason='symlink %s -> %s leads outside the source '
                           'directory %s; replace it with the file itself'
                           % (shown, link, shown_top))
            os.symlink(link, target)
        elif stat.S_ISDIR(st.st_mode):
            _snapshot(top, source_path, target, shown_top)
            # Still writable and removable by us; fetch normalises modes.
            os.chmod(target, stat.S_IMODE(st.st_mode) | 0o700)
        elif stat.S_ISREG(st.st_mode):
            # O_NOFOLLOW|O_NONBLOCK: if the entry became a symlink or a FIFO
            # since lstat(), fail rather than follow it or block.
            try:
                fd = os.open(source_path,
                             os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as exc:
                raise exception.BuildError(reason='cannot read %s: %s'
                                           % (shown, exc.strerror))
            with open(fd, 'rb') as data, open(target, 'xb') as out:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise exception.BuildError(reason='%s changed while it '
                                               'was copied' % shown)
                shutil.copyfileobj(data, out, 1 << 20)
            os.chmod(target, stat.S_IMODE(st.st_mode))
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        else:
            raise exception.BuildError(
                reason='%s is not a regular file, directory or symlink; a '
                       'device, socket or FIFO cannot be in a build context'
                       % shown)
