# SPDX-License-Identifier: Apache-2.0
"""Secret backends: Fernet keys (MultiFernet) and castellan's key manager,
the latter against castellan's own mock key manager (no Barbican here).
"""

from castellan.common import utils as castellan_utils
from castellan import key_manager
from castellan.tests.unit.key_manager import mock_key_manager
from cryptography import fernet

from craton.common import exception
from craton.common import secret_store
from craton.common.secret_store import castellan
from craton import conf
from craton.conf import secrets as secrets_conf
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton.objects import secret as secret_obj
from craton.tests import base

MOCK = '%s.%s' % (mock_key_manager.__name__,
                  mock_key_manager.MockKeyManager.__name__)


def use_castellan(test):
    """Configure ``test`` for the castellan backend on castellan's mock
    key manager, with token credentials; returns the key manager.
    """
    conf.CONF.register_opts(key_manager.key_manager_opts,
                            group='key_manager')
    conf.CONF.register_opts(castellan_utils.credential_opts,
                            group='key_manager')
    castellan.reset()
    test.addCleanup(castellan.reset)
    test.config(backend='castellan', group='secrets')
    test.config(backend=MOCK, auth_type='token', token='test-token',
                group='key_manager')
    manager = castellan.manager(conf.CONF)
    test.assertIsInstance(manager, mock_key_manager.MockKeyManager)
    return manager


def keys(n):
    """``n`` test-only Fernet keys."""
    return [fernet.Fernet.generate_key().decode() for _ in range(n)]


class TestFernet(base.TestCase):

    def test_first_key_encrypts_all_decrypt(self):
        old, new = keys(2)
        self.config(encryption_keys=[old], group='secrets')
        store = secret_store.backend(conf.CONF)
        stored = store.store(b'value-1')
        self.assertIsNone(stored.key_ref)
        self.assertNotIn(b'value-1', stored.ciphertext)
        self.config(encryption_keys=[new, old], group='secrets')
        self.assertEqual(b'value-1', store.reveal(stored))
        self.assertFalse(store.is_current(stored.ciphertext))
        rotated = store.rotate(stored.ciphertext)
        self.assertTrue(store.is_current(rotated))
        self.config(encryption_keys=[new], group='secrets')
        self.assertEqual(b'value-1', store.reveal(stored._replace(
            ciphertext=rotated)))
        error = self.assertRaises(exception.SecretStoreUnavailable,
                                  store.reveal, stored)
        self.assertIn('[secrets] encryption_keys', str(error))

    def test_no_key_or_a_bad_one(self):
        store = secret_store.backend(conf.CONF)
        for value, text in (([], 'no encryption key'),
                            (['', ' '], 'no encryption key'),
                            (keys(1) + ['short'], 'key 2 of')):
            self.config(encryption_keys=value, group='secrets')
            for call in (store.check, lambda: store.store(b'abcd'),
                         lambda: secret_store.check_ready(conf.CONF)):
                error = self.assertRaises(exception.SecretStoreUnavailable,
                                          call)
                self.assertIn(text, str(error))
                self.assertIn('[secrets] encryption_keys', str(error))
                self.assertEqual(503, error.code)
                self.assertNotIn('short', str(error))

    def test_key_option_is_secret(self):
        opts = {o.name: o for o in secrets_conf.list_opts()}
        self.assertTrue(opts['encryption_keys'].secret)

    def test_unknown_backend(self):
        self.assertRaises(exception.SecretStoreUnavailable,
                          secret_store.backend, conf.CONF, 'vault')


class TestCastellan(base.TestCase):

    def setUp(self):
        super().setUp()
        self.manager = use_castellan(self)

    def test_store_reveal_delete(self):
        store = secret_store.backend(conf.CONF)
        self.assertEqual('castellan', store.name)
        stored = store.store(b'bmc-password', name='bmc')
        self.assertIsNone(stored.ciphertext)
        self.assertIn(stored.key_ref, self.manager.keys)
        self.assertEqual('bmc', self.manager.keys[stored.key_ref].name)
        self.assertEqual(b'bmc-password', store.reveal(stored))
        store.delete(stored)
        self.assertEqual({}, self.manager.keys)
        store.delete(stored)  # already gone: fine
        error = self.assertRaises(exception.SecretStoreUnavailable,
                                  store.reveal, stored)
        self.assertIn('ManagedObjectNotFoundError', str(error))

    def test_credentials_missing_is_503(self):
        self.config(auth_type=None, group='key_manager')
        store = secret_store.backend(conf.CONF)
        error = self.assertRaises(exception.SecretStoreUnavailable,
                                  store.store, b'abcd')
        self.assertIn('[key_manager] auth_type', str(error))

    def test_secret_object_on_castellan(self):
        ctx = self.context
        secret = secret_obj.Secret(ctx, project_id='project-a',
                                   user_id='user-a', name='bmc')
        secret.create('first-value')
        with session.reader() as s:
            row = s.get(models.Secret, secret.id)
        self.assertEqual(('castellan', None), (row.backend, row.ciphertext))
        self.assertEqual([row.key_ref], list(self.manager.keys))
        self.assertEqual(b'first-value', secret.reveal())

        secret.update_value(b'second-value')
        with session.reader() as s:
            new_ref = s.get(models.Secret, secret.id).key_ref
        # The old entry is removed from the key manager.
        self.assertEqual([new_ref], list(self.manager.keys))
        self.assertEqual(b'second-value', secret_obj.Secret.get_by_uuid(
            secret.uuid).reveal())

        secret.destroy()
        self.assertEqual({}, self.manager.keys)
        self.assertRaises(exception.SecretNotFound, secret_obj.Secret.get,
                          ctx, 'bmc')

    def test_duplicate_leaves_no_orphan(self):
        for i in range(2):
            secret = secret_obj.Secret(self.context, project_id='project-a',
                                       user_id='user-a', name='bmc')
            if i:
                self.assertRaises(exception.Duplicate, secret.create,
                                  'abcdef')
            else:
                secret.create('abcdef')
        self.assertEqual(1, len(self.manager.keys))

    def test_fernet_rows_still_read_after_switching(self):
        self.config(backend='fernet', encryption_keys=keys(1),
                    group='secrets')
        secret = secret_obj.Secret(self.context, project_id='project-a',
                                   name='old')
        secret.create('kept-in-db')
        self.config(backend='castellan', group='secrets')
        self.assertEqual(b'kept-in-db', secret.reveal())
        secret.update_value('now-in-barbican')
        self.assertEqual('castellan', secret.backend)
        self.assertEqual(b'now-in-barbican', secret.reveal())
        self.assertEqual(1, len(self.manager.keys))
