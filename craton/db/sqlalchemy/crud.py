# SPDX-License-Identifier: Apache-2.0
"""Create/read/list/update/delete shared by every project-owned model."""

from oslo_db import exception as db_exc
from oslo_utils import uuidutils
import sqlalchemy as sa

from craton.common import exception
from craton.db.sqlalchemy import query as q
from craton.db.sqlalchemy import session


def create(model, values, kind):
    """Insert a ``model`` row from ``values`` (a ``uuid`` is generated when
    missing) and return it reloaded, relationships loaded.

    :param kind: how to name the resource in a Duplicate (``'task'``).
    :raises Duplicate: a unique constraint (the name within a project).
    """
    values = dict(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    row = model()
    row.update(values)
    try:
        with session.writer() as s:
            s.add(row)
            s.flush()
    except db_exc.DBDuplicateEntry:
        raise exception.Duplicate(kind=kind, name=values.get('name'))
    return reload(model, row.uuid)


def reload(model, uuid):
    """Read a row again so its relationships are loaded for the caller
    (rows leave the session detached).
    """
    with session.reader() as s:
        return s.execute(sa.select(model).where(
            model.uuid == uuid)).unique().scalars().one()


def get(model, project_id, ident, not_found, s=None):
    """The ``model`` row with UUID or name ``ident`` in ``project_id``
    (None: any project), read in session ``s`` or in a new reader.

    :raises: ``not_found`` (an exception instance) when there is none;
        Conflict when a name matches rows of several projects.
    """
    query = q.by_ident(q.scoped(sa.select(model), model, project_id),
                       model, ident)
    if s is not None:
        return q.one_or_raise(s, query, not_found)
    with session.reader() as s:
        return q.one_or_raise(s, query, not_found)


def page(model, query, limit, marker, sort_key, sort_dir, project_id=None,
         scope=None, tiebreak='id'):
    """One page of ``query`` as a list of ``model`` rows; see
    :func:`craton.db.sqlalchemy.query.paginate` (the marker is a row of
    ``scope``, or of ``project_id``; InvalidParameter otherwise).
    """
    with session.reader() as s:
        return q.paginate(s, query, model, limit, marker, sort_key, sort_dir,
                          project_id, scope, tiebreak)


def update(model, project_id, uuid, values, not_found, kind):
    """Write ``values`` to the ``model`` row ``uuid`` of ``project_id``
    (None: any project), unconditionally, and return it reloaded.

    :raises: ``not_found`` when there is no such row; Duplicate (named
        ``kind``) on a unique constraint.
    """
    try:
        with session.writer() as s:
            row = get(model, project_id, uuid, not_found, s=s)
            row.update(values)
            s.flush()
    except db_exc.DBDuplicateEntry:
        raise exception.Duplicate(kind=kind, name=values.get('name'))
    return reload(model, row.uuid)


def delete(model, project_id, uuid, not_found):
    """Delete the ``model`` row ``uuid`` of ``project_id`` (None: any
    project); raises ``not_found`` when there is none.
    """
    with session.writer() as s:
        row = get(model, project_id, uuid, not_found, s=s)
        s.delete(row)
