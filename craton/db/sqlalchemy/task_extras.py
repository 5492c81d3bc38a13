# SPDX-License-Identifier: Apache-2.0
"""Per-node sync records and uploaded source archives of tasks."""

import sqlalchemy as sa

from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session

UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024


def _task_id(s, task_uuid):
    return s.execute(sa.select(models.Task.id).where(
        models.Task.uuid == task_uuid)).scalar()


class TaskExtrasMixin:

    def set_task_node(self, task_uuid, node_id, hostname, status, image,
                      reason=None):
        """Record whether Swarm node ``node_id`` holds ``image`` of a task:
        ``status`` is ``synced`` or ``failed``, ``reason`` why it failed
        (insert or update; nothing when the task is gone). This is a node
        row, not the task's own status.
        """
        with session.writer() as s:
            task_id = _task_id(s, task_uuid)
            if task_id is None:
                return
            row = s.execute(sa.select(models.TaskNode).where(
                models.TaskNode.task_id == task_id,
                models.TaskNode.node_id == node_id)).scalars().first()
            if row is None:
                row = models.TaskNode(task_id=task_id, node_id=node_id)
                s.add(row)
            row.hostname = hostname
            row.status = status
            row.image = image
            row.reason = reason

    def list_task_nodes(self, task_uuid):
        """A task's ``models.TaskNode`` rows, by hostname (empty for an
        unknown task).
        """
        with session.reader() as s:
            return s.execute(
                sa.select(models.TaskNode).join(models.Task)
                .where(models.Task.uuid == task_uuid)
                .order_by(models.TaskNode.hostname)).scalars().all()

    def clear_task_nodes(self, task_uuid):
        """Forget where a task's image was (before a new image syncs);
        nothing happens for an unknown task.
        """
        with session.writer() as s:
            task_id = _task_id(s, task_uuid)
            s.execute(sa.delete(models.TaskNode).where(
                models.TaskNode.task_id == task_id))

    def put_task_upload(self, task_uuid, data):
        """Replace a task's uploaded source archive with ``data`` (bytes,
        stored in chunks of ``UPLOAD_CHUNK_BYTES``; ``b''`` forgets it).
        """
        with session.writer() as s:
            task_id = _task_id(s, task_uuid)
            s.execute(sa.delete(models.TaskUploadChunk).where(
                models.TaskUploadChunk.task_id == task_id))
            for offset in range(0, len(data), UPLOAD_CHUNK_BYTES):
                s.add(models.TaskUploadChunk(
                    task_id=task_id, offset=offset,
                    data=data[offset:offset + UPLOAD_CHUNK_BYTES]))

    def get_task_upload(self, task_uuid):
        """The uploaded source archive of a task as bytes, or None when
        there is none.
        """
        with session.reader() as s:
            rows = s.execute(
                sa.select(models.TaskUploadChunk.data)
                .join(models.Task)
                .where(models.Task.uuid == task_uuid)
                .order_by(models.TaskUploadChunk.offset)).scalars().all()
        return b''.join(rows) if rows else None
