# SPDX-License-Identifier: Apache-2.0
"""Query helpers shared by the resource modules of the DB API:
project scoping, lookup by UUID or name, pagination, and the fair order in
which conductors take queued work."""

from oslo_utils import uuidutils
import sqlalchemy as sa
from sqlalchemy import orm

from craton.common import exception
from craton.db.sqlalchemy import session


# Backends whose own order puts NULL below every value (first in an
# ascending ORDER BY, last in a descending one).
NULLS_LOWEST = ('sqlite', 'mysql', 'mariadb')


def scoped(query, model, project_id):
    """Restrict ``query`` to ``project_id``; ``None`` means all projects."""
    if project_id is not None:
        query = query.where(model.project_id == project_id)
    return query


def by_ident(query, model, ident):
    """Match a UUID, or a name unique within the project."""
    if uuidutils.is_uuid_like(ident):
        return query.where(model.uuid == ident)
    return query.where(model.name == ident)


def one_or_raise(session, query, not_found):
    """The single row ``query`` finds in ``session``.

    :raises: ``not_found`` (an exception instance) when it finds none;
        Conflict when it finds several (a name repeated across projects).
    """
    rows = session.execute(query).unique().scalars().all()
    if not rows:
        raise not_found
    if len(rows) > 1:
        # A name is unique within one project; it can repeat only across
        # projects, which admins listing everything may see.
        raise exception.Conflict(
            reason='more than one resource matches; use its UUID')
    return rows[0]


def fair_heads(model, waiting, running, limit, exclude=None):
    """Which queued rows of ``model`` (jobs, tasks) to start next, fairly
    between projects, in one query.

    Each project with rows matching ``waiting`` (a list of conditions)
    offers its oldest one (lowest ``id``). Projects with fewer rows
    matching ``running`` (started, unfinished, by any conductor) come
    first; among equals, the project whose offered row is oldest. A
    project that has more running than another thus waits for it, and
    projects with as much running share in arrival order: with two busy
    projects and N workers, each gets about N/2.

    :param exclude: a UUID to leave out, or None.
    :param limit: at most that many UUIDs.
    :returns: a list of UUIDs, best first.
    """
    conds = list(waiting)
    if exclude is not None:
        conds.append(model.uuid != exclude)
    heads = (sa.select(model.project_id,
                       sa.func.min(model.id).label('head'))
             .where(*conds).group_by(model.project_id).subquery())
    busy = (sa.select(model.project_id,
                      sa.func.count(model.id).label('running'))
            .where(*running).group_by(model.project_id).subquery())
    query = (sa.select(model.uuid)
             .join(heads, model.id == heads.c.head)
             .outerjoin(busy, busy.c.project_id == heads.c.project_id)
             .order_by(sa.func.coalesce(busy.c.running, 0), heads.c.head)
             .limit(limit))
    with session.reader() as s:
        return s.execute(query).scalars().all()


def paginate(session, query, model, limit, marker, sort_key, sort_dir,
             project_id=None, scope=None, tiebreak='id', rows=False):
    """One page of ``query`` in a total order, by keyset pagination.

    Rows are ordered by ``sort_key`` (default ``created_at``) in
    ``sort_dir`` (``asc`` default, or ``desc``), then by the row's
    ``tiebreak`` column (``id`` by default; a unique column) in the same
    direction, so no two rows tie. A NULL sorts as the lowest
    value on every backend (first in ``asc``, last in ``desc``): SQLite
    and MariaDB do so themselves, so there the ORDER BY is the bare
    columns, which an index on them serves without sorting the whole
    table; PostgreSQL puts NULLs last in ascending order, so there the
    order is spelt out as ``CASE WHEN col IS NULL THEN 0 ELSE 1 END``
    ahead of the column. The WHERE clause that starts the page after
    ``marker`` follows exactly that order, for a NULL marker value too.

    :param query: a ``select(model)`` holding the list's scope and filters
        (with ``rows``: a select of some of ``model``'s columns).
    :param limit: at most that many rows (None or 0: all).
    :param marker: UUID of the last row of the previous page, or None. It
        must be a row the caller sees: one of ``scope`` (a ``select(model)``
        of the rows visible to the caller, the list's filters aside) or,
        without ``scope``, one of ``project_id`` (None: any project);
        otherwise :class:`~craton.common.exception.InvalidParameter`
        naming ``marker`` (a 400), which does not tell whether a resource
        outside the caller's view exists. The filters are left out on
        purpose: a marker whose row stopped matching them (a job that
        finished while a client or a sweep walks ``status=running``) still
        marks a place in the order, and the walk goes on from there.
    :param rows: True when ``query`` selects columns, not the model.
    :returns: a list of ``model`` rows; with ``rows``, of result rows
        (tuples of the selected columns).
    """
    sort_key = sort_key or 'created_at'
    desc = (sort_dir or 'asc') == 'desc'
    keys = _sort_keys(model, sort_key, tiebreak)
    if marker is not None:
        if scope is None:
            scope = scoped(sa.select(model), model, project_id)
        # Only the sort keys of the marker are read: its relationships
        # (a job's steps) are not loaded.
        marker_row = session.execute(scope.where(
            model.uuid == marker).options(orm.lazyload('*'))
        ).unique().scalars().first()
        if marker_row is None:
            raise exception.InvalidParameter(
                name='marker', reason='no item with UUID %s in this list'
                % marker)
        query = query.where(_after(keys, marker_row, desc))
    order = sa.desc if desc else sa.asc
    nulls_low = session.get_bind().dialect.name in NULLS_LOWEST
    for column, nullable in keys:
        if nullable and not nulls_low:
            query = query.order_by(order(_null_rank(column)))
        query = query.order_by(order(column))
    if limit:
        query = query.limit(limit)
    if rows:
        return session.execute(query).all()
    return session.execute(query).unique().scalars().all()


def _sort_keys(model, sort_key, tiebreak='id'):
    """``[(column, nullable), ...]``: the sort key, then the unique
    ``tiebreak`` column (the row id by default).
    """
    names = [sort_key] if sort_key == tiebreak else [sort_key, tiebreak]
    return [(getattr(model, name), bool(model.__table__.c[name].nullable))
            for name in names]


def _null_rank(column):
    """0 for NULL, 1 for any value: NULL below every value everywhere."""
    return sa.case((column.is_(None), 0), else_=1)


def _after(keys, row, desc):
    """The rows that come after ``row`` in the order of ``keys``.

    For keys k1..kn: (k1 beyond v1) or (k1 = v1 and (k2 beyond v2 or
    (k2 = v2 and ...))), where "beyond" is ``>`` in ascending order and
    ``<`` in descending order, and NULL is the lowest value: in ascending
    order every value is beyond NULL, in descending order NULL is beyond
    every value, and NULL equals NULL.
    """
    clause = None
    for column, nullable in reversed(keys):
        value = getattr(row, column.key)
        if value is None:
            # Only a NULL equals NULL; in ascending order every value is
            # beyond it, in descending order nothing is.
            beyond = sa.false() if desc else column.isnot(None)
            same = column.is_(None)
        else:
            beyond = (column < value) if desc else (column > value)
            if nullable and desc:
                beyond = sa.or_(beyond, column.is_(None))
            same = column == value
        clause = beyond if clause is None else sa.or_(
            beyond, sa.and_(same, clause))
    return clause
