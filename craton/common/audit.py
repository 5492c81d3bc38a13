# SPDX-License-Identifier: Apache-2.0
"""Recording an event of the audit trail from code of the service.

Writes through the API are recorded by the API itself, in the transaction
of the change (:mod:`craton.api.audit`). :func:`record` is for the facts
the service knows of on its own, such as the conductor handing a secret
to a step::

    audit.record(audit.READ, audit.SECRET, secret_uuid, secret.project_id,
                 job.user_id, detail={'job': job.uuid, 'step': step.index})

The names of actions, resource types and outcomes are those of
:mod:`craton.common.audit_state`, repeated here for callers.
"""

from craton.common import audit_state
from craton.db import api as db_api

ACTIONS = audit_state.ACTIONS
RESOURCE_TYPES = audit_state.RESOURCE_TYPES
CREATE, UPDATE, DELETE = (audit_state.CREATE, audit_state.UPDATE,
                          audit_state.DELETE)
APPROVE, REJECT, RUN = (audit_state.APPROVE, audit_state.REJECT,
                        audit_state.RUN)
CANCEL, READ = audit_state.CANCEL, audit_state.READ
TASK, WORKFLOW, JOB = (audit_state.TASK, audit_state.WORKFLOW,
                       audit_state.JOB)
HOST, REGION, CELL = audit_state.HOST, audit_state.REGION, audit_state.CELL
SECRET = audit_state.SECRET
SUCCESS, FAILURE = audit_state.SUCCESS, audit_state.FAILURE


def record(action, resource_type, resource_uuid, project_id, user_id,
           detail=None, outcome=SUCCESS, request_id=None):
    """Write one event of the audit trail, as the conductor.

    It goes into the caller's open writer transaction if there is one
    (``craton.db.sqlalchemy.session.writer()`` blocks nest: the event then
    commits or rolls back with the caller's change), else into a
    transaction of its own. Once that transaction has committed, the event
    is also sent as the notification ``craton.<resource_type>.<action>.end``
    (``.error`` for a failure) from ``craton-conductor.<host>`` when
    notifications are configured.

    :param action: one of :data:`ACTIONS` (``read`` for a secret handed
        to a step).
    :param resource_type: one of :data:`RESOURCE_TYPES`.
    :param resource_uuid: the resource's UUID, or None.
    :param project_id: the project of the resource (not of the caller).
    :param user_id: who acted (for a job's step: the job's submitter);
        None for the service itself.
    :param detail: a small JSON object of facts, e.g. ``{"job": uuid,
        "step": index}``; never a secret value nor a request body.
    :param outcome: :data:`SUCCESS` or :data:`FAILURE`.
    :param request_id: the request it belongs to, if any.
    :returns: the event's columns as a dict (``uuid``, ``time``, ...).
    :raises ValueError: an unknown action, resource type or outcome.
    """
    return db_api.get_instance().record_event(
        action, resource_type, resource_uuid, project_id, user_id,
        detail=detail, outcome=outcome, request_id=request_id)
