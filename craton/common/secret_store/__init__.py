# SPDX-License-Identifier: Apache-2.0
"""Where secret values are kept at rest, behind one small interface.

A backend turns a plaintext value (bytes) into what a ``secrets`` row
keeps, and back:

* ``fernet`` (:mod:`.fernet`): the row's ``ciphertext`` is a Fernet token
  made with the first of ``[secrets] encryption_keys``; any of them
  decrypts (``cryptography``'s MultiFernet), so keys rotate.
* ``castellan`` (:mod:`.castellan`): the value lives in the key manager
  castellan reaches (Barbican); the row keeps only its ``key_ref``.

Each row records its backend, so a value is always read back by the
backend that stored it, whatever ``[secrets] backend`` says today. The
configuration is read at each call, never at import time.
"""

from craton.common import exception
from craton.common.secret_store import base
from craton.common.secret_store import castellan
from craton.common.secret_store import fernet

FERNET = base.FERNET
CASTELLAN = base.CASTELLAN
Stored = base.Stored


def backend(conf, name=None):
    """The backend object named ``name`` (default: ``[secrets] backend``).

    :raises SecretStoreUnavailable: an unknown name (a row written by a
        newer release, say).
    """
    name = name or conf.secrets.backend
    if name == FERNET:
        return fernet.FernetBackend(conf)
    if name == CASTELLAN:
        return castellan.CastellanBackend(conf)
    raise exception.SecretStoreUnavailable(
        reason="unknown secrets backend '%s'" % name)


def check_ready(conf):
    """Raise SecretStoreUnavailable (503) unless values can be stored now
    with the configured backend (for fernet: a key is configured and every
    key is well-formed), without storing anything.
    """
    backend(conf).check()
