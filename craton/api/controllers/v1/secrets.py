# SPDX-License-Identifier: Apache-2.0
"""``/v1/secrets``: a value goes in and never comes out.

Every answer carries metadata only. A value is checked here (a string of
4 bytes to 64 KiB of UTF-8) and handed to the object, which encrypts it;
no message, answer or log line of this module quotes it.
"""

import re

from oslo_utils import uuidutils

from craton.api.controllers import base
from craton.api.controllers.v1 import collection
from craton.api.controllers.v1 import types
from craton.api.controllers.v1 import utils
from craton.common import exception
from craton.common import secret_store
from craton.objects import secret as secret_obj

FIELDS = ('uuid', 'name', 'description', 'project_id', 'user_id',
          'created_at', 'updated_at')
SORT_KEYS = ('created_at', 'updated_at', 'name', 'uuid')

# A secret's name becomes a file name in a step's container.
NAME = re.compile(r'[A-Za-z0-9._-]{1,255}')
# Shorter values could not be redacted from a step's log without
# starring out ordinary text.
MIN_VALUE_BYTES = 4
MAX_VALUE_BYTES = 64 * 1024


def secret_view(secret):
    return utils.view(secret, FIELDS, 'secrets')


def check_name(value, field='name'):
    """A secret's name: ``[A-Za-z0-9._-]{1,255}``, not ``.`` nor ``..``
    and not a UUID (paths take a UUID or a name).

    :raises InvalidParameter: (400) naming ``field``.
    """
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise utils.invalid(field, 'must be 1 to 255 characters of A-Z, '
                            'a-z, 0-9, ".", "_" and "-" (it becomes a file '
                            'name)')
    if value in ('.', '..'):
        raise utils.invalid(field, 'must not be "." or ".." (it becomes a '
                            'file name)')
    if uuidutils.is_uuid_like(value):
        raise utils.invalid(field, 'must not look like a UUID')
    return value


def check_value(value, field='value'):
    """A secret value: a JSON string of 4 bytes to 64 KiB once encoded as
    UTF-8. Messages say what is wrong, never what the value is.

    :returns: the value as UTF-8 bytes.
    :raises InvalidParameter: (400) not a string, not Unicode, too short.
    :raises RequestTooLarge: (413) longer than 64 KiB.
    """
    if not isinstance(value, str):
        raise utils.invalid(field, 'must be a string')
    try:
        raw = value.encode('utf-8')
    except UnicodeEncodeError:
        raise utils.invalid(field, 'is not valid Unicode')
    if len(raw) < MIN_VALUE_BYTES:
        raise utils.invalid(field, 'must be at least %d bytes of UTF-8 (a '
                            'shorter value could not be told apart from '
                            "ordinary text when it is starred out of a "
                            "step's log)" % MIN_VALUE_BYTES)
    if len(raw) > MAX_VALUE_BYTES:
        raise exception.RequestTooLarge(
            reason="'%s' must be at most %d bytes of UTF-8, not %d"
            % (field, MAX_VALUE_BYTES, len(raw)))
    return raw


def _kind(value):
    for kind, name in ((bool, 'a boolean'), ((int, float), 'a number'),
                       (str, 'a string'), (list, 'a list')):
        if isinstance(value, kind):
            return name
    return 'null'


def check_body(body, allowed, required):
    """``body`` (parsed JSON) as a dict with only ``allowed`` keys and
    every ``required`` one. Messages name fields, never values.

    :raises InvalidParameter: (400) naming ``body`` or the field.
    """
    if not isinstance(body, dict):
        raise utils.invalid('body', 'must be a JSON object, not %s'
                            % _kind(body))
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise utils.invalid('body', 'unknown field(s) %s; the fields are %s'
                            % (', '.join(unknown), ', '.join(allowed)))
    for field in required:
        if field not in body:
            raise utils.invalid(field, 'is required')
    return body


def get_secret(ident):
    return secret_obj.Secret.get(utils.context(), ident)


class SecretsController(base.RestController):

    @types.expose(types.jsontype, types.text, types.text, types.text,
                  types.text, types.text, types.text)
    def get_all(self, name=None, limit=None, marker=None, sort_key=None,
                sort_dir=None, all_projects=None):
        utils.authorize('craton:secret:list')
        listing = utils.list_context(all_projects, 'secret')
        page = collection.Page(limit, marker, sort_key, sort_dir, SORT_KEYS)
        items, more = page.fetch(secret_obj.Secret.list, listing,
                                 {'name': name})
        return collection.collection(
            'secrets', [secret_view(s) for s in items], page, more)

    @types.expose(types.jsontype, types.text)
    def get_one(self, ident):
        secret = get_secret(ident)
        utils.authorize('craton:secret:get', secret)
        return secret_view(secret)

    @types.expose(types.jsontype, body=types.secretbody, status_code=201)
    def post(self, body):
        ctx = utils.context()
        utils.authorize('craton:secret:create')
        values = check_body(body, ('name', 'description', 'value'),
                            ('name', 'value'))
        name = check_name(values.get('name'))
        description = utils.check_description(values.get('description'))
        value = check_value(values.get('value'))
        secret_store.check_ready(utils.conf())
        secret = secret_obj.Secret(ctx, project_id=ctx.project_id,
                                   user_id=ctx.user_id, name=name,
                                   description=description)
        secret.create(value)
        return secret_view(secret)

    @types.expose(types.jsontype, types.text, body=types.secretbody)
    def put(self, ident, body):
        secret = get_secret(ident)
        utils.authorize('craton:secret:update', secret)
        values = check_body(body, ('value', 'description'), ('value',))
        value = check_value(values.get('value'))
        if 'description' in values:
            secret.description = utils.check_description(
                values['description'])
        secret_store.check_ready(utils.conf())
        secret.update_value(value)
        return secret_view(secret)

    @types.expose(None, types.text, status_code=204)
    def delete(self, ident):
        secret = get_secret(ident)
        utils.authorize('craton:secret:delete', secret)
        secret.destroy()
