# SPDX-License-Identifier: Apache-2.0
"""The SQLAlchemy implementation of Craton's database API.

The methods live in one mixin per concern; :class:`Connection` joins them.
Every method opens its own transaction through oslo.db's enginefacade, so a
caller never holds a session across calls; a call that finds the database
busy is retried, then raises DatabaseBusy (see :mod:`.session`).
"""

from craton.db.sqlalchemy import conductors
from craton.db.sqlalchemy import events
from craton.db.sqlalchemy import inventory
from craton.db.sqlalchemy import jobs
from craton.db.sqlalchemy import logs
from craton.db.sqlalchemy import secrets
from craton.db.sqlalchemy import session
from craton.db.sqlalchemy import task_extras
from craton.db.sqlalchemy import tasks
from craton.db.sqlalchemy import workflows


@session.retry_all_when_busy
class Connection(inventory.InventoryMixin, tasks.TaskMixin,
                 task_extras.TaskExtrasMixin, workflows.WorkflowMixin,
                 jobs.JobMixin, logs.LogMixin, conductors.ConductorMixin,
                 events.EventMixin, secrets.SecretMixin):
    """Craton's database API (one concrete implementation)."""
