# SPDX-License-Identifier: Apache-2.0
"""State machines of task builds, jobs and job steps, defined once.

:mod:`craton.common.states` names the states; this module says which moves
between them are allowed, with automaton machines built at import (they
depend on no configuration). Writers of a status ask here first, for
example ``job_next(job.status, fsm.JOB_FAIL)``, and then write the answer
with a conditional UPDATE expecting the state they started from, so a
refused move is a bug caught early and a lost race is seen as a failed
write rather than as a silently wrong status.

``tools/states-diagram.py`` draws these machines.
"""

from automaton import exceptions as automaton_exc
from automaton import machines

from craton.common import exception
from craton.common import states

# Task build events.
TASK_BUILD = 'build'          # a worker starts building the image
TASK_SYNC = 'sync'            # built; pushing to the registry / Swarm nodes
TASK_DONE = 'done'            # the image is everywhere it must be
TASK_FAIL = 'fail'            # the build, push or sync failed
TASK_REBUILD = 'rebuild'      # new source, a rebuild request, or recovery
TASK_DELETE = 'delete'

# Job events.
JOB_START = 'start'
JOB_SUCCEED = 'succeed'
JOB_FAIL = 'fail'             # a step failed, timed out or was lost
JOB_ERROR = 'error'           # the service could not run it
JOB_CANCEL = 'cancel'         # someone asked to cancel
JOB_CANCELLED = 'cancelled'   # the runner finished cancelling

# Step events.
STEP_START = 'start'
STEP_SUCCEED = 'succeed'
STEP_FAIL = 'fail'
STEP_TIME_OUT = 'time_out'
STEP_CANCEL = 'cancel'
STEP_LOSE = 'lose'
STEP_SKIP = 'skip'


def _machine(start, transitions, terminal):
    """Build and freeze a machine from ``{state: {event: next_state}}``."""
    machine = machines.FiniteMachine()
    names = set(transitions) | set(terminal)
    for moves in transitions.values():
        names.update(moves.values())
    for name in sorted(names):
        machine.add_state(name, terminal=name in terminal)
    for state, moves in transitions.items():
        for event, target in moves.items():
            machine.add_transition(state, target, event)
    machine.default_start_state = start
    machine.freeze()
    return machine


_TASK_REBUILDABLE = {TASK_REBUILD: states.TASK_PENDING,
                     TASK_DELETE: states.TASK_DELETING}

TASK_MACHINE = _machine(states.TASK_PENDING, {
    states.TASK_PENDING: dict(_TASK_REBUILDABLE, **{
        TASK_BUILD: states.TASK_BUILDING,
        # A source that cannot even be fetched fails before the build.
        TASK_FAIL: states.TASK_ERROR}),
    # Rebuild from building/syncing: a conductor that restarts (or takes
    # over) a build in flight starts it again from the top.
    states.TASK_BUILDING: dict(_TASK_REBUILDABLE, **{
        TASK_SYNC: states.TASK_SYNCING,
        TASK_DONE: states.TASK_READY,
        TASK_FAIL: states.TASK_ERROR}),
    states.TASK_SYNCING: dict(_TASK_REBUILDABLE, **{
        TASK_DONE: states.TASK_READY,
        TASK_FAIL: states.TASK_ERROR}),
    states.TASK_READY: dict(_TASK_REBUILDABLE),
    states.TASK_ERROR: dict(_TASK_REBUILDABLE),
}, terminal={states.TASK_DELETING})

JOB_MACHINE = _machine(states.JOB_PENDING, {
    states.JOB_PENDING: {
        JOB_START: states.JOB_RUNNING,
        JOB_CANCEL: states.JOB_CANCELLING,
        JOB_ERROR: states.JOB_ERROR},
    states.JOB_RUNNING: {
        JOB_SUCCEED: states.JOB_SUCCEEDED,
        JOB_FAIL: states.JOB_FAILED,
        JOB_ERROR: states.JOB_ERROR,
        JOB_CANCEL: states.JOB_CANCELLING},
    # A cancel is the caller's last word: whatever the step did meanwhile,
    # the job ends cancelled, unless the service cannot even stop it.
    states.JOB_CANCELLING: {
        JOB_CANCELLED: states.JOB_CANCELLED,
        JOB_ERROR: states.JOB_ERROR},
}, terminal=states.JOB_FINAL)

STEP_MACHINE = _machine(states.STEP_PENDING, {
    states.STEP_PENDING: {
        STEP_START: states.STEP_RUNNING,
        # The service could not even prepare it (api-ref.rst: "When the service
        # itself cannot prepare or start a step").
        STEP_FAIL: states.STEP_FAILED,
        STEP_SKIP: states.STEP_SKIPPED,
        STEP_CANCEL: states.STEP_CANCELLED},
    states.STEP_RUNNING: {
        STEP_SUCCEED: states.STEP_SUCCEEDED,
        STEP_FAIL: states.STEP_FAILED,
        STEP_TIME_OUT: states.STEP_TIMED_OUT,
        STEP_CANCEL: states.STEP_CANCELLED,
        STEP_LOSE: states.STEP_LOST},
}, terminal=states.STEP_FINAL)

MACHINES = {'task': TASK_MACHINE, 'job': JOB_MACHINE, 'step': STEP_MACHINE}


def _next(kind, machine, state, event):
    # A shallow copy shares the frozen tables, so this is cheap and
    # thread-safe: only the copy's current state is private.
    runner = machine.copy(shallow=True)
    try:
        runner.initialize(state)
        runner.process_event(event)
    except (automaton_exc.NotFound, automaton_exc.InvalidState):
        raise exception.InvalidState(
            reason="a %s in state '%s' cannot '%s'" % (kind, state, event))
    return runner.current_state


def task_next(state, event):
    """Return the task build status after ``event`` in ``state``.

    :raises: InvalidState if the machine does not allow it.
    """
    return _next('task', TASK_MACHINE, state, event)


def job_next(state, event):
    """Return the job status after ``event`` in ``state``.

    :raises: InvalidState if the machine does not allow it.
    """
    return _next('job', JOB_MACHINE, state, event)


def step_next(state, event):
    """Return the step status after ``event`` in ``state``.

    :raises: InvalidState if the machine does not allow it.
    """
    return _next('step', STEP_MACHINE, state, event)


def _can(func, state, event):
    try:
        func(state, event)
    except exception.InvalidState:
        return False
    return True


def job_can(state, event):
    """Whether a job in ``state`` accepts ``event`` (e.g. the API's cancel)."""
    return _can(job_next, state, event)


def step_can(state, event):
    """Whether a step in ``state`` accepts ``event``."""
    return _can(step_next, state, event)


def task_can(state, event):
    """Whether a task in ``state`` accepts ``event``."""
    return _can(task_next, state, event)
