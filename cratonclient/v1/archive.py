"""A task's source directory as the gzipped tar ``PUT /v1/tasks/{id}/source``
takes.
"""

import io
import os
import tarfile

from cratonclient import exceptions


def directory_archive(directory):
    """Pack ``directory`` into a gzipped tar, in memory.

    Members are named relative to the directory (``Dockerfile``,
    ``lib/x.py``), in sorted order; symlinks are stored as symlinks (the
    server refuses those that lead outside).

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
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name in sorted(os.listdir(directory)):
            tar.add(os.path.join(directory, name), arcname=name,
                    recursive=True)
    return buf.getvalue()
