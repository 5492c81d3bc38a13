# SPDX-License-Identifier: Apache-2.0
"""The task, job and step state machines."""

import testtools

from craton.common import exception
from craton.common import fsm
from craton.common import states


class TestJobMachine(testtools.TestCase):

    ALLOWED = [
        ('pending', 'start', 'running'),
        ('pending', 'cancel', 'cancelling'),
        ('pending', 'error', 'error'),
        ('running', 'succeed', 'succeeded'),
        ('running', 'fail', 'failed'),
        ('running', 'error', 'error'),
        ('running', 'cancel', 'cancelling'),
        ('cancelling', 'cancelled', 'cancelled'),
        ('cancelling', 'error', 'error'),
    ]
    REFUSED = [
        ('pending', 'succeed'), ('pending', 'fail'),
        ('pending', 'cancelled'), ('running', 'start'),
        ('running', 'cancelled'), ('cancelling', 'start'),
        ('cancelling', 'succeed'), ('cancelling', 'fail'),
        ('cancelling', 'cancel'),
    ] + [(final, event) for final in states.JOB_FINAL
         for event in ('start', 'cancel', 'succeed', 'fail', 'error',
                       'cancelled')]

    def test_allowed(self):
        for state, event, target in self.ALLOWED:
            self.assertEqual(target, fsm.job_next(state, event),
                             (state, event))
            self.assertTrue(fsm.job_can(state, event))

    def test_refused(self):
        for state, event in self.REFUSED:
            exc = self.assertRaises(exception.InvalidState, fsm.job_next,
                                    state, event)
            self.assertIn(state, str(exc))
            self.assertFalse(fsm.job_can(state, event), (state, event))

    def test_unknown_state_or_event(self):
        self.assertRaises(exception.InvalidState, fsm.job_next, 'bogus',
                          'start')
        self.assertRaises(exception.InvalidState, fsm.job_next, 'pending',
                          'bogus')

    def test_states_match_the_names(self):
        self.assertEqual(set(states.JOB_STATES),
                         set(fsm.JOB_MACHINE.states))
        self.assertEqual('pending', fsm.JOB_MACHINE.default_start_state)


class TestStepMachine(testtools.TestCase):

    def test_allowed(self):
        for state, event, target in [
                ('pending', 'start', 'running'),
                ('pending', 'skip', 'skipped'),
                ('pending', 'cancel', 'cancelled'),
                # The service could not prepare it (API.md, Jobs).
                ('pending', 'fail', 'failed'),
                ('running', 'succeed', 'succeeded'),
                ('running', 'fail', 'failed'),
                ('running', 'time_out', 'timed_out'),
                ('running', 'cancel', 'cancelled'),
                ('running', 'lose', 'lost')]:
            self.assertEqual(target, fsm.step_next(state, event))
            self.assertTrue(fsm.step_can(state, event))

    def test_refused(self):
        refused = [('pending', 'succeed'),
                   ('pending', 'lose'), ('pending', 'time_out'),
                   ('running', 'start'), ('running', 'skip')]
        refused += [(final, 'start') for final in states.STEP_FINAL]
        refused += [(final, 'skip') for final in states.STEP_FINAL]
        for state, event in refused:
            self.assertRaises(exception.InvalidState, fsm.step_next, state,
                              event)
            self.assertFalse(fsm.step_can(state, event))

    def test_states_match_the_names(self):
        self.assertEqual(set(states.STEP_STATES),
                         set(fsm.STEP_MACHINE.states))


class TestTaskMachine(testtools.TestCase):

    def test_build_paths(self):
        self.assertEqual('building', fsm.task_next('pending', 'build'))
        self.assertEqual('ready', fsm.task_next('building', 'done'))
        self.assertEqual('syncing', fsm.task_next('building', 'sync'))
        self.assertEqual('ready', fsm.task_next('syncing', 'done'))
        for state in ('pending', 'building', 'syncing'):
            self.assertEqual('error', fsm.task_next(state, 'fail'))

    def test_rebuild_and_delete(self):
        for state in ('pending', 'building', 'syncing', 'ready', 'error'):
            self.assertEqual('pending', fsm.task_next(state, 'rebuild'))
            self.assertEqual('deleting', fsm.task_next(state, 'delete'))
            self.assertTrue(fsm.task_can(state, 'delete'))

    def test_refused(self):
        for state, event in [('pending', 'done'), ('pending', 'sync'),
                             ('ready', 'build'), ('ready', 'done'),
                             ('error', 'done'), ('syncing', 'build'),
                             ('syncing', 'sync'), ('deleting', 'rebuild'),
                             ('deleting', 'build'), ('deleting', 'delete')]:
            self.assertRaises(exception.InvalidState, fsm.task_next, state,
                              event)
            self.assertFalse(fsm.task_can(state, event))

    def test_states_match_the_names(self):
        self.assertEqual(set(states.TASK_STATES),
                         set(fsm.TASK_MACHINE.states))

    def test_machines_are_frozen(self):
        for machine in fsm.MACHINES.values():
            self.assertTrue(machine.frozen)
