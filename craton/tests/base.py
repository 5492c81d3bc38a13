# SPDX-License-Identifier: Apache-2.0
"""Base test cases: configuration, a database, policy and RPC reset."""

import fixtures
from oslo_config import fixture as config_fixture
import sqlalchemy as sa
import testtools

from craton.common import context
from craton.common import rpc
from craton import conf
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton import objects

objects.register_all()

_SCHEMA_SQL = None


class Database(fixtures.Fixture):
    """A fresh SQLite database file per test.

    A file rather than ``sqlite://``: an in-memory database is one shared
    connection, which fails when a test's threads (executor, pools) open
    transactions at the same time. The schema is built once per process from
    the models, saved as SQL and replayed into each new database, which is
    much faster than create_all.
    """

    def _setUp(self):
        global _SCHEMA_SQL
        path = self.useFixture(fixtures.TempDir()).join('craton.sqlite')
        conf.CONF.set_override('connection', 'sqlite:///' + path,
                               group='database')
        session.reset()
        engine = session.get_engine()
        if _SCHEMA_SQL is None:
            models.Base.metadata.create_all(engine)
            raw = engine.raw_connection()
            try:
                _SCHEMA_SQL = '\n'.join(raw.driver_connection.iterdump())
            finally:
                raw.close()
        else:
            raw = engine.raw_connection()
            try:
                raw.driver_connection.executescript(_SCHEMA_SQL)
            finally:
                raw.close()
        self.addCleanup(engine.dispose)
        self.engine = engine

    def count(self, model):
        with session.reader() as s:
            return s.execute(sa.select(sa.func.count()).select_from(
                model)).scalar()


class TestCase(testtools.TestCase):
    """Base for unit tests: isolated config, database and RPC."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(60, gentle=True))
        self.conf_fixture = self.useFixture(config_fixture.Config(conf.CONF))
        conf.CONF([], project='craton', default_config_files=[],
                  default_config_dirs=[])
        self.config(rpc_transport='local')
        self.config(auth_strategy='noauth', group='api')
        self.db = self.useFixture(Database())
        self.addCleanup(rpc.cleanup)
        self.context = context.RequestContext(
            project_id='project-a', user_id='user-a',
            roles=['admin', 'member', 'reader'])

    def config(self, **kwargs):
        self.conf_fixture.config(**kwargs)
