# SPDX-License-Identifier: Apache-2.0
"""Regions, cells and hosts: the inventory jobs run against."""

from craton.objects import base
from craton.objects import fields

_TIMESTAMPS = {
    'created_at': fields.DateTimeField(nullable=True),
    'updated_at': fields.DateTimeField(nullable=True),
}


@base.CratonObjectRegistry.register
class Region(base.CratonObject):
    # Version 1.0: initial version
    VERSION = '1.0'
    fields = dict({
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'project_id': fields.StringField(),
        'name': fields.StringField(),
        'description': fields.StringField(nullable=True),
        'variables': fields.JsonField(nullable=True),
    }, **_TIMESTAMPS)

    @classmethod
    def get(cls, context, ident):
        """The region with UUID or name ``ident`` in the caller's project
        (any project when ``context.all_projects``); RegionNotFound otherwise.
        """
        row = cls.dbapi().get_region(context.scope_project, ident)
        return cls._from_db_object(context, cls(), row)

    @classmethod
    def list(cls, context, filters=None, **page):
        """A page (list of Region) of the caller's project's regions;
        ``filters`` and paging as the DB API's ``list_regions``.
        """
        rows = cls.dbapi().list_regions(context.scope_project, filters, **page)
        return cls._from_rows(context, rows)

    def create(self):
        """Insert the region and load the stored row back (Duplicate)."""
        row = self.dbapi().create_region(self.obj_get_changes())
        self._from_db_object(self._context, self, row)

    def save(self):
        """Write the unsaved changes (RegionNotFound, Duplicate)."""
        row = self.dbapi().update_region(None, self.uuid,
                                         self.obj_get_changes())
        self._from_db_object(self._context, self, row)

    def destroy(self):
        """Delete the region (InUse while it has cells or hosts)."""
        self.dbapi().destroy_region(None, self.uuid)


@base.CratonObjectRegistry.register
class Cell(base.CratonObject):
    # Version 1.0: initial version
    VERSION = '1.0'
    extra_fields = ('region', 'region_uuid')
    fields = dict({
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'project_id': fields.StringField(),
        'name': fields.StringField(),
        'description': fields.StringField(nullable=True),
        'variables': fields.JsonField(nullable=True),
        'region_id': fields.IntegerField(),
        'region': fields.StringField(),
        'region_uuid': fields.UUIDField(),
    }, **_TIMESTAMPS)

    def _from_db_extra(self, row):
        self.region = row.region.name
        self.region_uuid = row.region.uuid

    @classmethod
    def get(cls, context, ident):
        """The cell with UUID or name ``ident`` in the caller's project
        (any project when ``context.all_projects``); CellNotFound otherwise.
        """
        row = cls.dbapi().get_cell(context.scope_project, ident)
        return cls._from_db_object(context, cls(), row)

    @classmethod
    def list(cls, context, filters=None, **page):
        """A page (list of Cell) of the caller's project's cells; ``filters``
        and paging as the DB API's ``list_cells``.
        """
        rows = cls.dbapi().list_cells(context.scope_project, filters, **page)
        return cls._from_rows(context, rows)

    def _db_changes(self):
        return {k: v for k, v in self.obj_get_changes().items()
                if k not in self.extra_fields}

    def create(self):
        """Insert the cell and load the stored row back (Duplicate)."""
        row = self.dbapi().create_cell(self._db_changes())
        self._from_db_object(self._context, self, row)

    def save(self):
        """Write the unsaved changes (CellNotFound, Duplicate)."""
        row = self.dbapi().update_cell(None, self.uuid, self._db_changes())
        self._from_db_object(self._context, self, row)

    def destroy(self):
        """Delete the cell (InUse while it has hosts)."""
        self.dbapi().destroy_cell(None, self.uuid)


@base.CratonObjectRegistry.register
class Host(base.CratonObject):
    # Version 1.0: initial version
    VERSION = '1.0'
    extra_fields = ('region', 'region_uuid', 'cell', 'cell_uuid', 'labels')
    fields = dict({
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'project_id': fields.StringField(),
        'name': fields.StringField(),
        'ip_address': fields.StringField(nullable=True),
        'variables': fields.JsonField(nullable=True),
        'region_id': fields.IntegerField(),
        'cell_id': fields.IntegerField(nullable=True),
        'region': fields.StringField(),
        'region_uuid': fields.UUIDField(),
        'cell': fields.StringField(nullable=True),
        'cell_uuid': fields.UUIDField(nullable=True),
        'labels': fields.ListOfStringsField(),
    }, **_TIMESTAMPS)

    def _from_db_extra(self, row):
        self.region = row.region.name
        self.region_uuid = row.region.uuid
        self.cell = row.cell.name if row.cell else None
        self.cell_uuid = row.cell.uuid if row.cell else None
        self.labels = sorted(lb.label for lb in row.labels)

    @classmethod
    def get(cls, context, ident):
        """The host with UUID or name ``ident`` in the caller's project
        (any project when ``context.all_projects``); HostNotFound otherwise.
        """
        row = cls.dbapi().get_host(context.scope_project, ident)
        return cls._from_db_object(context, cls(), row)

    @classmethod
    def list(cls, context, filters=None, **page):
        """A page (list of Host) of the caller's project's hosts; ``filters``
        and paging as the DB API's ``list_hosts``.
        """
        rows = cls.dbapi().list_hosts(context.scope_project, filters, **page)
        return cls._from_rows(context, rows)

    @classmethod
    def find(cls, context, filters):
        """Every host (a list of Host, unpaged) of the caller's project
        matching ``filters`` (``labels``, ``region_id``, ``cell_id``).
        """
        rows = cls.dbapi().find_hosts(context.scope_project, filters)
        return cls._from_rows(context, rows)

    def _db_changes(self):
        changes = self.obj_get_changes()
        values = {k: v for k, v in changes.items()
                  if k not in self.extra_fields}
        if 'labels' in changes:
            values['labels'] = changes['labels']
        return values

    def create(self):
        """Insert the host and load the stored row back (Duplicate)."""
        row = self.dbapi().create_host(self._db_changes())
        self._from_db_object(self._context, self, row)

    def save(self):
        """Write the unsaved changes; changed ``labels`` replace the
        host's labels (HostNotFound, Duplicate).
        """
        row = self.dbapi().update_host(None, self.uuid, self._db_changes())
        self._from_db_object(self._context, self, row)

    def destroy(self):
        """Delete the host (HostNotFound when it is gone)."""
        self.dbapi().destroy_host(None, self.uuid)
