# SPDX-License-Identifier: Apache-2.0
"""Secrets: a named value of a project that goes in and never comes out
of the API. The object carries metadata only; the value is encrypted on
its way in (:meth:`Secret.create`, :meth:`Secret.update_value`) and
decrypted only by :meth:`Secret.reveal`, for the conductor.
"""

from oslo_log import log

from craton.common import secret_store
from craton import conf as craton_conf
from craton.objects import base
from craton.objects import fields

LOG = log.getLogger(__name__)


def _conf():
    return craton_conf.CONF


def _stored(row):
    return secret_store.Stored(row.ciphertext, row.key_ref)


def _encode(value):
    """``value`` (str or bytes) as bytes; str as UTF-8."""
    if isinstance(value, str):
        return value.encode('utf-8')
    if isinstance(value, bytes):
        return value
    raise TypeError('a secret value is str or bytes')


@base.CratonObjectRegistry.register
class Secret(base.CratonObject):
    """A project's secret: ``uuid``, ``name``, ``description``,
    ``project_id``, ``user_id``, ``backend`` and timestamps. Never the
    value, in a field or in ``repr``.
    """

    # Version 1.0: initial version
    VERSION = '1.0'
    fields = {
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'project_id': fields.StringField(),
        'user_id': fields.StringField(nullable=True),
        'name': fields.StringField(),
        'description': fields.StringField(nullable=True),
        # Where the value is kept: 'fernet' or 'castellan'.
        'backend': fields.StringField(),
        'created_at': fields.DateTimeField(nullable=True),
        'updated_at': fields.DateTimeField(nullable=True),
    }

    @classmethod
    def get(cls, context, ident):
        """The secret with UUID or name ``ident`` in the caller's project
        (any project when ``context.all_projects``).

        :raises SecretNotFound: none (or another project's: the same).
        """
        row = cls.dbapi().get_secret(context.scope_project, ident)
        return cls._from_db_object(context, cls(), row)

    @classmethod
    def get_by_uuid(cls, uuid, context=None):
        """The secret with UUID ``uuid`` in any project, for the service
        itself (the conductor resolving a step's secrets).

        :raises SecretNotFound: no such secret (deleted meanwhile).
        """
        row = cls.dbapi().get_secret(None, uuid)
        return cls._from_db_object(context, cls(), row)

    @classmethod
    def list(cls, context, filters=None, **page):
        """A page (list of Secret) of the caller's project's secrets;
        ``filters`` (``name``) and paging as the DB API's
        ``list_secrets``.
        """
        rows = cls.dbapi().list_secrets(context.scope_project, filters,
                                        **page)
        return cls._from_rows(context, rows)

    def _changes(self):
        return {k: v for k, v in self.obj_get_changes().items()
                if k not in ('backend',)}

    def create(self, value):
        """Encrypt ``value`` (str, as UTF-8, or bytes) with the configured
        backend and insert the secret; loads the stored row back.

        :raises SecretStoreUnavailable: (503) no usable key or key manager.
        :raises Duplicate: the name is taken in the project.
        """
        store = secret_store.backend(_conf())
        stored = store.store(_encode(value), name=self.name)
        values = dict(self._changes(), backend=store.name,
                      **stored._asdict())
        try:
            row = self.dbapi().create_secret(values)
        except Exception:
            self._forget(store, stored)
            raise
        self._from_db_object(self._context, self, row)

    def update_value(self, value):
        """Replace the value with ``value`` (str or bytes), encrypted with
        the configured backend, and write any unsaved change of this object
        (``description``) with it. An old key manager entry is removed.

        :raises SecretStoreUnavailable: (503) no usable key or key manager.
        :raises SecretNotFound: the secret was deleted meanwhile.
        """
        store = secret_store.backend(_conf())
        stored = store.store(_encode(value), name=self.name)
        values = dict(self._changes(), backend=store.name,
                      **stored._asdict())
        try:
            old, row = self.dbapi().update_secret(None, self.uuid, values)
        except Exception:
            self._forget(store, stored)
            raise
        self._from_db_object(self._context, self, row)
        if old.key_ref and old.key_ref != stored.key_ref:
            self._forget(secret_store.backend(_conf(), old.backend),
                         _stored(old))

    def save(self):
        """Write metadata changes (``description``) without touching the
        value (SecretNotFound).
        """
        _, row = self.dbapi().update_secret(None, self.uuid, self._changes())
        self._from_db_object(self._context, self, row)

    def destroy(self):
        """Delete the secret, and its key manager entry if it has one.

        :raises InUse: (409) a workflow names it or an unfinished job's
            step receives it; the message names them.
        """
        row = self.dbapi().destroy_secret(None, self.uuid)
        if row.key_ref:
            self._forget(secret_store.backend(_conf(), row.backend),
                         _stored(row))

    def reveal(self):
        """The secret's current value, as bytes, decrypted by the backend
        that stored it. Read from the database at each call, so a value
        replaced since this object was loaded is the new one.

        :raises SecretNotFound: the secret was deleted meanwhile.
        :raises SecretStoreUnavailable: no key decrypts it, or the key
            manager failed.
        """
        row = self.dbapi().get_secret(None, self.uuid)
        return secret_store.backend(_conf(), row.backend).reveal(
            _stored(row))

    @staticmethod
    def _forget(store, stored):
        """Remove a key manager entry nothing refers to; a failure only
        leaves an orphan in the key manager, so it is logged, not raised.
        """
        if not stored.key_ref:
            return
        try:
            store.delete(stored)
        except Exception:
            LOG.warning('Could not remove %s from the key manager; remove '
                        'it by hand', stored.key_ref, exc_info=True)

    @classmethod
    def rotate_keys(cls, batch=100):
        """Encrypt every fernet-kept secret of every project again under
        the first of ``[secrets] encryption_keys`` (MultiFernet.rotate).
        Secrets already under the first key are left alone, so a second
        run changes nothing.

        :returns: ``(rotated, total)``: rows written, fernet rows seen.
        :raises SecretStoreUnavailable: no key configured, or one that
            decrypts nothing of a row.
        """
        store = secret_store.backend(_conf(), secret_store.FERNET)
        store.check()
        rotated = total = 0
        after = 0
        while True:
            rows = cls.dbapi().list_secret_tokens(secret_store.FERNET,
                                                  after, batch)
            for secret_id, token in rows:
                total += 1
                if token is None or store.is_current(token):
                    continue
                if cls.dbapi().replace_secret_token(
                        secret_id, token, store.rotate(token)):
                    rotated += 1
            if len(rows) < batch:
                return rotated, total
            after = rows[-1][0]
