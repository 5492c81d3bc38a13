# SPDX-License-Identifier: Apache-2.0
"""The Secret object: metadata only, reveal() and key rotation."""

import io
from unittest import mock

from cryptography import fernet

from craton.cmd import dbsync
from craton.common import context
from craton.common import exception
from craton.db import api as db_api
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton.objects import secret as secret_obj
from craton.tests import base


def keys(n):
    """``n`` test-only Fernet keys."""
    return [fernet.Fernet.generate_key().decode() for _ in range(n)]


class SecretObjectTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.keys = keys(2)
        self.config(encryption_keys=self.keys[:1], group='secrets')

    def make(self, name='cloud-admin', value='value-of-the-secret',
             project='project-a'):
        ctx = context.RequestContext(project_id=project, user_id='u')
        secret = secret_obj.Secret(ctx, project_id=project, user_id='u',
                                   name=name, description='d')
        secret.create(value)
        return secret

    def tokens(self):
        with session.reader() as s:
            return {r.name: r.ciphertext
                    for r in s.query(models.Secret).all()}

    def test_value_is_no_field_and_not_in_repr(self):
        secret = self.make()
        self.assertNotIn('value', secret.fields)
        self.assertNotIn('ciphertext', secret.fields)
        self.assertNotIn('key_ref', secret.fields)
        self.assertNotIn('value-of-the-secret', repr(secret))
        self.assertNotIn('value-of-the-secret', str(secret.obj_to_primitive()))
        self.assertNotIn(self.tokens()['cloud-admin'].decode(), repr(secret))

    def test_get_scoped_get_by_uuid_not(self):
        secret = self.make()
        other = context.RequestContext(project_id='project-b', user_id='u')
        for ident in ('cloud-admin', secret.uuid):
            self.assertEqual(secret.uuid, secret_obj.Secret.get(
                self.context, ident).uuid)
            self.assertRaises(exception.SecretNotFound,
                              secret_obj.Secret.get, other, ident)
        found = secret_obj.Secret.get_by_uuid(secret.uuid)
        self.assertEqual(('cloud-admin', 'project-a', 'fernet'),
                         (found.name, found.project_id, found.backend))
        self.assertEqual(b'value-of-the-secret', found.reveal())
        error = self.assertRaises(exception.SecretNotFound,
                                  secret_obj.Secret.get_by_uuid,
                                  '6f1b6f1b-6f1b-4f1b-8f1b-6f1b6f1b6f1b')
        self.assertEqual(404, error.code)

    def test_reveal_reads_the_current_value(self):
        secret = self.make()
        loaded = secret_obj.Secret.get_by_uuid(secret.uuid)
        secret.update_value('the-new-value')
        self.assertEqual(b'the-new-value', loaded.reveal())
        secret.destroy()
        self.assertRaises(exception.SecretNotFound, loaded.reveal)

    def test_save_changes_metadata_only(self):
        secret = self.make()
        token = self.tokens()['cloud-admin']
        secret.description = 'new'
        secret.save()
        self.assertEqual('new', secret_obj.Secret.get(
            self.context, 'cloud-admin').description)
        self.assertEqual(token, self.tokens()['cloud-admin'])

    def test_list(self):
        for name in ('b', 'a', 'c'):
            self.make(name)
        self.make('z', project='project-b')
        self.assertEqual(['a', 'b', 'c'], [s.name for s in
                                           secret_obj.Secret.list(
                                               self.context,
                                               sort_key='name')])
        self.assertEqual(['b'], [s.name for s in secret_obj.Secret.list(
            self.context, {'name': 'b'})])

    def test_rotate_keys(self):
        for i in range(5):
            self.make('s%d' % i, 'value-%d' % i)
        self.make('other', 'value-o', project='project-b')
        before = self.tokens()
        self.config(encryption_keys=self.keys[::-1], group='secrets')
        self.assertEqual((6, 6), secret_obj.Secret.rotate_keys(batch=2))
        after = self.tokens()
        self.assertFalse(set(before.values()) & set(after.values()))
        # Idempotent: nothing left to do.
        self.assertEqual((0, 6), secret_obj.Secret.rotate_keys(batch=2))
        self.assertEqual(after, self.tokens())
        # The old key can go.
        self.config(encryption_keys=self.keys[1:], group='secrets')
        for i in range(5):
            self.assertEqual(('value-%d' % i).encode(), secret_obj.Secret.get(
                self.context, 's%d' % i).reveal())

    def test_rotate_keeps_updated_at_and_skips_replaced_values(self):
        secret = self.make()
        stamp = secret_obj.Secret.get_by_uuid(secret.uuid).updated_at
        self.config(encryption_keys=self.keys[::-1], group='secrets')
        dbapi = db_api.get_instance()
        real = dbapi.replace_secret_token

        def replaced_meanwhile(secret_id, old, new):
            secret.update_value('replaced-meanwhile')
            return real(secret_id, old, new)

        with mock.patch.object(dbapi, 'replace_secret_token',
                               side_effect=replaced_meanwhile):
            self.assertEqual((0, 1), secret_obj.Secret.rotate_keys())
        self.assertEqual(b'replaced-meanwhile', secret.reveal())
        stamp = secret_obj.Secret.get_by_uuid(secret.uuid).updated_at
        self.config(encryption_keys=self.keys, group='secrets')
        self.assertEqual((1, 1), secret_obj.Secret.rotate_keys())
        self.assertEqual(stamp, secret_obj.Secret.get_by_uuid(
            secret.uuid).updated_at)

    def test_rotate_without_key(self):
        self.make()
        self.config(encryption_keys=[], group='secrets')
        self.assertRaises(exception.SecretStoreUnavailable,
                          secret_obj.Secret.rotate_keys)

    def test_dbsync_secrets_rotate_prints_the_count(self):
        self.make('a')
        self.make('b')
        self.config(encryption_keys=self.keys[::-1], group='secrets')
        for expected in ('Re-encrypted 2 of 2', 'Re-encrypted 0 of 2'):
            with mock.patch('sys.stdout', new_callable=io.StringIO) as out:
                dbsync._secrets_rotate()
            self.assertIn(expected, out.getvalue())
