# SPDX-License-Identifier: Apache-2.0
"""Alembic environment for Craton.

The connection comes from ``config.attributes['connection']`` (an Engine or
a Connection, as passed by :mod:`craton.db.migration`) when present, else
from ``sqlalchemy.url`` in the ini file, else from the engine of
:mod:`craton.db.sqlalchemy.session` (``[database] connection``).
"""

from logging.config import fileConfig

from alembic import context
import sqlalchemy as sa

from craton.db.sqlalchemy import models

config = context.config
target_metadata = models.Base.metadata

# Only the plain ``alembic`` CLI configures logging from the ini file;
# craton-dbsync uses oslo.log and must not have it replaced.
if config.config_file_name and config.attributes.get('configure_logger',
                                                      True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _configure(**kwargs):
    context.configure(target_metadata=target_metadata, compare_type=True,
                      **kwargs)


def run_migrations_offline():
    """Emit SQL to the script output instead of running it."""
    url = config.get_main_option('sqlalchemy.url')
    if not url:
        from craton import conf
        url = conf.CONF.database.connection
    _configure(url=url, literal_binds=True,
               render_as_batch=url.startswith('sqlite'))
    with context.begin_transaction():
        context.run_migrations()


def _run(connection):
    _configure(connection=connection,
               render_as_batch=connection.dialect.name == 'sqlite')
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run the migrations on a live connection."""
    connectable = config.attributes.get('connection')
    if connectable is None:
        url = config.get_main_option('sqlalchemy.url')
        if url:
            connectable = sa.create_engine(url)
        else:
            from craton.db.sqlalchemy import session
            connectable = session.get_engine()
    if isinstance(connectable, sa.engine.Connection):
        _run(connectable)
    else:
        with connectable.connect() as connection:
            _run(connection)
            # SQLAlchemy 2 connections autobegin; make sure the
            # migration's work is not rolled back on close.
            connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
