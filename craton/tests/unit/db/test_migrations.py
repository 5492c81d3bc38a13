# SPDX-License-Identifier: Apache-2.0
"""Migrations on SQLite: upgrade, version/stamp, models in sync, dbsync."""

import os
import subprocess
import sys

import fixtures
from oslo_db.sqlalchemy import engines
from oslo_db.sqlalchemy import test_migrations
import sqlalchemy as sa
import testtools

import craton
from craton.db import migration
from craton.db.sqlalchemy import models

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(craton.__file__)))


def head_revision():
    """The single head revision of the alembic scripts."""
    return migration.head()


class SqliteEngineMixin:
    """A fresh SQLite file database per test in ``self.engine``."""

    def setUp(self):
        super().setUp()
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'craton.sqlite')
        self.url = 'sqlite:///' + path
        self.engine = engines.create_engine(self.url, sqlite_fk=True)
        self.addCleanup(self.engine.dispose)


class TestModelsMigrationsSync(SqliteEngineMixin,
                               test_migrations.ModelsMigrationsSync,
                               testtools.TestCase):
    """Upgrading to head gives exactly the schema models.py declares."""

    def get_engine(self):
        return self.engine

    def get_metadata(self):
        return models.Base.metadata

    def db_sync(self, engine):
        migration.upgrade('head', engine=engine)


class TestMigrationApi(SqliteEngineMixin, testtools.TestCase):

    def version(self):
        return migration.version(engine=self.engine)

    def test_single_head(self):
        # get_current_head() raises if the scripts have several heads.
        self.assertEqual('2026_11_30_0006', migration.head())

    def test_version_before_and_after_upgrade(self):
        self.assertIsNone(self.version())
        migration.upgrade(engine=self.engine)
        self.assertEqual(head_revision(), self.version())
        tables = set(sa.inspect(self.engine).get_table_names())
        expected = set(models.Base.metadata.tables) | {'alembic_version'}
        self.assertEqual(expected, tables)

    def test_upgrade_twice_is_a_noop(self):
        migration.upgrade(engine=self.engine)
        migration.upgrade(engine=self.engine)
        self.assertEqual(head_revision(), self.version())

    def test_stamp(self):
        migration.stamp('head', engine=self.engine)
        self.assertEqual(head_revision(), self.version())
        migration.stamp('base', engine=self.engine)
        self.assertIsNone(self.version())

    def test_create_schema(self):
        migration.create_schema(engine=self.engine)
        self.assertEqual(head_revision(), self.version())
        self.assertIn('step_log_chunks',
                      sa.inspect(self.engine).get_table_names())

    def test_shared_roles_move_to_their_table(self):
        # A database of the previous revision, with foreign keys on: the
        # roles are copied over, and dropping the old column cascades to
        # nothing that references the task.
        migration.upgrade('2026_11_26_0002', engine=self.engine)
        with self.engine.begin() as conn:
            for i, roles in enumerate(('["Ops", "ops", "", "audit"]', None,
                                       '[]', 'not json')):
                conn.execute(sa.text(
                    "INSERT INTO tasks (uuid, project_id, name, source, "
                    "command, timeout, status, build_number, approval, "
                    "visibility, shared_roles) VALUES (:uuid, 'p', :name, "
                    "'{}', '[]', 5, 'ready', 1, 'approved', 'private', "
                    ":roles)"), {'uuid': 'u%d' % i, 'name': 't%d' % i,
                                 'roles': roles})
            first = conn.execute(sa.text(
                "SELECT id FROM tasks WHERE uuid = 'u0'")).scalar()
            conn.execute(sa.text(
                "INSERT INTO task_nodes (task_id, node_id, hostname, status, "
                "image) VALUES (:t, 'n1', 'h1', 'synced', 'i')"),
                {'t': first})
        migration.upgrade(engine=self.engine)
        with self.engine.begin() as conn:
            rows = conn.execute(sa.text(
                'SELECT task_id, role FROM task_shared_roles '
                'ORDER BY role')).all()
            nodes = conn.execute(sa.text(
                'SELECT count(*) FROM task_nodes')).scalar()
        self.assertEqual([(first, 'audit'), (first, 'ops')],
                         [tuple(r) for r in rows])
        self.assertEqual(1, nodes)
        columns = {c['name'] for c in
                   sa.inspect(self.engine).get_columns('tasks')}
        self.assertNotIn('shared_roles', columns)

    def test_reserved_word_columns(self):
        migration.upgrade(engine=self.engine)
        with self.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO jobs (uuid, project_id, status, host_count) "
                "VALUES ('j1', 'p', 'pending', 0)"))
            job_id = conn.execute(sa.text('SELECT id FROM jobs')).scalar()
            conn.execute(models.JobStep.__table__.insert().values(
                job_id=job_id, index=0, name='s', task_uuid='t', timeout=5,
                status='pending', log_bytes=0))
            step_id = conn.execute(
                sa.text('SELECT id FROM job_steps')).scalar()
            conn.execute(models.StepLogChunk.__table__.insert().values(
                job_step_id=step_id, offset=0, data=b'\x00log'))
            row = conn.execute(sa.select(models.StepLogChunk.__table__)).one()
        self.assertEqual((0, b'\x00log'), (row.offset, row.data))


def run_dbsync(config_file, *args):
    """Run ``python -m craton.cmd.dbsync`` in a subprocess."""
    return subprocess.run(
        [sys.executable, '-m', 'craton.cmd.dbsync',
         '--config-file', config_file] + list(args),
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def write_config(directory, connection, **database):
    """Write a craton.conf with ``[database] connection``; return its path."""
    path = os.path.join(directory, 'craton.conf')
    lines = ['[database]', 'connection = %s' % connection]
    lines += ['%s = %s' % item for item in database.items()]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


class TestDbsyncCommand(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def test_upgrade_then_version(self):
        conf_file = write_config(
            self.tmp, 'sqlite:///%s/craton.sqlite' % self.tmp)
        result = run_dbsync(conf_file, 'version')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('None', result.stdout.splitlines()[-1])
        result = run_dbsync(conf_file, 'upgrade')
        self.assertEqual(0, result.returncode, result.stderr)
        result = run_dbsync(conf_file, 'version')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(head_revision(), result.stdout.splitlines()[-1])
        result = run_dbsync(conf_file, 'stamp', 'base')
        self.assertEqual(0, result.returncode, result.stderr)
        result = run_dbsync(conf_file, 'version')
        self.assertEqual('None', result.stdout.splitlines()[-1])

    def test_unreachable_database_fails_clearly(self):
        conf_file = write_config(
            self.tmp, 'sqlite:///%s/missing/dir/craton.sqlite' % self.tmp,
            max_retries=1, retry_interval=0)
        result = run_dbsync(conf_file, 'upgrade')
        self.assertNotEqual(0, result.returncode)
        self.assertIn('craton-dbsync: cannot connect to the database',
                      result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    def test_unknown_revision_fails_clearly(self):
        conf_file = write_config(
            self.tmp, 'sqlite:///%s/craton.sqlite' % self.tmp)
        result = run_dbsync(conf_file, 'upgrade', '--revision', 'nope')
        self.assertNotEqual(0, result.returncode)
        self.assertIn("craton-dbsync: Can't locate revision", result.stderr)
