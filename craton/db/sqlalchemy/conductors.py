# SPDX-License-Identifier: Apache-2.0
"""The conductors table: registration and heartbeats."""

import datetime

from oslo_utils import timeutils
import sqlalchemy as sa

from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session


class ConductorMixin:

    def register_conductor(self, hostname):
        """Mark ``hostname`` online with a fresh heartbeat (insert or
        update).

        :returns: the ``models.Conductor`` row.
        """
        now = timeutils.utcnow()
        with session.writer() as s:
            row = s.execute(sa.select(models.Conductor).where(
                models.Conductor.hostname == hostname)).scalars().first()
            if row is None:
                row = models.Conductor(hostname=hostname)
                s.add(row)
            row.online = True
            row.heartbeat_at = now
            s.flush()
            return row

    def touch_conductor(self, hostname):
        """Heartbeat: set ``hostname`` online, beating now.

        :returns: False when the conductor has no row (register it).
        """
        with session.writer() as s:
            res = s.execute(sa.update(models.Conductor)
                            .where(models.Conductor.hostname == hostname)
                            .values(heartbeat_at=timeutils.utcnow(),
                                    online=True)
                            .execution_options(synchronize_session=False))
            return res.rowcount == 1

    def unregister_conductor(self, hostname):
        """Mark ``hostname`` offline (a clean stop): others take over its
        claims at once, without waiting for its heartbeat to go stale.
        """
        with session.writer() as s:
            s.execute(sa.update(models.Conductor)
                      .where(models.Conductor.hostname == hostname)
                      .values(online=False)
                      .execution_options(synchronize_session=False))

    def list_dead_conductors(self, timeout):
        """Hostnames (a list of strings) whose heartbeat is older than
        ``timeout`` seconds or that went offline cleanly.
        """
        cutoff = timeutils.utcnow() - datetime.timedelta(seconds=timeout)
        with session.reader() as s:
            return s.execute(
                sa.select(models.Conductor.hostname)
                .where(sa.or_(models.Conductor.heartbeat_at < cutoff,
                              models.Conductor.online.is_(False)))
            ).scalars().all()
