# SPDX-License-Identifier: Apache-2.0
"""Throwaway MariaDB / PostgreSQL databases for functional tests.

    db = self.useFixture(dbfixtures.Database('mysql', schema=True,
                                             patch_session=True))
    db.url, db.engine        # the fresh database craton_test_<random>

Server URLs come from CRATON_TEST_MYSQL_URL (default
``mysql+pymysql://craton:craton@127.0.0.1/``) and CRATON_TEST_PGSQL_URL
(default ``postgresql+psycopg2://craton:craton@127.0.0.1/``); the user needs
the right to create databases. The database is dropped on cleanup. A server
that cannot be reached raises :class:`DatabaseUnavailable` (a test failure,
not a skip: functional tests are only collected when asked for).
"""

import os
import time
import unittest
import uuid

import fixtures
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import engines
from oslo_db.sqlalchemy import orm
import sqlalchemy as sa

BACKENDS = {
    'mysql': ('CRATON_TEST_MYSQL_URL',
              'mysql+pymysql://craton:craton@127.0.0.1/'),
    'postgresql': ('CRATON_TEST_PGSQL_URL',
                   'postgresql+psycopg2://craton:craton@127.0.0.1/'),
}


def functional_enabled():
    """True when the functional tests were asked for (CRATON_FUNCTIONAL)."""
    return bool(os.environ.get('CRATON_FUNCTIONAL'))


requires_functional = unittest.skipUnless(
    functional_enabled(), 'set CRATON_FUNCTIONAL=1 to run functional tests')


class DatabaseUnavailable(Exception):
    """The database server of a backend cannot be reached or used."""


def server_url(backend):
    """The server URL (no database) configured for ``backend``."""
    env, default = BACKENDS[backend]
    return sa.engine.make_url(os.environ.get(env) or default)


def _admin_engine(backend):
    url = server_url(backend)
    url = url.set(database='postgres' if backend == 'postgresql' else None)
    return sa.create_engine(url, isolation_level='AUTOCOMMIT',
                            poolclass=sa.pool.NullPool)


def _quote(engine, name):
    return engine.dialect.identifier_preparer.quote_identifier(name)


class Database(fixtures.Fixture):
    """A new, empty database on ``backend`` ('mysql' or 'postgresql').

    :param schema: upgrade the new database to the latest revision.
    :param patch_session: make ``session.context_manager`` (the one in
        place at setUp; ``session.reset()`` drops the patch) use it.
    Attributes: ``name``, ``url`` (a string, password included) and
    ``engine`` (an oslo.db engine).
    """

    def __init__(self, backend, schema=False, patch_session=False):
        super().__init__()
        self.backend = backend
        self.schema = schema
        self.patch_session = patch_session

    def _setUp(self):
        self.name = 'craton_test_' + uuid.uuid4().hex[:12]
        admin = _admin_engine(self.backend)
        self.addCleanup(admin.dispose)
        create = 'CREATE DATABASE ' + _quote(admin, self.name)
        if self.backend == 'mysql':
            create += ' CHARACTER SET utf8mb4'
        else:
            # Nobody connects to template0, so creating never fails with
            # "template1 is being accessed by other users".
            create += ' TEMPLATE template0'
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(create)
        except sa.exc.DBAPIError as e:
            raise DatabaseUnavailable(
                'cannot create a database on %s: %s' % (
                    admin.url.render_as_string(hide_password=True), e))
        self.addCleanup(self._drop, admin)
        self.url = admin.url.set(database=self.name).render_as_string(
            hide_password=False)
        self.engine = engines.create_engine(
            self.url, mysql_sql_mode='TRADITIONAL', max_retries=1,
            retry_interval=0)
        self.addCleanup(self.engine.dispose)
        if self.patch_session:
            self._patch_session()
        if self.schema:
            from craton.db import migration
            migration.upgrade('head', engine=self.engine)

    def _patch_session(self):
        from craton.db.sqlalchemy import session
        manager = session.context_manager
        factory = enginefacade._TestTransactionFactory(
            self.engine, orm.get_maker(engine=self.engine),
            apply_global=False, from_factory=manager._factory)
        self.addCleanup(manager.patch_factory(factory))

    def _drop(self, admin):
        drop = 'DROP DATABASE IF EXISTS ' + _quote(admin, self.name)
        with admin.connect() as conn:
            for attempt in range(10):
                if self.backend == 'postgresql':
                    # Only our own sessions: an autovacuum worker may be in
                    # the database too, and DROP DATABASE ends it itself.
                    conn.execute(sa.text(
                        'SELECT pg_terminate_backend(pid) '
                        'FROM pg_stat_activity WHERE datname = :name '
                        'AND usename = current_user '
                        'AND pid <> pg_backend_pid()'), {'name': self.name})
                try:
                    conn.exec_driver_sql(drop)
                    return
                except sa.exc.OperationalError:
                    if attempt == 9:
                        raise
                    time.sleep(0.5)
