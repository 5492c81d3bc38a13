# SPDX-License-Identifier: Apache-2.0
"""WSME types of the v1 API, and every WSME workaround in one place.

WSME's gaps, and what this module does about them:

* Free-form JSON (variables, a task's source, a JSON Patch body): WSME has
  no "any JSON" type, so :data:`jsontype` passes a value through untouched
  and :data:`jsonobject` insists on an object.
* WSME turns ``int([1])`` into a TypeError (a 500) and accepts ``true`` or
  ``3.7`` as integers: :data:`integer` accepts JSON integers only.
* A complex type given something other than a JSON object (``"steps":
  [1]``) makes WSME call ``.keys()`` on it (a 500): complex types here use
  :class:`InputMeta`, whose ``fromjson`` says "must be an object" (400).
* WSME formats errors its own way and forgets our error codes:
  :func:`expose` records the :class:`~craton.common.exception.CratonException`
  in the WSGI environ, where the error middleware finds it.
* Only JSON is spoken: :func:`expose` never registers WSME's XML renderer.
* WSME quotes a refused value in its error (and logs it at DEBUG): bodies
  that hold a secret value are :data:`secretbody`, checked by their
  controller.
"""

import functools
import inspect
import json

import pecan
from wsme import exc as wsme_exc
from wsme.rest import json as wsme_json
from wsme import types as wtypes
import wsmeext.pecan

from craton.api import middleware
from craton.common import exception

text = wtypes.text
Unset = wtypes.Unset


def expose(*args, **kwargs):
    """``wsexpose`` speaking JSON only and keeping Craton's error codes."""
    kwargs.setdefault('rest_content_types', ('json',))
    wsexpose = wsmeext.pecan.wsexpose(*args, **kwargs)

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*a, **kw):
            try:
                return func(*a, **kw)
            except exception.CratonException as exc:
                middleware.record_error(pecan.request.environ, exc)
                raise
        # WSME and pecan read the argument list from the signature.
        wrapper.__signature__ = inspect.signature(func)
        exposed = wsexpose(wrapper)
        # functools.wraps copied the signature onto WSME's own wrapper;
        # pecan must see that one as (self, *args, **kwargs).
        exposed.__dict__.pop('__signature__', None)
        return exposed
    return decorate


class JsonType(wtypes.UserType):
    """Any JSON value, kept as it is."""

    basetype = wtypes.text
    name = 'json'

    def validate(self, value):
        return value

    def frombasetype(self, value):
        try:
            # Python's parser takes NaN and Infinity, which are not JSON
            # and could not be written back out.
            json.dumps(value, allow_nan=False)
        except ValueError:
            raise ValueError('NaN and Infinity are not JSON numbers')
        return self.validate(value)


class JsonObjectType(JsonType):
    """A JSON object (variables)."""

    name = 'jsonobject'

    def validate(self, value):
        if value is not None and not isinstance(value, dict):
            raise ValueError('must be a JSON object, not %s'
                             % _json_kind(value))
        return value


class IntegerType(JsonType):
    """A JSON integer: not a string, a float or a boolean."""

    name = 'integer'

    def validate(self, value):
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, int)):
            raise ValueError('must be an integer, not %s' % _json_kind(value))
        return value


class SecretBodyType(JsonType):
    """A request body that may hold a secret value: any JSON value, never
    refused here. WSME quotes the whole body in the message of an error it
    raises while parsing (and logs that message), which must not happen to
    a value; the controller checks the body and names only fields.
    """

    name = 'secretbody'

    def frombasetype(self, value):
        return value


class StringListType(JsonType):
    """A JSON list of strings."""

    name = 'stringlist'

    def validate(self, value):
        if value is None:
            return value
        if not isinstance(value, list) or not all(
                isinstance(item, str) for item in value):
            raise ValueError('must be a list of strings')
        return value


def _json_kind(value):
    for kind, name in ((bool, 'a boolean'), (int, 'an integer'),
                       (float, 'a number'), (str, 'a string'),
                       (list, 'a list'), (dict, 'an object')):
        if isinstance(value, kind):
            return name
    return 'null' if value is None else type(value).__name__


jsontype = JsonType()
jsonobject = JsonObjectType()
integer = IntegerType()
stringlist = StringListType()
secretbody = SecretBodyType()


class InputMeta(wtypes.BaseMeta):
    """Metaclass of request bodies, so their ``fromjson`` is ours."""


class InputBase(wtypes.Base, metaclass=InputMeta):
    """A request body: a JSON object with known keys."""

    def values(self):
        """The attributes the caller gave (null included), as a dict."""
        out = {}
        for attr in wtypes.list_attributes(type(self)):
            value = getattr(self, attr.key)
            if value is not Unset:
                out[attr.key] = value
        return out


@wsme_json.fromjson.when_type(InputMeta)
def _input_fromjson(datatype, value):
    # WSME's own complex-type branch, plus the checks it lacks.
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object, not %s' % _json_kind(value))
    attributes = wtypes.list_attributes(datatype)
    unknown = set(value) - {a.name for a in attributes}
    if unknown:
        raise wsme_exc.UnknownAttribute(None, unknown)
    obj = datatype()
    for attr in attributes:
        if attr.name in value:
            try:
                converted = wsme_json.fromjson(attr.datatype,
                                               value[attr.name])
            except wsme_exc.UnknownAttribute as exc:
                exc.add_fieldname(attr.name)
                raise
            except ValueError as exc:
                raise wsme_exc.InvalidInput(
                    attr.name, value[attr.name], exc.args[0])
            setattr(obj, attr.key, converted)
        elif attr.mandatory:
            raise wsme_exc.InvalidInput(attr.name, None,
                                                  'Mandatory field missing.')
    return obj


def _mandatory(datatype):
    return wtypes.wsattr(datatype, mandatory=True)


# -- request bodies ---------------------------------------------------------

class TaskCreate(InputBase):
    name = _mandatory(text)
    description = text
    source = _mandatory(jsonobject)
    command = _mandatory(stringlist)
    timeout = integer
    visibility = text
    shared_roles = stringlist


class WorkflowStepInput(InputBase):
    name = text
    task = _mandatory(text)
    variables = jsonobject
    timeout = integer
    secrets = stringlist


class WorkflowInput(InputBase):
    name = _mandatory(text)
    description = text
    variables = jsonobject
    secrets = stringlist
    steps = _mandatory([WorkflowStepInput])


class JobInventory(InputBase):
    hosts = stringlist
    labels = stringlist
    region = text
    cell = text


class JobCreate(InputBase):
    workflow = text
    task = text
    inventory = _mandatory(JobInventory)
    variables = jsonobject
    secrets = stringlist


class RegionCreate(InputBase):
    name = _mandatory(text)
    description = text
    variables = jsonobject


class CellCreate(InputBase):
    name = _mandatory(text)
    region = _mandatory(text)
    description = text
    variables = jsonobject


class HostCreate(InputBase):
    name = _mandatory(text)
    region = _mandatory(text)
    cell = text
    ip_address = text
    labels = stringlist
    variables = jsonobject

