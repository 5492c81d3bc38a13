"""Transaction contexts (oslo.db enginefacade)."""

import threading

from oslo_db.sqlalchemy import enginefacade

_CONTEXT = threading.local()

context_manager = enginefacade.transaction_context()
context_manager.configure(sqlite_fk=True)


def reader():
    return context_manager.reader.using(_CONTEXT)


def writer():
    return context_manager.writer.using(_CONTEXT)


def get_engine():
    return context_manager.writer.get_engine()
