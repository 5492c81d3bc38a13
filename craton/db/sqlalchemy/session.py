"""Transaction contexts (oslo.db enginefacade)."""

import threading

from oslo_db.sqlalchemy import enginefacade

_CONTEXT = threading.local()



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
