# SPDX-License-Identifier: Apache-2.0
"""Policy in code: the rules, the enforcer and the check the API makes.

The enforcer is built on first use from the configuration of that moment
(never at import time); :func:`reset` drops it (tests, reloads).
"""

import itertools
import threading

from oslo_policy import policy

from craton.common import exception
from craton.common.policy import events
from craton.common.policy import inventory
from craton.common.policy import jobs
from craton.common.policy import secrets
from craton.common.policy import tasks
from craton.common.policy import workflows
from craton import conf as craton_conf

_ENFORCER = None
_LOCK = threading.Lock()


def list_rules():
    """Every default rule (entry point ``oslo.policy.policies``)."""
    return list(itertools.chain(tasks.list_rules(), workflows.list_rules(),
                                jobs.list_rules(), inventory.list_rules(),
                                events.list_rules(),
                                secrets.list_rules()))


def get_enforcer(conf=None):
    """The enforcer (entry point ``oslo.policy.enforcer``)."""
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is None:
            if conf is None:
                conf = craton_conf.CONF
            enforcer = policy.Enforcer(conf)
            enforcer.register_defaults(list_rules())
            _ENFORCER = enforcer
        return _ENFORCER


def reset():
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is not None:
            _ENFORCER.clear()
        _ENFORCER = None


def authorize(rule, context, target=None):
    """Raise Forbidden (403) unless ``context`` may do ``rule`` on
    ``target`` (a dict with at least ``project_id``; by default the
    caller's own project).
    """
    if target is None:
        target = {'project_id': context.project_id}
    try:
        return get_enforcer().authorize(rule, target, context,
                                        do_raise=True,
                                        exc=exception.Forbidden,
                                        action=rule)
    except policy.InvalidScope:
        raise exception.Forbidden(action=rule)


def check(rule, context, target=None):
    """Whether ``context`` may do ``rule`` on ``target`` (as
    :func:`authorize`), without raising: for rules that widen what a
    caller sees rather than allow an action.
    """
    try:
        authorize(rule, context, target)
    except exception.Forbidden:
        return False
    return True
