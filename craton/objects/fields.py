# SPDX-License-Identifier: Apache-2.0
"""Field types for Craton's versioned objects."""

from oslo_serialization import jsonutils
from oslo_versionedobjects import fields

# Re-exported so object modules import their fields from one place.
BooleanField = fields.BooleanField
DateTimeField = fields.DateTimeField
IntegerField = fields.IntegerField
ListOfStringsField = fields.ListOfStringsField
ObjectField = fields.ObjectField
ListOfObjectsField = fields.ListOfObjectsField
StringField = fields.StringField
UUIDField = fields.UUIDField


class Json(fields.FieldType):
    """Any JSON-serialisable value, kept as it is (free-form documents)."""

    def coerce(self, obj, attr, value):
        """``value`` itself, if it serialises to JSON (ValueError if not)."""
        try:
            jsonutils.dumps(value)
        except (TypeError, ValueError):
            raise ValueError('%s is not JSON serialisable' % attr)
        return value

    def to_primitive(self, obj, attr, value):
        """``value`` itself: it is JSON already."""
        return value

    def from_primitive(self, obj, attr, value):
        """``value`` itself."""
        return value


class JsonField(fields.AutoTypedField):
    """A field holding any JSON document (see :class:`Json`)."""

    AUTO_TYPE = Json()
