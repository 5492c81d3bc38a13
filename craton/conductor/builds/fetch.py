# SPDX-License-Identifier: Apache-2.0
"""Fetch a task's source: materialise its build context on the conductor.

A source has been validated by the API (:mod:`craton.common.task_sources`,
which also scrubs credentials from what is shown); here it becomes a
directory to build: a git checkout (:func:`_fetch_git`), a snapshot of a
local directory (:func:`_fetch_local`) or the extracted upload archive
(:func:`_fetch_upload`), each with a git checkout's file modes.
"""

import hashlib
import os
import re
import shutil
import signal
import stat
# git runs as an argv list, never through a shell (see _run_git).
import subprocess  # nosec B404
import time

from oslo_log import log as logging

from craton.common import archives
from craton.common import exception
from craton.common import task_sources
from craton.db import api as db_api

LOG = logging.getLogger(__name__)

_HEX_SHA = re.compile(r'^[0-9a-fA-F]{7,64}$')


def fetch_source(source, dest_dir, conf, task_uuid=None):
    """Materialise a validated source's build context in ``dest_dir``.

    ``dest_dir`` is an empty directory owned by this build; the context
    directory (holding the Dockerfile) is returned, its modes normalised
    as a git checkout's (:func:`normalise_modes`) whatever the source kind.
    An upload source needs the ``task_uuid`` whose archive it is.
    :raises BuildError: with a reason a person can act on: git's own error
        lines (credentials scrubbed), the symlink that leads outside, the
        refused or missing archive, the missing Dockerfile.
    """
    fetcher = {task_sources.GIT: _fetch_git,
               task_sources.LOCAL: _fetch_local,
               task_sources.UPLOAD: lambda *a: _fetch_upload(
                   *a, task_uuid=task_uuid)}.get(source.get('type'))
    if fetcher is None:
        raise exception.BuildError(reason='cannot build a %r source'
                                   % (source.get('type'),))
    context = fetcher(source, dest_dir, conf)
    if not os.path.isfile(os.path.join(context, 'Dockerfile')):
        raise exception.BuildError(reason='no Dockerfile in %s; a task '
                                   'source directory must hold one'
                                   % task_sources.describe(source))
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
    # A git checkout's modes, on purpose: the step's unprivileged user
    # reads what ADD copies (bandit B103 flags any mode above 0o700).
    os.chmod(context, 0o755)  # nosec B103
    pending = [context]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    os.chmod(entry.path, 0o755)  # nosec B103
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
               GIT_ALLOW_PROTOCOL=':'.join(
                   task_sources.allowed_schemes(conf)),
               # Messages are matched below and shown to people: English.
               LC_ALL='C', LANGUAGE='C')
    env.setdefault('GIT_SSH_COMMAND', 'ssh -o BatchMode=yes')
    # An empty helper list: the URL's credentials are never stored in, nor
    # asked for by, a credential helper.
    cmd = ['git', '-c', 'credential.helper=', '-c', 'protocol.file.allow=%s'
           % ('user' if conf.builder.allow_file_git_urls else 'never')]
    # Own session: a timeout also kills git's helpers (git-remote-http, ssh).
    # No shell; the URL and ref were validated (task_sources: a ref never
    # starts with '-') and go after '--' or '--end-of-options'.
    proc = subprocess.Popen(  # nosec B603
        cmd + args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
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
        reason = 'git clone of %s %s' % (
            task_sources.describe(source),
            'timed out ([builder] git_timeout)' if failure.args[0] is None
            else 'failed:\n' + '\n'.join(lines[-20:]))
        raise exception.BuildError(reason=task_sources.scrub(
            reason, task_sources.url_secrets(url)))
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
    real_roots = [os.path.realpath(r) for r in roots if r.startswith('/')]
    if not (task_sources.inside_roots(path, roots) and
            task_sources.inside_roots(real, real_roots)):
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


def _fetch_upload(source, dest_dir, conf, task_uuid):
    """Extract a task's stored archive into ``dest_dir``/context.

    The archive is checked again while it is extracted
    (:func:`craton.common.archives.extract`): whatever the database holds,
    nothing unchecked reaches a disk.
    :raises BuildError: no archive stored, or the archive is refused.
    """
    data = db_api.get_instance().get_task_upload(task_uuid)
    if data is None:
        raise exception.BuildError(
            reason='task %s has no source archive yet; upload a gzipped tar '
                   'of the task directory with PUT /v1/tasks/%s/source'
                   % (task_uuid, task_uuid))
    context = os.path.join(dest_dir, 'context')
    try:
        archives.extract(data, context, conf)
    except (archives.InvalidArchive, archives.ArchiveTooLarge) as exc:
        raise exception.BuildError(reason='the uploaded source archive '
                                   'cannot be built: %s' % exc)
    LOG.info('Extracted the source archive of task %s (%d bytes, sha256 '
             '%s)', task_uuid, len(data), hashlib.sha256(data).hexdigest())
    return context
