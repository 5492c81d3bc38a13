# SPDX-License-Identifier: Apache-2.0
"""Entry point to the database layer.

There is one implementation (SQLAlchemy); callers get it from
:func:`get_instance`, which builds it on first use, never at import time.
"""

_IMPL = None


def get_instance():
    """Return the database API object."""
    global _IMPL
    if _IMPL is None:
        from craton.db.sqlalchemy import api as sqla_api
        _IMPL = sqla_api.Connection()
    return _IMPL
