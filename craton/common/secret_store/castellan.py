# SPDX-License-Identifier: Apache-2.0
"""Secret values kept in a key manager (Barbican) through castellan.

The value is stored as castellan ``OpaqueData``; the ``secrets`` row keeps
only the key manager's id (``key_ref``). Craton talks to the key manager
with the service credentials of castellan's ``[key_manager]`` options
(``auth_type`` and the rest, read by castellan's
``credential_factory``), not with the caller's token: a conductor reads
the value when a step starts, long after the request that stored it.
"""

from castellan.common import exception as castellan_exc
from castellan.common.objects import opaque_data
from castellan.common import utils as castellan_utils
from castellan import key_manager
from oslo_log import log

from craton.common import exception
from craton.common.secret_store import base

LOG = log.getLogger(__name__)

# One key manager per configuration object, built on first use (a key
# manager may hold sessions and caches; tests replace it with castellan's
# own mock).
_MANAGERS = {}


def manager(conf):
    """The castellan key manager of ``conf`` (``[key_manager] backend``)."""
    found = _MANAGERS.get(id(conf))
    if found is None or found[0] is not conf:
        found = (conf, key_manager.API(conf))
        _MANAGERS[id(conf)] = found
    return found[1]


def reset():
    """Forget the key managers built so far (tests, reloads)."""
    _MANAGERS.clear()


def _failed(what, exc):
    # Castellan's messages name objects and endpoints, never a stored
    # value; the exception's type is enough for the reader of the API.
    LOG.warning('Key manager %s failed: %s', what, exc)
    return exception.SecretStoreUnavailable(
        reason='the key manager could not %s the secret (%s); see the '
               'service log' % (what, type(exc).__name__))


class CastellanBackend:
    """Store, read and delete values in castellan's key manager."""

    name = base.CASTELLAN

    def __init__(self, conf):
        self.conf = conf

    def _context(self):
        try:
            return castellan_utils.credential_factory(conf=self.conf)
        except castellan_exc.CastellanException as exc:
            raise exception.SecretStoreUnavailable(
                reason='castellan has no usable service credentials (%s); '
                       'set [key_manager] auth_type and its options'
                       % type(exc).__name__)

    def check(self):
        """:raises SecretStoreUnavailable: no usable credentials."""
        self._context()

    def store(self, value, name=None):
        """Store ``value`` (bytes) as opaque data named ``name``.

        :returns: ``Stored(ciphertext=None, key_ref=<managed id>)``.
        :raises SecretStoreUnavailable: the key manager failed.
        """
        ctx = self._context()
        try:
            ref = manager(self.conf).store(
                ctx, opaque_data.OpaqueData(value, name=name))
        except Exception as exc:
            raise _failed('store', exc)
        return base.Stored(None, ref)

    def reveal(self, stored):
        """The value (bytes) the key manager holds under ``key_ref``.

        :raises SecretStoreUnavailable: the key manager failed or lost it.
        """
        ctx = self._context()
        try:
            found = manager(self.conf).get(ctx, stored.key_ref)
        except Exception as exc:
            raise _failed('read', exc)
        value = found.get_encoded()
        return value.encode('utf-8') if isinstance(value, str) else value

    def delete(self, stored):
        """Remove ``key_ref`` from the key manager; one already gone is
        fine (a delete retried after a partial failure).

        :raises SecretStoreUnavailable: the key manager failed.
        """
        ctx = self._context()
        try:
            manager(self.conf).delete(ctx, stored.key_ref)
        except castellan_exc.ManagedObjectNotFoundError:
            LOG.info('Secret %s was already gone from the key manager',
                     stored.key_ref)
        except Exception as exc:
            raise _failed('delete', exc)
