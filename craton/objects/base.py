"""Base classes for Craton's versioned objects."""

from oslo_versionedobjects import base as ovo_base

from craton.db import api as db_api


class CratonObjectRegistry(ovo_base.VersionedObjectRegistry):
    pass


class CratonObject(ovo_base.VersionedObject,
                   ovo_base.VersionedObjectDictCompat):
    """Base of every Craton object.

    ``db_fields`` lists the fields copied straight from a database row;
    subclasses convert the others (names of related rows, child lists) in
    ``_from_db_extra``.
    """

    OBJ_PROJECT_NAMESPACE = 'craton'
    OBJ_SERIAL_NAMESPACE = 'craton_object'

    @staticmethod
    def dbapi():
        return db_api.get_instance()

    @classmethod
    def _from_db_object(cls, context, obj, row):
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
        return [cls._from_db_object(context, cls(), row) for row in rows]

    def as_dict(self):
        return {k: getattr(self, k) for k in self.fields
                if self.obj_attr_is_set(k)}


class CratonObjectSerializer(ovo_base.VersionedObjectSerializer):
    OBJ_BASE_CLASS = CratonObject
