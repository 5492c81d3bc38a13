# SPDX-License-Identifier: Apache-2.0
"""Secret values encrypted in the database with Fernet keys.

``[secrets] encryption_keys``: the first key encrypts, every key decrypts
(MultiFernet), so an operator rotates by putting a new key first and
running ``craton-dbsync secrets-rotate`` (:meth:`FernetBackend.rotate`)
before dropping the old ones.
"""

from cryptography import fernet

from craton.common import exception
from craton.common.secret_store import base

OPTION = '[secrets] encryption_keys'


def generate_key():
    """A new Fernet key as text (what ``encryption_keys`` takes)."""
    return fernet.Fernet.generate_key().decode('ascii')


class FernetBackend:
    """Encrypt and decrypt with ``[secrets] encryption_keys``."""

    name = base.FERNET

    def __init__(self, conf):
        self.conf = conf

    def _keys(self):
        """One ``Fernet`` per configured key, in order.

        :raises SecretStoreUnavailable: none configured, or one is not a
            Fernet key (the message gives its position, never the key).
        """
        keys = [k.strip() for k in self.conf.secrets.encryption_keys
                if k and k.strip()]
        if not keys:
            raise exception.SecretStoreUnavailable(
                reason='no encryption key is configured; set %s to one or '
                       'more Fernet keys (the first encrypts) and restart '
                       'the service' % OPTION)
        out = []
        for i, key in enumerate(keys):
            try:
                out.append(fernet.Fernet(key))
            except (ValueError, TypeError):
                raise exception.SecretStoreUnavailable(
                    reason='key %d of %s is not a Fernet key (32 url-safe '
                           'base64-encoded bytes)' % (i + 1, OPTION))
        return out

    def _multi(self):
        return fernet.MultiFernet(self._keys())

    def check(self):
        """:raises SecretStoreUnavailable: as :meth:`_keys`."""
        self._keys()

    def store(self, value, name=None):
        """Encrypt ``value`` (bytes) under the first key.

        :returns: ``Stored(ciphertext=token, key_ref=None)``.
        :raises SecretStoreUnavailable: no usable key.
        """
        return base.Stored(self._multi().encrypt(value), None)

    def reveal(self, stored):
        """The plaintext (bytes) of ``stored`` (a :class:`Stored`).

        :raises SecretStoreUnavailable: no usable key, or no configured key
            decrypts the token (the key that made it was dropped).
        """
        try:
            return self._multi().decrypt(stored.ciphertext)
        except fernet.InvalidToken:
            raise exception.SecretStoreUnavailable(
                reason='no key of %s decrypts this secret; the key it was '
                       'encrypted with must be listed there' % OPTION)

    def delete(self, stored):
        """Nothing to do: the row held the whole secret."""

    def is_current(self, token):
        """Whether ``token`` is encrypted under the first key already."""
        try:
            self._keys()[0].decrypt(token)
        except fernet.InvalidToken:
            return False
        return True

    def rotate(self, token):
        """``token`` encrypted again under the first key (its plaintext
        unchanged; see :meth:`reveal` for errors).
        """
        try:
            return self._multi().rotate(token)
        except fernet.InvalidToken:
            raise exception.SecretStoreUnavailable(
                reason='no key of %s decrypts a stored secret; the key it '
                       'was encrypted with must be listed there' % OPTION)
