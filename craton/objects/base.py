# SPDX-License-Identifier: Apache-2.0
"""Base classes for Craton's versioned objects."""

from oslo_versionedobjects import base as ovo_base

from craton.db import api as db_api


class CratonObjectRegistry(ovo_base.VersionedObjectRegistry):
    """The registry Craton's objects register with (their fingerprints are
    checked by the unit tests).
    """


class CratonObject(ovo_base.VersionedObject,
                   ovo_base.VersionedObjectDictCompat):
    """Base of every Craton object.

    Fields are copied straight from a database row, except those named in
    ``extra_fields`` (names of related rows, child lists), which
    subclasses fill in ``_from_db_extra``.
    """

    OBJ_PROJECT_NAMESPACE = 'craton'
    OBJ_SERIAL_NAMESPACE = 'craton_object'

    @staticmethod
    def dbapi():
        """The database API (:func:`craton.db.api.get_instance`)."""
        return db_api.get_instance()

    @classmethod
    def _from_db_object(cls, context, obj, row):
        """Fill ``obj`` from ``row`` (no unsaved changes left); returns
        ``obj``.
        """
        for name in cls.fields:
            if name in getattr(cls, 'extra_fields', ()):
                continue
            setattr(obj, name, getattr(row, name))
        obj._from_db_extra(row)
        obj._context = context
        obj.obj_reset_changes()
        return obj

    def _from_db_extra(self, row):
        """Fill fields that are not plain columns (override as needed)."""

    @classmethod
    def _from_rows(cls, context, rows):
        """A list of objects, one per row."""
        return [cls._from_db_object(context, cls(), row) for row in rows]

    @classmethod
    def list_all(cls, context, filters=None, page=100):
        """Every object ``cls.list`` finds with ``filters``, read ``page``
        at a time in id order (a generator): for the service's own scans
        of all projects, which must not hold thousands of rows at once.
        """
        marker = None
        while True:
            found = cls.list(context, filters, limit=page, marker=marker,
                             sort_key='id')
            yield from found
            if len(found) < page:
                return
            marker = found[-1].uuid
