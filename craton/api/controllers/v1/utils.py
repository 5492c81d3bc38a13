# SPDX-License-Identifier: Apache-2.0
"""Helpers every v1 controller uses: the request's context, links,
timestamps, casts that never fail a request, and input checks.
"""

import copy
import datetime
import ipaddress
import re

from oslo_log import log
from oslo_utils import strutils
from oslo_utils import uuidutils
import pecan

from craton.common import exception
from craton.common import policy

LOG = log.getLogger(__name__)

MAX_NAME_LENGTH = 255
MAX_TIMEOUT = 86400
# A non-negative integer as text: ASCII digits only. int() also takes
# " 1", "+1", "1_000" and the digits of other scripts ("١"), and so does
# "\d" in a regular expression.
_DIGITS = re.compile(r'[0-9]{1,18}')
BOOL_VALUES = 'true or false (also 1/0, yes/no, on/off; any case)'


def context():
    return pecan.request.context


def conf():
    return pecan.request.conf


def _target(target):
    if target is not None and not isinstance(target, dict):
        target = {'project_id': target.project_id}
    return target


def authorize(rule, target=None):
    """Policy check (403); ``target`` is an object or dict with
    ``project_id``.
    """
    policy.authorize(rule, context(), _target(target))


def allowed(rule, target=None):
    """Whether policy allows ``rule`` (True/False, never raises)."""
    return policy.check(rule, context(), _target(target))


def cast(method, *args):
    """Wake the conductor. The row is already written, so a lost cast only
    delays the work until a conductor's periodic sweep finds it: log the
    failure and let the request succeed.
    """
    try:
        if pecan.request.rpcapi is None:
            raise exception.ServiceUnavailable(reason='no RPC client')
        getattr(pecan.request.rpcapi, method)(context(), *args)
    except Exception:
        LOG.warning('Could not cast %s%r to the conductor; its periodic '
                    'sweep will pick the work up', method, args,
                    exc_info=True)


def base_url():
    endpoint = conf().api.public_endpoint
    if endpoint:
        return endpoint.rstrip('/')
    return pecan.request.application_url.rstrip('/')


def links(resource, uuid, base=None):
    """The ``self`` and ``bookmark`` links of a resource; ``base``: the
    :func:`base_url` when the caller has it already (a list).
    """
    if base is None:
        base = base_url()
    return [{'rel': 'self', 'href': '%s/v1/%s/%s' % (base, resource, uuid)},
            {'rel': 'bookmark', 'href': '%s/%s/%s' % (base, resource, uuid)}]


def iso(value):
    """ISO 8601 UTC (the database keeps naive UTC datetimes)."""
    if value is None:
        return None
    if value.tzinfo is None:
        # What replace(tzinfo=utc).isoformat() gives, without a new
        # datetime per value (lists format thousands).
        return value.isoformat() + '+00:00'
    return value.isoformat()


def fields_of(obj, fields):
    """``{name: value}`` of ``fields`` of the object ``obj`` (None for a
    field that is not set).
    """
    return {name: getattr(obj, name) if obj.obj_attr_is_set(name) else None
            for name in fields}


def view(obj, fields, resource=None):
    """A plain dict of ``fields`` of ``obj``; datetimes as ISO strings."""
    out = record_view(fields_of(obj, fields), fields)
    if resource is not None:
        out['links'] = links(resource, obj.uuid)
    return out


def record_view(values, fields, resource=None, base=None):
    """What :func:`view` makes of an object, made of ``values``, a dict of
    field values (a missing one is None): ``fields`` in that order,
    datetimes as ISO strings, then ``links`` when ``resource`` is given
    (``base``: the :func:`base_url`, when the caller has it already).
    """
    out = {}
    for name in fields:
        value = values.get(name)
        out[name] = iso(value) if isinstance(value, datetime.datetime) \
            else value
    if resource is not None:
        out['links'] = links(resource, values['uuid'], base)
    return out


def invalid(name, reason):
    return exception.InvalidParameter(name=name, reason=reason)


def ascii_int(text):
    """``text`` (a query parameter or path segment) as a non-negative
    integer, or None unless it is 1 to 18 ASCII digits.
    """
    if isinstance(text, str) and _DIGITS.fullmatch(text):
        return int(text)
    return None


def query_bool(value, name):
    """A boolean query parameter: ``true``/``false`` in any case, or the
    other words oslo's ``bool_from_string(strict=True)`` knows (``1``/``0``,
    ``yes``/``no``, ``on``/``off``, ``t``/``f``, ``y``/``n``), with no
    white space around.

    :raises InvalidParameter: (400) naming ``name`` for anything else.
    """
    if isinstance(value, str) and value.isascii() and \
            value == value.strip():
        try:
            return strutils.bool_from_string(value, strict=True)
        except ValueError:
            pass
    raise invalid(name, 'must be %s, not %r' % (BOOL_VALUES, value))


def list_context(all_projects, kind):
    """The context a list of ``kind`` (``task``, ``job``, ...) runs with.

    The caller's own, or with ``?all_projects=true`` one that sees every
    project: policy ``craton:<kind>:list_all_projects`` (admins) decides,
    anyone else gets 403. ``false`` lists as if it were left out; any other
    value is 400.
    """
    ctx = context()
    if all_projects is None:
        return ctx
    if not query_bool(all_projects, 'all_projects'):
        return ctx
    authorize('craton:%s:list_all_projects' % kind)
    every = copy.copy(ctx)
    every.all_projects = True
    return every


# -- checks shared by create and patch -----------------------------------

def check_name(value, field='name'):
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, 'must be a non-empty string')
    if len(value) > MAX_NAME_LENGTH:
        raise invalid(field, 'must be at most %d characters'
                      % MAX_NAME_LENGTH)
    if value != value.strip() or '/' in value:
        raise invalid(field, 'must not contain "/" nor start or end with '
                      'a space')
    if uuidutils.is_uuid_like(value):
        # Paths accept a UUID or a name; a name that looks like a UUID
        # would be ambiguous.
        raise invalid(field, 'must not look like a UUID')
    return value


def check_description(value, field='description'):
    if value is not None and not isinstance(value, str):
        raise invalid(field, 'must be a string or null')
    return value


def check_variables(value, field='variables'):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(field, 'must be a JSON object')
    return value


def check_timeout(value, field='timeout', default=None):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 1 <= value <= MAX_TIMEOUT:
        raise invalid(field, 'must be an integer number of seconds from 1 '
                      'to %d' % MAX_TIMEOUT)
    return value


def check_strings(value, field, non_empty=False):
    if value is None:
        value = []
    if not isinstance(value, list) or not all(
            isinstance(item, str) and item for item in value):
        raise invalid(field, 'must be a list of non-empty strings')
    if non_empty and not value:
        raise invalid(field, 'must not be empty')
    return value


def check_ip(value, field='ip_address'):
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError()
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise invalid(field, '%r is not an IPv4 or IPv6 address' % (value,))
