# SPDX-License-Identifier: Apache-2.0
"""``/v1/secrets``: named values (credentials, tokens) that steps receive
as files. The API answers with metadata only; a value goes one way, from
the client to the service, and never into a log.
"""

from cratonclient import exceptions
from cratonclient.v1 import base

# Fields of a request body that hold a secret's value.
VALUE_FIELDS = ('value',)


def value_text(value):
    """A secret's value as the text the API takes (a JSON string).

    :param value: ``str``, or ``bytes`` that must be UTF-8 (sent exactly:
        nothing is stripped or replaced).
    :raises CommandError: bytes that are not UTF-8; the message gives the
        offset of the first bad byte, never the bytes themselves.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode('utf-8')
        except UnicodeDecodeError as exc:
            raise exceptions.CommandError(
                'the secret value is not UTF-8 text (the byte at offset %d '
                'is not valid UTF-8); the API stores secret values as text'
                % exc.start)
    raise exceptions.CommandError(
        'a secret value must be text or bytes, not %s' % type(value).__name__)


def _metadata(secret):
    """``secret`` without a ``value`` field, should an answer carry one."""
    if isinstance(secret, dict):
        return {k: v for k, v in secret.items() if k not in VALUE_FIELDS}
    return secret


class SecretManager(base.Manager):
    """Secrets: ``{name, description, value}`` in, metadata out (``uuid,
    name, description, project_id, user_id, created_at, updated_at,
    links``).

    The value is masked (``***``) in the debug log of the requests that
    carry it, and a ``value`` field in an answer is dropped.
    """

    collection = 'secrets'

    def list(self, **filters):
        return [_metadata(s) for s in super().list(**filters)]

    def get(self, ident, **params):
        return _metadata(super().get(ident, **params))

    def create(self, body):
        """``POST`` ``body`` (``name``, ``value``, optional
        ``description``); the new secret's metadata.

        :raises CommandError: a value in bytes that are not UTF-8 (nothing
            is sent).
        :raises ApiError: 400 (bad name, value shorter than 4 bytes), 409
            (the name is taken), 413 (value over 64 KiB), 503 (no
            encryption key configured on the service).
        """
        body = dict(body)
        if 'value' in body:
            body['value'] = value_text(body['value'])
        return _metadata(self.http.resource(
            'POST', self._path(), json=body, secret_fields=VALUE_FIELDS))

    def set_value(self, ident, value):
        """``PUT`` a new value (rotation); the secret's metadata.

        :param value: ``str``, or UTF-8 ``bytes``.
        :raises CommandError: bytes that are not UTF-8 (nothing is sent).
        """
        body = {'value': value_text(value)}
        answer = self.http.json('PUT', self._path(ident), json=body,
                                secret_fields=VALUE_FIELDS)
        if answer is None:
            # An answer without a body: read the secret back.
            return self.get(ident)
        if not isinstance(answer, dict) or 'uuid' not in answer:
            raise exceptions.InvalidResponse(
                self.http.url(self._path(ident)),
                'expected a resource (a JSON object with a uuid)')
        return _metadata(answer)
