# SPDX-License-Identifier: Apache-2.0
"""Uploaded task sources: a gzipped tar of the task directory.

A task whose source is ``{"type": "upload"}`` waits, ``pending``, until its
archive arrives (``PUT /v1/tasks/{id}/source``). The API checks the whole
archive with :func:`inspect` before it stores anything; the archive is kept
in the database so that any conductor can build it, and the conductor checks
it again while it extracts it (:func:`extract`, called by
:mod:`craton.conductor.builds.fetch`): nothing unchecked reaches a disk.

An archive is refused (:class:`InvalidArchive`, 400) unless it is one valid
gzip stream holding one valid tar, and every member:

* is a regular file, a directory, a symlink or a hard link (no device,
  FIFO or other special file);
* has a relative name without ``..`` components, appearing once, and not
  below a symlink or a file;
* if a symlink, leads inside the archive's root once every symlink of the
  archive is followed; if a hard link, names a regular file that comes
  before it;

and there is a regular file ``Dockerfile`` at the root. An archive over the
size limits (:func:`limits`: compressed, unpacked, members) is refused with
:class:`ArchiveTooLarge` (413); decompression is streamed and stops at the
unpacked limit, so a gzip bomb costs at most that much work and never that
much memory.
"""

import collections
import gzip
import hashlib
import io
import os
import tarfile
import zlib

from craton.common import exception

UPLOAD = 'upload'
# Content types of a gzipped tar (RFC 6713; x-gzip is the older name).
MEDIA_TYPES = ('application/gzip', 'application/x-gzip')
# An archive may unpack to at most this many times [api] max_upload_bytes.
EXPANSION = 8
MAX_MEMBERS = 10000
MAX_NAME = 4096
# Size of a pax or GNU long-name header, which tarfile reads into memory.
MAX_METADATA = 1 << 20
MAX_SYMLINK_HOPS = 40
_READ = 1 << 20
_META_TYPES = frozenset((tarfile.XHDTYPE, tarfile.XGLTYPE,
                         tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                         tarfile.GNUTYPE_LONGLINK))
_FILE, _DIR, _SYMLINK, _HARDLINK = 'file', 'dir', 'symlink', 'hardlink'
# Python's own extraction filter (3.10.12+, 3.11.4+), applied on top of
# these checks.
_DATA_FILTER = getattr(tarfile, 'data_filter', None)

Summary = collections.namedtuple('Summary',
                                 ['size', 'sha256', 'members', 'unpacked'])


class InvalidArchive(exception.Invalid):
    msg_fmt = 'Invalid source archive: %(reason)s'
    error_code = 'craton.task.invalid_archive'


class ArchiveTooLarge(exception.RequestTooLarge):
    msg_fmt = 'Source archive too large: %(reason)s'
    error_code = 'craton.task.archive_too_large'


def limits(conf):
    """``(compressed, unpacked)`` byte limits of an archive, read now."""
    compressed = conf.api.max_upload_bytes
    return compressed, compressed * EXPANSION


def awaits_archive(source):
    """True for an upload source whose archive has not arrived yet."""
    return (isinstance(source, dict) and source.get('type') == UPLOAD and
            'sha256' not in source)


def validate_source(source, current=None):
    """An upload source as a client may send it: ``{"type": "upload"}``.

    ``size`` and ``sha256`` are the service's record of the accepted
    archive: a client may send them back unchanged (``current``, e.g. in a
    JSON Patch of another field) but never set them.
    :raises InvalidSource: naming the field at fault.
    """
    unknown = sorted(set(source) - {'type', 'size', 'sha256'})
    if unknown:
        raise exception.InvalidSource(
            reason='unknown field(s) %s in an upload source; an upload '
                   'source is {"type": "upload"}'
                   % ', '.join('source.' + k for k in unknown))
    kept = sorted(set(source) & {'size', 'sha256'})
    if kept and not (isinstance(current, dict) and source == current):
        raise exception.InvalidSource(
            reason='%s of an upload source are set by Craton when an archive '
                   'is accepted; send {"type": "upload"}, then PUT the '
                   'archive to /v1/tasks/{id}/source'
                   % ', '.join('source.' + k for k in kept))
    if kept:
        return dict(current)
    return {'type': UPLOAD}


def source_of(summary):
    """The task source recording an accepted archive."""
    return {'type': UPLOAD, 'size': summary.size, 'sha256': summary.sha256}


def waiting_reason(task_uuid):
    """``status_reason`` of a task waiting for its archive."""
    return ('waiting for the source archive: PUT /v1/tasks/%s/source with a '
            'gzipped tar of the task directory (Content-Type: '
            'application/gzip)' % task_uuid)


def inspect(data, conf):
    """Check an archive completely, writing nothing; return its Summary.

    :raises InvalidArchive: naming the member at fault, or what is wrong
        with the gzip or tar stream.
    :raises ArchiveTooLarge: over a size or member limit.
    """
    compressed, unpacked = limits(conf)
    if len(data) > compressed:
        raise ArchiveTooLarge(reason='the archive is %d bytes; at most %d '
                              'bytes are accepted ([api] max_upload_bytes)'
                              % (len(data), compressed))
    checker = _Checker(unpacked)
    with _Reader(data, unpacked) as tar:
        for member in _members(tar):
            checker.add(member)
        _drain(tar)
    checker.finish()
    return Summary(len(data), hashlib.sha256(data).hexdigest(),
                   checker.count, checker.unpacked)


def extract(data, dest, conf):
    """Check an archive completely, then extract it into a new ``dest``.

    Python's ``data`` extraction filter, where it exists, applies on top:
    no owners, no setuid/setgid or group/other write bits.
    :raises InvalidArchive, ArchiveTooLarge: as :func:`inspect`.
    """
    inspect(data, conf)
    unpacked = limits(conf)[1]
    checker = _Checker(unpacked)
    os.mkdir(dest, 0o700)
    with _Reader(data, unpacked) as tar:
        for member in _members(tar):
            if checker.add(member):
                _extract_member(tar, member, dest)
    checker.finish()


# -- reading -------------------------------------------------------------

def _shown(name):
    """A member name fit for a message (quoted, escaped, bounded)."""
    return repr(name if len(name) <= 200 else name[:200] + '...')


class _Member(tarfile.TarInfo):
    """TarInfo refusing what tarfile would accept silently: a corrupt header
    after the first (tarfile takes it as the end of the archive) and huge
    metadata headers (tarfile reads them into memory whole).
    """

    @classmethod
    def frombuf(cls, buf, encoding, errors):
        try:
            obj = super().frombuf(buf, encoding, errors)
        except (tarfile.EOFHeaderError, tarfile.EmptyHeaderError):
            raise  # the end of the archive
        except tarfile.HeaderError as exc:
            raise InvalidArchive(reason='not a valid tar archive: %s' % exc)
        if obj.type in _META_TYPES and obj.size > MAX_METADATA:
            raise InvalidArchive(reason='a metadata header of %d bytes (at '
                                 'most %d)' % (obj.size, MAX_METADATA))
        return obj


class _Gunzip(io.RawIOBase):
    """The decompressed stream, refusing to produce more than ``limit``
    bytes in all; each read decompresses at most 1 MiB.
    """

    def __init__(self, data, limit):
        super().__init__()
        self._gz = gzip.GzipFile(fileobj=io.BytesIO(data), mode='rb')
        self.limit, self.total = limit, 0

    def readable(self):
        return True

    def read(self, size=-1):
        size = _READ if size is None or size < 0 else min(size, _READ)
        try:
            chunk = self._gz.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidArchive(reason='not a valid gzip stream: %s'
                                 % (exc or type(exc).__name__))
        self.total += len(chunk)
        if self.total > self.limit:
            raise ArchiveTooLarge(reason='it unpacks to more than %d bytes '
                                  '(%d times [api] max_upload_bytes)'
                                  % (self.limit, EXPANSION))
        return chunk


class _Reader:
    """``with _Reader(data, limit) as tar``: the archive as a tar stream."""

    def __init__(self, data, limit):
        self.stream = _Gunzip(data, limit)

    def __enter__(self):
        try:
            self.tar = tarfile.open(fileobj=self.stream, mode='r|',
                                    tarinfo=_Member)
        except tarfile.TarError as exc:
            raise InvalidArchive(reason='not a valid tar archive: %s' % exc)
        return self.tar

    def __exit__(self, *exc_info):
        self.tar.close()


def _members(tar):
    """Iterate a stream's members, turning tarfile's errors into ours."""
    while True:
        try:
            member = tar.next()
        except tarfile.TarError as exc:
            raise InvalidArchive(reason='not a valid tar archive: %s' % exc)
        if member is None:
            return
        yield member


def _drain(tar):
    """Read to the end of the gzip stream: its checksum is checked and what
    follows the tar's end counts towards the unpacked limit.
    """
    try:
        while tar.fileobj.read(_READ):
            pass
    except tarfile.TarError as exc:
        raise InvalidArchive(reason='not a valid tar archive: %s' % exc)


class _Checker:
    """The rules of the module docstring, member by member, then for the
    whole archive (:meth:`finish`).
    """

    def __init__(self, max_unpacked):
        self.max_unpacked = max_unpacked
        self.kinds = {}
        self.symlinks = {}
        self.count = self.unpacked = 0

    def add(self, member):
        """Check one member; False for the root directory entry ("./")."""
        self.count += 1
        if self.count > MAX_MEMBERS:
            raise ArchiveTooLarge(reason='it holds more than %d members'
                                  % MAX_MEMBERS)
        name = _normalise(member.name)
        if member.isdir():
            kind = _DIR
        elif member.isreg():
            kind = _FILE
            self.unpacked += member.size
            if self.unpacked > self.max_unpacked:
                raise ArchiveTooLarge(
                    reason='member %s brings the unpacked size past %d bytes '
                           '(%d times [api] max_upload_bytes)'
                    % (_shown(member.name), self.max_unpacked, EXPANSION))
        elif member.issym():
            kind = _SYMLINK
            if not member.linkname or member.linkname.startswith('/'):
                raise InvalidArchive(
                    reason='symlink %s -> %s leads outside the archive; '
                           'links must be relative and stay inside the task '
                           'directory' % (_shown(member.name),
                                          _shown(member.linkname)))
            self.symlinks[name] = member.linkname
        elif member.islnk():
            kind = _HARDLINK
            target = _normalise(member.linkname, link_of=member.name)
            if self.kinds.get(target) not in (_FILE, _HARDLINK):
                raise InvalidArchive(
                    reason='hard link %s -> %s does not name a regular file '
                           'earlier in the archive' % (
                               _shown(member.name), _shown(member.linkname)))
        else:
            raise InvalidArchive(
                reason='member %s is a %s; only regular files, directories '
                       'and links inside the archive are accepted'
                % (_shown(member.name), _kind(member)))
        if not name:
            if kind != _DIR:
                raise InvalidArchive(reason='member %s names the archive '
                                     'root but is not a directory'
                                     % _shown(member.name))
            return False
        if name in self.kinds:
            raise InvalidArchive(reason='member %s appears twice in the '
                                 'archive' % _shown(member.name))
        self.kinds[name] = kind
        return True

    def finish(self):
        """The rules that need every member: parents, symlinks, the
        Dockerfile.
        """
        for name in self.kinds:
            parts = name.split('/')
            for i in range(1, len(parts)):
                parent = '/'.join(parts[:i])
                if self.kinds.get(parent, _DIR) != _DIR:
                    raise InvalidArchive(
                        reason='member %s is below %s, which is a %s, not a '
                               'directory' % (_shown(name), _shown(parent),
                                              self.kinds[parent]))
        for name, target in sorted(self.symlinks.items()):
            if self._resolve(name) is None:
                raise InvalidArchive(
                    reason='symlink %s -> %s leads outside the archive; '
                           'links must stay inside the task directory'
                           % (_shown(name), _shown(target)))
        if self.kinds.get('Dockerfile') not in (_FILE, _HARDLINK):
            raise InvalidArchive(
                reason='no regular file named Dockerfile at the root of the '
                       'archive; make the archive from inside the task '
                       'directory, e.g. tar -czf task.tar.gz -C '
                       'path/to/task .')

    def _resolve(self, link):
        """The path (list of names) ``link`` leads to, following every
        symlink of the archive; None when it leaves the root.
        """
        parts = link.split('/')[:-1]
        todo = self.symlinks[link].split('/')
        hops = 0
        while todo:
            part = todo.pop(0)
            if part in ('', '.'):
                continue
            if part == '..':
                if not parts:
                    return None
                parts.pop()
                continue
            target = self.symlinks.get('/'.join(parts + [part]))
            if target is None:
                parts.append(part)
                continue
            hops += 1
            if hops > MAX_SYMLINK_HOPS or target.startswith('/'):
                return None
            todo = target.split('/') + todo
        return parts


def _normalise(name, link_of=None):
    """``name`` without "." and empty components; "" for the root.

    ``link_of``: the hard link whose target ``name`` is.
    """
    what = 'member %s' % _shown(name) if link_of is None else \
        'hard link %s -> %s' % (_shown(link_of), _shown(name))
    if len(name) > MAX_NAME:
        raise InvalidArchive(reason='%s: the name is longer than %d '
                             'characters' % (what, MAX_NAME))
    if name.startswith('/'):
        raise InvalidArchive(reason='%s is an absolute path; names must be '
                             'relative to the task directory' % what)
    parts = [p for p in name.split('/') if p not in ('', '.')]
    if '..' in parts:
        raise InvalidArchive(reason='%s has a ".." component; names must '
                             'stay inside the task directory' % what)
    return '/'.join(parts)


def _kind(member):
    for test, kind in ((member.ischr, 'character device'),
                       (member.isblk, 'block device'),
                       (member.isfifo, 'FIFO')):
        if test():
            return kind
    return 'member of tar type %r' % member.type.decode('ascii', 'replace')


def _extract_member(tar, member, dest):
    path = os.path.join(dest, _normalise(member.name))
    try:
        if _DATA_FILTER is not None:
            tar.extract(member, dest, filter=_DATA_FILTER)
        else:
            # Older Pythons: no owners, and the data filter's file modes.
            tar.extract(member, dest, set_attrs=False)
            if member.isreg():
                mode = member.mode & 0o755
                os.chmod(path, (mode if mode & 0o100 else mode & ~0o111) |
                         0o600)
        if member.isdir():
            # The data filter leaves directories to the umask; we must be
            # able to fill and clean up each (the conductor's fetch then
            # gives the whole context the modes of a git checkout).
            os.chmod(path, (member.mode & 0o755) | 0o700)
    except (OSError, tarfile.TarError) as exc:
        raise InvalidArchive(reason='member %s cannot be extracted: %s'
                             % (_shown(member.name), exc))
