# SPDX-License-Identifier: Apache-2.0
"""A task's source directory as the gzipped tar ``PUT /v1/tasks/{id}/source``
takes.
"""

import gzip
import io
import os
import tarfile

from cratonclient import exceptions


def _normalized(member):
    """A member as it goes in: who owns it on this machine left out (so the
    same files give the same archive anywhere); mode and mtime kept.
    """
    member.uid = member.gid = 0
    member.uname = member.gname = ''
    return member


def directory_archive(directory):
    """Pack ``directory`` into a gzipped tar, in memory.

    Members are named relative to the directory (``Dockerfile``,
    ``lib/x.py``), in sorted order at every level; symlinks are stored as
    symlinks (the server refuses those that lead outside). The archive is
    deterministic: the same files (contents, modes, mtimes) give the same
    bytes, whenever and by whomever packed (POSIX pax format, owners left
    out, no time or name in the gzip header), so sending an unchanged
    directory again is seen as the same source.

    :returns: the archive's bytes.
    :raises CommandError: ``directory`` is not a directory or has no
        ``Dockerfile`` at its root.
    """
    if not os.path.isdir(directory):
        raise exceptions.CommandError('%s is not a directory' % directory)
    if not os.path.isfile(os.path.join(directory, 'Dockerfile')):
        raise exceptions.CommandError(
            '%s has no Dockerfile at its root; a task directory needs one'
            % directory)
    buf = io.BytesIO()
    with gzip.GzipFile(filename='', mode='wb', fileobj=buf, mtime=0,
                       compresslevel=9) as gz:
        with tarfile.open(fileobj=gz, mode='w',
                          format=tarfile.PAX_FORMAT) as tar:
            _add_sorted(tar, directory, '')
    return buf.getvalue()


def _add_sorted(tar, path, arcname):
    """Add the entries of directory ``path`` under ``arcname``, sorted by
    name, recursing into real directories (not symlinks to them).
    """
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        member = name if not arcname else arcname + '/' + name
        tar.add(full, arcname=member, recursive=False, filter=_normalized)
        if os.path.isdir(full) and not os.path.islink(full):
            _add_sorted(tar, full, member)
