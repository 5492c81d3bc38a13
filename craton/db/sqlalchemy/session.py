# SPDX-License-Identifier: Apache-2.0
"""Transaction contexts (oslo.db enginefacade), and writers on SQLite.

SQLite (the embedded default) serves craton-all's API, builds and step
log writers at once, from several threads, on one file. WAL lets readers
go on while one connection writes, and only one connection writes at a
time. Four rules keep writers from colliding:

* Writer transactions of one process take turns on a lock of the
  process before they begin: a writer that waits is woken the moment
  the previous one committed. (Left to SQLite, a writer that finds the
  file locked sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries — its
  default busy handler — and measured in craton-all with four jobs
  running, a freed worker waited up to 80 ms to claim the next job.)
* A writer transaction takes the write lock when it starts
  (``BEGIN IMMEDIATE``), waiting for it up to ``[database]
  sqlite_busy_timeout`` (another process, e.g. craton-api beside a
  conductor, still meets SQLite's own wait). With oslo.db's plain
  (deferred) ``BEGIN``, a transaction that reads first and writes later
  is refused at once with "database is locked" when another connection
  writes meanwhile: SQLite cannot wait for the lock there, as the
  reader's snapshot would be stale once the other writer commits.
  Readers keep the deferred ``BEGIN``, so they never wait for writers.
* Each call of the DB API is retried (oslo.db's ``wrap_db_retry``) when
  the database is still busy, as long as none of its transactions has
  committed.
* A call that still finds the database busy raises
  :class:`~craton.common.exception.DatabaseBusy` (503 with
  ``Retry-After`` in the API), never a bare database error.
"""

import contextlib
import functools
import math
import sqlite3
import threading

from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
import sqlalchemy as sa

from craton.common import exception
from craton import conf
from craton.db.sqlalchemy import trail

_CONTEXT = threading.local()

# Per thread: ``depth`` of nested transaction blocks, whether the current
# one is a ``writer``, and how many writer transactions ``commits`` (to
# tell whether a failed call may be run again).
_STATE = threading.local()

# Retries of a call that found the database busy: seconds before the
# first retry, doubled (with jitter) up to the maximum.
BUSY_MAX_RETRIES = 3
BUSY_RETRY_INTERVAL = 0.2
BUSY_MAX_RETRY_INTERVAL = 2.0

_SQLITE_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


@sa.event.listens_for(sa.engine.Engine, 'connect')
def _sqlite_pragmas(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith('sqlite3'):
        cursor = dbapi_connection.cursor()
        cursor.execute('PRAGMA busy_timeout = %d' % (
            conf.CONF.database.sqlite_busy_timeout * 1000))
        cursor.execute('PRAGMA journal_mode = WAL')
        cursor.close()


def _begin_immediate_for_writers(engine):
    """On SQLite, start writer transactions with ``BEGIN IMMEDIATE``.

    oslo.db turns pysqlite's own BEGIN off and emits a plain ``BEGIN`` in
    the engine's ``begin`` event (SQLAlchemy's pysqlite recipe); in a
    writer block this makes it ``BEGIN IMMEDIATE``. (A ``begin`` listener
    of our own would come after oslo.db's, added to the engine before
    this hook runs, and SQLAlchemy 2.1 ignores ``insert=True`` there.)
    """
    if engine.dialect.name != 'sqlite':
        return

    @sa.event.listens_for(engine, 'before_cursor_execute', retval=True)
    def _immediate(conn, cursor, statement, parameters, context,
                   executemany):
        if statement == 'BEGIN' and getattr(_STATE, 'writing', False):
            statement = 'BEGIN IMMEDIATE'
        return statement, parameters


# Per SQLite engine, one connection that stays open (see _keep_wal_open).
_KEEPERS = {}


def _keep_wal_open(engine):
    """On a SQLite file, keep one connection open for the engine's life.

    oslo.db gives SQLite file databases a NullPool: every transaction opens
    a connection and closes it. When the last connection to a WAL database
    closes, SQLite checkpoints the whole log into the database and deletes
    it, and the next transaction starts it again (measured: most of a
    step's database time in craton-all). A connection that stays open, and
    is never used, keeps the log and its index between transactions;
    checkpoints then happen as SQLite's automatic ones do, every 1,000
    pages. (SQLite, "Write-Ahead Logging": the WAL file is removed when the
    last connection closes.)
    """
    if engine.dialect.name != 'sqlite' or \
            engine.url.database in (None, '', ':memory:'):
        return
    _KEEPERS[engine] = engine.raw_connection()


# Per process, the turn of SQLite writer transactions (see the module's
# docstring); None until the first writer, False when not SQLite.
_WRITE_TURN = {'lock': None}
# Makes that turn once: writers that come at once must share it.
_WRITE_TURN_MADE = threading.Lock()


def _write_turn():
    """The process's SQLite writer lock, or None on another database."""
    turn = _WRITE_TURN['lock']
    if turn is None:
        sqlite = get_engine().dialect.name == 'sqlite'
        with _WRITE_TURN_MADE:
            if _WRITE_TURN['lock'] is None:
                _WRITE_TURN['lock'] = threading.Lock() if sqlite else False
            turn = _WRITE_TURN['lock']
    return turn or None


@contextlib.contextmanager
def _writer_turn():
    turn = _write_turn()
    if turn is None:
        yield
        return
    if not turn.acquire(timeout=conf.CONF.database.sqlite_busy_timeout):
        raise exception.DatabaseBusy(retry_after=retry_after())
    try:
        yield
    finally:
        turn.release()


def _new_context_manager():
    manager = enginefacade.transaction_context()
    manager.configure(sqlite_fk=True)
    manager.append_on_engine_create(_begin_immediate_for_writers)
    manager.append_on_engine_create(_keep_wal_open)
    return manager


context_manager = _new_context_manager()


def reset():
    """Forget the engine so the next use reads ``[database]`` again
    (tests that switch databases).
    """
    global context_manager
    for keeper in list(_KEEPERS.values()):
        keeper.close()
    _KEEPERS.clear()
    _WRITE_TURN['lock'] = None
    context_manager = _new_context_manager()


@contextlib.contextmanager
def _transaction(mode, writing):
    outer_writing = getattr(_STATE, 'writing', False)
    outermost = writing and not outer_writing
    _STATE.depth = getattr(_STATE, 'depth', 0) + 1
    _STATE.writing = outer_writing or writing
    written = None
    try:
        with contextlib.ExitStack() as turn:
            if outermost:
                turn.enter_context(_writer_turn())
            with mode.using(_CONTEXT) as s:
                try:
                    yield s
                    if outermost:
                        # The audit trail's event goes into the transaction
                        # of the change it records
                        # (craton.db.sqlalchemy.trail).
                        written = trail.before_commit(s)
                except BaseException:
                    if outermost:
                        trail.forget(s)
                    raise
    finally:
        _STATE.depth -= 1
        _STATE.writing = outer_writing
    if outermost:
        # The outermost writer block left without an error: committed.
        _STATE.commits = getattr(_STATE, 'commits', 0) + 1
        trail.after_commit(written)


def reader():
    """A read transaction (joins the caller's transaction, if any)."""
    return _transaction(context_manager.reader, False)


def writer():
    """A write transaction (joins the caller's writer, if any)."""
    return _transaction(context_manager.writer, True)


def get_engine():
    """The SQLAlchemy engine of ``[database] connection`` (built on first
    use).
    """
    return context_manager.writer.get_engine()


def is_busy(exc):
    """True if ``exc`` says the database was busy with another writer:
    SQLite's SQLITE_BUSY or SQLITE_LOCKED ("database is locked"), or a
    deadlock oslo.db recognised on MySQL or PostgreSQL.
    """
    if isinstance(exc, (db_exc.DBDeadlock, exception.DatabaseBusy)):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        exc = exc.orig
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, 'sqlite_errorcode', None)
    if code is not None:
        return code & 0xff in _SQLITE_BUSY_CODES
    return 'locked' in str(exc)


def retry_after():
    """Seconds a client should wait before trying a busy database again."""
    return max(1, math.ceil(conf.CONF.database.sqlite_busy_timeout))


def retry_when_busy(func):
    """Run ``func`` (one call of the DB API) again while the database is
    busy and nothing of it has committed yet.

    Inside a caller's transaction the call is not retried: only the whole
    transaction could start again.

    :raises DatabaseBusy: still busy after :data:`BUSY_MAX_RETRIES`
        retries, or busy after part of the call had committed.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if getattr(_STATE, 'depth', 0):
            return func(*args, **kwargs)
        commits = getattr(_STATE, 'commits', 0)

        def may_retry(exc):
            return is_busy(exc) and getattr(_STATE, 'commits', 0) == commits

        retrying = oslo_db_api.wrap_db_retry(
            max_retries=BUSY_MAX_RETRIES, retry_interval=BUSY_RETRY_INTERVAL,
            inc_retry_interval=True,
            max_retry_interval=BUSY_MAX_RETRY_INTERVAL, jitter=True,
            exception_checker=may_retry)(func)
        try:
            return retrying(*args, **kwargs)
        except Exception as exc:
            if is_busy(exc):
                raise exception.DatabaseBusy(
                    retry_after=retry_after()) from exc
            raise
    return wrapper


def retry_all_when_busy(cls):
    """Class decorator: :func:`retry_when_busy` on every public method."""
    for name in dir(cls):
        func = getattr(cls, name)
        if not name.startswith('_') and callable(func):
            setattr(cls, name, retry_when_busy(func))
    return cls
