# SPDX-License-Identifier: Apache-2.0
"""Versioned oslo.messaging notifications of the audit trail and of jobs.

With ``[oslo_messaging_notifications] driver`` set, every recorded event
goes out once its transaction has committed, as
``craton.<resource_type>.<action>.end`` (outcome ``success``) or ``.error``
(``failure``); the conductor also announces ``craton.job.run.start``,
``craton.job.run.end|error`` and ``craton.step.finish.end|error``. The
publisher is ``craton-api.<host>`` or ``craton-conductor.<host>``
(``[DEFAULT] host``), and the payload the primitive of an
:class:`EventPayload`, a versioned object, as Nova and Ironic send theirs.

A notification is a copy of a fact already stored: one that cannot be sent
is logged and dropped, never fails the request or the job.
"""

import threading

from oslo_config import cfg
import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts
from oslo_log import log
from oslo_utils import timeutils
from oslo_utils import uuidutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields

from craton.common import audit_state
from craton.common import states
from craton import conf as craton_conf

LOG = log.getLogger(__name__)

API = 'craton-api'
CONDUCTOR = 'craton-conductor'
GROUP = 'oslo_messaging_notifications'

_NOTIFIERS = {}
_TRANSPORT = None
_LOCK = threading.Lock()


class NotificationObjectRegistry(ovo_base.VersionedObjectRegistry):
    """The registry of notification payloads."""


@NotificationObjectRegistry.register
class EventPayload(ovo_base.VersionedObject):
    """One fact of the audit trail (or of a job's run), as notified."""

    # Version 1.0: initial version
    VERSION = '1.0'
    OBJ_PROJECT_NAMESPACE = 'craton'
    OBJ_SERIAL_NAMESPACE = 'craton_object'

    fields = {
        'uuid': fields.UUIDField(),
        'time': fields.DateTimeField(),
        'project_id': fields.StringField(),
        'user_id': fields.StringField(nullable=True),
        'action': fields.StringField(),
        'resource_type': fields.StringField(),
        'resource_uuid': fields.StringField(nullable=True),
        'outcome': fields.StringField(),
        'detail': fields.DictOfNullableStringsField(nullable=True),
        'request_id': fields.StringField(nullable=True),
    }


def register_opts(conf):
    """Register oslo.messaging's ``[oslo_messaging_notifications]`` options
    (through its public option list, as a config generator reads them).
    """
    for group, opts in messaging_opts.list_opts():
        if group == GROUP:
            conf.register_opts(opts, group=group)


def enabled(conf=None):
    """Whether notifications are configured (a driver is set; ``noop``
    alone sends nothing).
    """
    conf = conf or craton_conf.CONF
    try:
        configured = conf.oslo_messaging_notifications.driver
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        # Not registered yet: oslo.messaging registers them only when a
        # transport or notifier is made.
        register_opts(conf)
        configured = conf.oslo_messaging_notifications.driver
    drivers = [d for d in configured or () if d and d != 'noop']
    return bool(drivers)


def transport(conf=None):
    """The notification transport (``[oslo_messaging_notifications]
    transport_url``, else ``[DEFAULT] transport_url``), made on first use.
    """
    global _TRANSPORT
    conf = conf or craton_conf.CONF
    with _LOCK:
        if _TRANSPORT is None:
            _TRANSPORT = messaging.get_notification_transport(conf)
        return _TRANSPORT


def _notifier(service, conf):
    with _LOCK:
        notifier = _NOTIFIERS.get(service)
    if notifier is None:
        notifier = messaging.Notifier(
            transport(conf), publisher_id='%s.%s' % (service, conf.host))
        with _LOCK:
            notifier = _NOTIFIERS.setdefault(service, notifier)
    return notifier


def cleanup():
    """Drop the notifiers and their transport (tests, reloads)."""
    global _TRANSPORT
    with _LOCK:
        if _TRANSPORT is not None:
            _TRANSPORT.cleanup()
        _TRANSPORT = None
        _NOTIFIERS.clear()


def _detail(detail):
    # The payload's detail holds short facts (a job, a step, a status):
    # each value as text.
    if not detail:
        return {}
    return {str(k): None if v is None else str(v) for k, v in detail.items()}


def send(service, event_type, values, error=False, conf=None):
    """Send ``values`` (the fields of :class:`EventPayload`) as
    ``event_type`` from ``service`` (:data:`API` or :data:`CONDUCTOR`), at
    priority ``error`` or ``info``. Does nothing unless :func:`enabled`;
    never raises.
    """
    conf = conf or craton_conf.CONF
    try:
        if not enabled(conf):
            return
        payload = EventPayload(**dict(values, detail=_detail(
            values.get('detail'))))
        ctxt = {'request_id': values.get('request_id'),
                'user_id': values.get('user_id'),
                'project_id': values.get('project_id')}
        notifier = _notifier(service, conf)
        emit = notifier.error if error else notifier.info
        emit(ctxt, event_type, payload.obj_to_primitive())
    except Exception:
        LOG.warning('Could not send notification %s', event_type,
                    exc_info=True)


def event_recorded(values, service):
    """Notify an event of the audit trail (``values``: the event row's
    fields) after its transaction committed.
    """
    failed = values.get('outcome') == audit_state.FAILURE
    send(service, audit_state.event_type(values['resource_type'],
                                   values['action'],
                                   'error' if failed else 'end'),
         values, error=failed)


def _job_values(job, outcome, detail):
    return {'uuid': uuidutils.generate_uuid(), 'time': timeutils.utcnow(),
            'project_id': job.project_id, 'user_id': job.user_id,
            'action': audit_state.RUN, 'resource_type': audit_state.JOB,
            'resource_uuid': job.uuid, 'outcome': outcome,
            'detail': detail, 'request_id': None}


def job_moved(job, started):
    """After the conductor wrote ``job``'s new status: ``craton.job.run.
    start`` when it ``started`` the job; once the job is final,
    ``craton.job.run.end`` (it succeeded) or ``.error`` (it failed, errored
    or was cancelled); nothing otherwise.
    """
    if started:
        send(CONDUCTOR, audit_state.event_type(audit_state.JOB,
                                               audit_state.RUN, 'start'),
             _job_values(job, audit_state.SUCCESS, {'status': job.status}))
        return
    if job.status not in states.JOB_FINAL:
        return
    ok = job.status == states.JOB_SUCCEEDED
    send(CONDUCTOR, audit_state.event_type(audit_state.JOB, audit_state.RUN,
                                     'end' if ok else 'error'),
         _job_values(job, audit_state.SUCCESS if ok else audit_state.FAILURE,
                     {'status': job.status,
                      'status_reason': job.status_reason}),
         error=not ok)


def step_finished(job, step):
    """``craton.step.finish.end`` (the step succeeded) or ``.error``, once
    ``step`` of ``job`` is final; nothing before.
    """
    if step.status not in states.STEP_FINAL:
        return
    ok = step.status == states.STEP_SUCCEEDED
    outcome = audit_state.SUCCESS if ok else audit_state.FAILURE
    values = _job_values(job, outcome, {
        'step': step.index, 'name': step.name, 'status': step.status,
        'exit_code': step.exit_code})
    values.update(action='finish', resource_type='step')
    send(CONDUCTOR, 'craton.step.finish.%s' % ('end' if ok else 'error'),
         values, error=not ok)
