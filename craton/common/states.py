# SPDX-License-Identifier: Apache-2.0
"""States of tasks (builds), jobs and job steps, as api-ref.rst names them.

The transitions live in :mod:`craton.common.fsm`; this module only names the
states so that any layer can import them without pulling in automaton.
"""

# Task build status.
TASK_PENDING = 'pending'
TASK_BUILDING = 'building'
TASK_SYNCING = 'syncing'
TASK_READY = 'ready'
TASK_ERROR = 'error'
TASK_DELETING = 'deleting'
TASK_STATES = (TASK_PENDING, TASK_BUILDING, TASK_SYNCING, TASK_READY,
               TASK_ERROR, TASK_DELETING)

# Task approval.
APPROVAL_PENDING = 'pending'
APPROVAL_APPROVED = 'approved'
APPROVAL_REJECTED = 'rejected'
APPROVAL_STATES = (APPROVAL_PENDING, APPROVAL_APPROVED, APPROVAL_REJECTED)

# Task visibility.
VISIBILITY_PRIVATE = 'private'
VISIBILITY_SHARED = 'shared'
VISIBILITY_PUBLIC = 'public'
VISIBILITIES = (VISIBILITY_PRIVATE, VISIBILITY_SHARED, VISIBILITY_PUBLIC)

# Job status.
JOB_PENDING = 'pending'
JOB_RUNNING = 'running'
JOB_SUCCEEDED = 'succeeded'
JOB_FAILED = 'failed'
JOB_ERROR = 'error'
JOB_CANCELLING = 'cancelling'
JOB_CANCELLED = 'cancelled'
JOB_STATES = (JOB_PENDING, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED, JOB_ERROR,
              JOB_CANCELLING, JOB_CANCELLED)
JOB_FINAL = frozenset((JOB_SUCCEEDED, JOB_FAILED, JOB_ERROR, JOB_CANCELLED))
JOB_UNFINISHED = frozenset(set(JOB_STATES) - JOB_FINAL)

# Step status.
STEP_PENDING = 'pending'
STEP_RUNNING = 'running'
STEP_SUCCEEDED = 'succeeded'
STEP_FAILED = 'failed'
STEP_TIMED_OUT = 'timed_out'
STEP_CANCELLED = 'cancelled'
STEP_SKIPPED = 'skipped'
STEP_LOST = 'lost'
STEP_STATES = (STEP_PENDING, STEP_RUNNING, STEP_SUCCEEDED, STEP_FAILED,
               STEP_TIMED_OUT, STEP_CANCELLED, STEP_SKIPPED, STEP_LOST)
STEP_FINAL = frozenset((STEP_SUCCEEDED, STEP_FAILED, STEP_TIMED_OUT,
                        STEP_CANCELLED, STEP_SKIPPED, STEP_LOST))
