# SPDX-License-Identifier: Apache-2.0
"""Regions, cells and hosts."""

from oslo_db import exception as db_exc
import sqlalchemy as sa

from craton.common import exception
from craton.db.sqlalchemy import crud
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import query as q
from craton.db.sqlalchemy import session


def _resolve(s, model, project_id, ident, not_found):
    return crud.get(model, project_id, ident, not_found, s=s)


class InventoryMixin:

    # Regions
    def create_region(self, values):
        """Insert a region from ``values``; returns the ``models.Region``
        row (Duplicate: the name is taken in the project).
        """
        return crud.create(models.Region, values, 'region')

    def get_region(self, project_id, ident):
        """The ``models.Region`` row with UUID or name ``ident`` in
        ``project_id`` (None: any project); RegionNotFound otherwise.
        """
        return crud.get(models.Region, project_id, ident,
                        exception.RegionNotFound(region=ident))

    def list_regions(self, project_id, filters=None, limit=None, marker=None,
                     sort_key=None, sort_dir=None):
        """A page (list of ``models.Region`` rows) of ``project_id``'s
        regions (None: every project's); ``filters`` may hold ``name``.
        Paging as :func:`craton.db.sqlalchemy.query.paginate`
        (InvalidParameter for a marker outside the list).
        """
        query = q.scoped(sa.select(models.Region), models.Region, project_id)
        if filters and filters.get('name'):
            query = query.where(models.Region.name == filters['name'])
        return crud.page(models.Region, query, limit, marker, sort_key,
                         sort_dir, project_id)

    def update_region(self, project_id, uuid, values):
        """Write ``values`` to a region; returns the updated row
        (RegionNotFound; Duplicate for a name taken in the project).
        """
        return crud.update(models.Region, project_id, uuid, values,
                           exception.RegionNotFound(region=uuid), 'region')

    def destroy_region(self, project_id, uuid):
        """Delete a region that holds no cell and no host.

        :raises RegionNotFound: no such one.
        :raises InUse: naming up to five of its cells or hosts.
        """
        with session.writer() as s:
            region = _resolve(s, models.Region, project_id, uuid,
                              exception.RegionNotFound(region=uuid))
            for model, kind in ((models.Cell, 'cells'),
                                (models.Host, 'hosts')):
                used = s.execute(sa.select(model.name).where(
                    model.region_id == region.id).limit(5)).scalars().all()
                if used:
                    raise exception.InUse(
                        reason="region '%s' still has %s: %s" % (
                            region.name, kind, ', '.join(used)))
            s.delete(region)

    # Cells
    def create_cell(self, values):
        """Insert a cell (``region_id`` set) from ``values``; returns the
        ``models.Cell`` row, its region loaded (Duplicate: name taken).
        """
        return crud.create(models.Cell, values, 'cell')

    def get_cell(self, project_id, ident):
        """The ``models.Cell`` row with UUID or name ``ident`` in
        ``project_id`` (None: any project); CellNotFound otherwise.
        """
        return crud.get(models.Cell, project_id, ident,
                        exception.CellNotFound(cell=ident))

    def list_cells(self, project_id, filters=None, limit=None, marker=None,
                   sort_key=None, sort_dir=None):
        """A page (list of ``models.Cell`` rows) of ``project_id``'s cells
        (None: every project's); ``filters`` may hold ``name`` and
        ``region_id`` (the internal id). Paging as
        :func:`craton.db.sqlalchemy.query.paginate`.
        """
        filters = filters or {}
        query = q.scoped(sa.select(models.Cell), models.Cell, project_id)
        if filters.get('name'):
            query = query.where(models.Cell.name == filters['name'])
        if filters.get('region_id'):
            query = query.where(models.Cell.region_id == filters['region_id'])
        return crud.page(models.Cell, query, limit, marker, sort_key,
                         sort_dir, project_id)

    def update_cell(self, project_id, uuid, values):
        """Write ``values`` to a cell; returns the updated row
        (CellNotFound; Duplicate for a name taken in the project).
        """
        return crud.update(models.Cell, project_id, uuid, values,
                           exception.CellNotFound(cell=uuid), 'cell')

    def destroy_cell(self, project_id, uuid):
        """Delete a cell that holds no host.

        :raises CellNotFound: no such one.
        :raises InUse: naming up to five of its hosts.
        """
        with session.writer() as s:
            cell = _resolve(s, models.Cell, project_id, uuid,
                            exception.CellNotFound(cell=uuid))
            used = s.execute(sa.select(models.Host.name).where(
                models.Host.cell_id == cell.id).limit(5)).scalars().all()
            if used:
                raise exception.InUse(
                    reason="cell '%s' still has hosts: %s" % (
                        cell.name, ', '.join(used)))
            s.delete(cell)

    # Hosts
    def create_host(self, values):
        """Insert a host from ``values`` (``labels`` a list of strings,
        kept once each); returns the ``models.Host`` row with region, cell
        and labels loaded (Duplicate: name taken).
        """
        values = dict(values)
        labels = values.pop('labels', None) or []
        values['labels'] = [models.HostLabel(label=lb)
                            for lb in sorted(set(labels))]
        return crud.create(models.Host, values, 'host')

    def get_host(self, project_id, ident):
        """The ``models.Host`` row with UUID or name ``ident`` in
        ``project_id`` (None: any project); HostNotFound otherwise.
        """
        return crud.get(models.Host, project_id, ident,
                        exception.HostNotFound(host=ident))

    def _host_query(self, project_id, filters):
        filters = filters or {}
        query = q.scoped(sa.select(models.Host), models.Host, project_id)
        if filters.get('name'):
            query = query.where(models.Host.name == filters['name'])
        if filters.get('region_id'):
            query = query.where(models.Host.region_id == filters['region_id'])
        if filters.get('cell_id'):
            query = query.where(models.Host.cell_id == filters['cell_id'])
        for label in filters.get('labels') or ():
            query = query.where(models.Host.id.in_(
                sa.select(models.HostLabel.host_id).where(
                    models.HostLabel.label == label)))
        return query

    def list_hosts(self, project_id, filters=None, limit=None, marker=None,
                   sort_key=None, sort_dir=None):
        """A page (list of ``models.Host`` rows) of ``project_id``'s hosts
        (None: every project's); ``filters`` may hold ``name``,
        ``region_id``, ``cell_id`` (internal ids) and ``labels`` (a host
        must carry every one). Paging as
        :func:`craton.db.sqlalchemy.query.paginate`.
        """
        return crud.page(models.Host, self._host_query(project_id, filters),
                         limit, marker, sort_key, sort_dir, project_id)

    def find_hosts(self, project_id, filters):
        """Every host of ``project_id`` (None: any project) matching
        ``filters`` (as :meth:`list_hosts`), unpaged, in creation order: a
        list of ``models.Host`` rows.
        """
        with session.reader() as s:
            query = self._host_query(project_id, filters).order_by(
                models.Host.id)
            return s.execute(query).unique().scalars().all()

    def update_host(self, project_id, uuid, values):
        """Write ``values`` to a host; ``labels`` (when given) replaces its
        labels. Returns the updated row
        (HostNotFound; Duplicate for a name taken in the project).
        """
        values = dict(values)
        labels = values.pop('labels', None)
        with session.writer() as s:
            host = _resolve(s, models.Host, project_id, uuid,
                            exception.HostNotFound(host=uuid))
            host.update(values)
            if labels is not None:
                host.labels = [models.HostLabel(label=lb)
                               for lb in sorted(set(labels))]
            try:
                s.flush()
            except db_exc.DBDuplicateEntry:
                raise exception.Duplicate(kind='host',
                                          name=values.get('name'))
        return crud.reload(models.Host, host.uuid)

    def destroy_host(self, project_id, uuid):
        """Delete a host (HostNotFound when there is none)."""
        crud.delete(models.Host, project_id, uuid,
                    exception.HostNotFound(host=uuid))
