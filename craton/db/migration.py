# SPDX-License-Identifier: Apache-2.0
"""Database schema management (alembic) for Craton.

Every function works on the engine given, or by default on the engine of
:mod:`craton.db.sqlalchemy.session`, which is built from
``[database] connection`` when first used (never at import time).
SQLite, MariaDB/MySQL and PostgreSQL are supported.
"""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

_INI = os.path.join(os.path.dirname(__file__), 'sqlalchemy', 'alembic.ini')


def _config():
    config = alembic_config.Config(_INI)
    config.attributes['configure_logger'] = False
    return config


def _engine(engine):
    if engine is None:
        from craton.db.sqlalchemy import session
        engine = session.get_engine()
    return engine


def _run(func, engine, *args):
    """Run an alembic command with its own connection to ``engine``."""
    config = _config()
    with _engine(engine).begin() as connection:
        config.attributes['connection'] = connection
        func(config, *args)


def upgrade(revision='head', engine=None):
    """Upgrade the schema to ``revision`` (default: the latest)."""
    _run(command.upgrade, engine, revision or 'head')


def stamp(revision, engine=None):
    """Record ``revision`` as the schema version without running anything."""
    _run(command.stamp, engine, revision)


def version(engine=None):
    """Return the schema revision of the database, or None if unversioned."""
    with _engine(engine).connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        return context.get_current_revision()


def head():
    """Return the latest revision of the migration scripts."""
    scripts = alembic_script.ScriptDirectory.from_config(_config())
    return scripts.get_current_head()


def create_schema(engine=None):
    """Create the schema from the models and stamp it as the latest revision.

    Faster than :func:`upgrade` on a fresh database; meant for tests.
    """
    from craton.db.sqlalchemy import models
    engine = _engine(engine)
    models.Base.metadata.create_all(engine)
    stamp('head', engine=engine)
