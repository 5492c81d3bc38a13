"""Transaction contexts (oslo.db enginefacade)."""

import threading

from oslo_db.sqlalchemy import enginefacade
import sqlalchemy as sa

_CONTEXT = threading.local()

# SQLite (the embedded default) serves the API, the builds and the step
# log writers of craton-all at once: WAL lets readers go on while one
# writes, and the busy timeout makes a writer wait for another instead of
# failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30000


@sa.event.listens_for(sa.engine.Engine, 'connect')
def _sqlite_pragmas(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith('sqlite3'):
        cursor = dbapi_connection.cursor()
        cursor.execute('PRAGMA busy_timeout = %d' % SQLITE_BUSY_TIMEOUT_MS)
        cursor.execute('PRAGMA journal_mode = WAL')
        cursor.close()



def _new_context_manager():
    manager = enginefacade.transaction_context()
    manager.configure(sqlite_fk=True)
    return manager


context_manager = _new_context_manager()


def reset():
    """Forget the engine so the next use reads ``[database]`` again
    (tests that switch databases).
    """
    global context_manager
    context_manager = _new_context_manager()


def reader():
    return context_manager.reader.using(_CONTEXT)


def writer():
    return context_manager.writer.using(_CONTEXT)


def get_engine():
    return context_manager.writer.get_engine()
