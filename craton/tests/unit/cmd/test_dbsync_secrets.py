# SPDX-License-Identifier: Apache-2.0
"""``craton-dbsync secrets-rotate`` as an operator runs it (a process)."""

from cryptography import fernet
import fixtures
import testtools

from craton.tests.unit.db import test_migrations


class TestSecretsRotateCommand(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def config(self, keys):
        path = test_migrations.write_config(
            self.tmp, 'sqlite:///%s/craton.sqlite' % self.tmp)
        with open(path, 'a') as f:
            f.write('[secrets]\nencryption_keys = %s\n' % ','.join(keys))
        return path

    def test_rotate_an_empty_database(self):
        # A test-only key.
        conf_file = self.config([fernet.Fernet.generate_key().decode()])
        result = test_migrations.run_dbsync(conf_file, 'upgrade')
        self.assertEqual(0, result.returncode, result.stderr)
        for _ in range(2):
            result = test_migrations.run_dbsync(conf_file, 'secrets-rotate')
            self.assertEqual(0, result.returncode, result.stderr)
            self.assertIn('Re-encrypted 0 of 0 secrets', result.stdout)

    def test_without_a_key_fails_naming_the_option(self):
        conf_file = self.config([])
        test_migrations.run_dbsync(conf_file, 'upgrade')
        result = test_migrations.run_dbsync(conf_file, 'secrets-rotate')
        self.assertEqual(1, result.returncode)
        self.assertIn('[secrets] encryption_keys', result.stderr)
        self.assertNotIn('Traceback', result.stderr)
