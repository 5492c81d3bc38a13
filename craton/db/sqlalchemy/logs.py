# SPDX-License-Identifier: Apache-2.0
"""Step logs, stored in chunks as they stream."""

import sqlalchemy as sa

from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session


class LogMixin:

    def append_step_log(self, step_id, offset, data, truncated=False):
        """Store ``data`` as the bytes of a step's log starting at ``offset``.

        The write happens only if ``offset`` is where the stored log ends, so
        a chunk is never stored twice or out of order, even by two writers.
        ``truncated``: this chunk ends the log of a step cut at its size
        cap; the step's ``log_truncated`` is set in the same transaction.
        Returns True if stored.
        """
        values = {'log_bytes': offset + len(data)}
        if truncated:
            values['log_truncated'] = True
        with session.writer() as s:
            res = s.execute(
                sa.update(models.JobStep)
                .where(models.JobStep.id == step_id,
                       models.JobStep.log_bytes == offset)
                .values(**values)
                .execution_options(synchronize_session=False))
            if res.rowcount != 1:
                return False
            s.add(models.StepLogChunk(job_step_id=step_id, offset=offset,
                                      data=data))
            return True

    def get_step_log(self, step_id, offset, max_bytes):
        """Return up to ``max_bytes`` of a step's log from byte ``offset``."""
        with session.reader() as s:
            # The chunk holding ``offset`` starts at or before it.
            start = s.execute(
                sa.select(sa.func.max(models.StepLogChunk.offset))
                .where(models.StepLogChunk.job_step_id == step_id,
                       models.StepLogChunk.offset <= offset)).scalar()
            if start is None:
                start = 0
            rows = s.execute(
                sa.select(models.StepLogChunk.offset,
                          models.StepLogChunk.data)
                .where(models.StepLogChunk.job_step_id == step_id,
                       models.StepLogChunk.offset >= start,
                       models.StepLogChunk.offset < offset + max_bytes)
                .order_by(models.StepLogChunk.offset)).all()
        out = bytearray()
        for chunk_offset, data in rows:
            skip = max(0, offset - chunk_offset)
            out += data[skip:]
            if len(out) >= max_bytes:
                break
        return bytes(out[:max_bytes])
