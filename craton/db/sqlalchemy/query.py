"""Query helpers shared by the resource modules of the DB API:
project scoping, lookup by UUID or name, and pagination."""

from oslo_utils import uuidutils
import sqlalchemy as sa

from craton.common import exception


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
    rows = session.execute(query).unique().scalars().all()
    if not rows:
        raise not_found
    if len(rows) > 1:
        # A name is unique within one project; it can repeat only across
        # projects, which admins listing everything may see.
        raise exception.Conflict(
            reason='more than one resource matches; use its UUID')
    return rows[0]


def paginate(session, query, model, limit, marker, sort_key, sort_dir,
             project_id=None):
    """Keyset pagination on (sort_key, id) so pages never skip or repeat.

    The marker is looked up within ``project_id`` too, so a marker cannot
    tell whether another project's resource exists.
    """
    sort_key = sort_key or 'created_at'
    sort_dir = sort_dir or 'asc'
    column = getattr(model, sort_key)
    order = sa.asc if sort_dir == 'asc' else sa.desc
    if marker is not None:
        marker_row = session.execute(scoped(
            sa.select(model).where(model.uuid == marker), model,
            project_id)).unique().scalars().first()
        if marker_row is None:
            raise exception.InvalidParameter(
                name='marker', reason='no resource with UUID %s' % marker)
        value = getattr(marker_row, sort_key)
        cmp = (column > value) if sort_dir == 'asc' else (column < value)
        tie = (model.id > marker_row.id) if sort_dir == 'asc' else (
            model.id < marker_row.id)
        if value is None:
            cmp = column.isnot(None) if sort_dir == 'asc' else sa.false()
            tie = sa.and_(column.is_(None), tie)
        else:
            tie = sa.and_(column == value, tie)
        query = query.where(sa.or_(cmp, tie))
    query = query.order_by(order(column), order(model.id))
    if limit:
        query = query.limit(limit)
    return session.execute(query).unique().scalars().all()
