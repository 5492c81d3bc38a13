# SPDX-License-Identifier: Apache-2.0
"""Migrations on real MariaDB and PostgreSQL (CRATON_FUNCTIONAL=1).

Each test gets a throwaway database from dbfixtures; a server that cannot
be reached fails the test.
"""

import fixtures
from oslo_db.sqlalchemy import test_migrations
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
import testtools

from craton.db import migration
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton.tests.functional import dbfixtures
from craton.tests.unit.db import test_migrations as unit


HEAD = unit.head_revision()


class _MigrationsMixin(test_migrations.ModelsMigrationsSync):
    BACKEND = None

    def setUp(self):
        super().setUp()
        self.db = self.useFixture(dbfixtures.Database(self.BACKEND))

    def get_engine(self):
        return self.db.engine

    def get_metadata(self):
        return models.Base.metadata

    def db_sync(self, engine):
        migration.upgrade('head', engine=engine)

    def test_version_upgrade_stamp(self):
        engine = self.db.engine
        self.assertIsNone(migration.version(engine=engine))
        migration.upgrade(engine=engine)
        self.assertEqual(HEAD, migration.version(engine=engine))
        migration.stamp('base', engine=engine)
        self.assertIsNone(migration.version(engine=engine))
        migration.stamp('head', engine=engine)
        self.assertEqual(HEAD, migration.version(engine=engine))

    def test_large_rows_and_reserved_words(self):
        """Rows above MySQL's 64 KiB TEXT/BLOB limit round-trip intact."""
        migration.upgrade(engine=self.db.engine)
        jobs = models.Job.__table__
        steps = models.JobStep.__table__
        chunks = models.StepLogChunk.__table__
        inventory = [{'name': 'host-%05d' % i, 'ip': '127.0.0.1'}
                     for i in range(20000)]       # ~0.8 MB of JSON
        data = bytes(range(256)) * 4096            # 1 MiB, every byte value
        with self.db.engine.begin() as conn:
            job_id = conn.execute(jobs.insert().values(
                uuid='j1', project_id='p', status='pending', host_count=1,
                inventory=inventory)).inserted_primary_key[0]
            step_id = conn.execute(steps.insert().values(
                job_id=job_id, index=0, name='s', task_uuid='t', timeout=5,
                status='pending', log_bytes=len(data),
                result={'x': 'y' * 70000})).inserted_primary_key[0]
            conn.execute(chunks.insert().values(
                job_step_id=step_id, offset=0, data=data))
        with self.db.engine.connect() as conn:
            self.assertEqual(inventory, conn.execute(
                sa.select(jobs.c.inventory)).scalar())
            self.assertEqual(70000, len(conn.execute(
                sa.select(steps.c.result)).scalar()['x']))
            row = conn.execute(sa.select(chunks).where(
                chunks.c.offset == 0)).one()
        self.assertEqual(data, row.data)

    def test_fixture_schema_and_session(self):
        db = self.useFixture(dbfixtures.Database(
            self.BACKEND, schema=True, patch_session=True))
        # No engine given: the (patched) session engine is used.
        self.assertEqual(HEAD, migration.version())
        with session.writer() as ses:
            ses.add(models.Region(uuid='r1', project_id='p', name='r'))
        with db.engine.connect() as conn:
            self.assertEqual('r', conn.execute(
                sa.text('SELECT name FROM regions')).scalar())

    def test_dbsync_command(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        conf_file = unit.write_config(tmp, self.db.url)
        result = unit.run_dbsync(conf_file, 'upgrade')
        self.assertEqual(0, result.returncode, result.stderr)
        result = unit.run_dbsync(conf_file, 'version')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(HEAD, result.stdout.splitlines()[-1])
        tables = set(sa.inspect(self.db.engine).get_table_names())
        expected = set(models.Base.metadata.tables) | {'alembic_version'}
        self.assertEqual(expected, tables)


@dbfixtures.requires_functional
class TestMigrationsMySQL(_MigrationsMixin, testtools.TestCase):
    BACKEND = 'mysql'

    def test_mysql_table_options_and_types(self):
        migration.upgrade(engine=self.db.engine)
        inspector = sa.inspect(self.db.engine)
        for table in models.Base.metadata.tables:
            options = inspector.get_table_options(table)
            self.assertEqual('InnoDB', options['mysql_engine'], table)
            self.assertEqual('utf8mb4', options['mysql_default charset'],
                             table)
        types = {c['name']: c['type']
                 for c in inspector.get_columns('step_log_chunks')}
        self.assertIsInstance(types['data'], mysql.MEDIUMBLOB)
        types = {c['name']: c['type'] for c in inspector.get_columns('jobs')}
        self.assertIsInstance(types['inventory'], mysql.LONGTEXT)
        self.assertIsInstance(types['variables'], mysql.MEDIUMTEXT)


@dbfixtures.requires_functional
class TestMigrationsPostgreSQL(_MigrationsMixin, testtools.TestCase):
    BACKEND = 'postgresql'
