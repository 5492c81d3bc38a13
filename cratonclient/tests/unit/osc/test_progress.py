# SPDX-License-Identifier: Apache-2.0
"""The live progress lines on their own."""

import datetime
import io

import fixtures
import testtools

from cratonclient.osc.v1 import progress
from cratonclient.tests.unit import base

NOW = datetime.datetime(2026, 11, 26, 18, 0, 30,
                        tzinfo=datetime.timezone.utc)


class TestLines(testtools.TestCase):

    def test_durations(self):
        self.assertEqual(['0.0s', '4.2s', '59.9s', '1m00s', '59m59s',
                          '1h00m', '26h03m'],
                         [progress.format_duration(s) for s in
                          (-3, 4.2, 59.94, 60, 3599, 3600, 93780)])

    def test_running_step_counts_until_now(self):
        lines = progress.job_lines(base.job('running', [
            base.step(0, 'a', 'running', node='n1',
                      started_at='2026-11-26T18:00:00Z'),
            base.step(1, 'longer-name')]), now=NOW)
        self.assertEqual(['step', '0', 'a', 'running', 'n1', '30.0s'],
                         lines[1][2].split())
        self.assertEqual(['step', '1', 'longer-name', 'pending', '-', '-'],
                         lines[2][2].split())
        # Columns line up.
        self.assertEqual(lines[1][2].index('running'),
                         lines[2][2].index('pending'))

    def test_job_reason_on_its_line(self):
        lines = progress.job_lines(base.job(
            'error', [], status_reason='engine\nunreachable'), now=NOW)
        self.assertIn(': error (0/0 steps succeeded, -): engine '
                      'unreachable', lines[0][2])


    def test_control_characters_in_names_are_escaped(self):
        evil = 'a\nb\x1b[2J\rc\x7f\x9b\u2028'
        escaped = 'a\\nb\\x1b[2J\\rc\\x7f\\x9b\\u2028'
        job = base.job('failed', [
            base.step(0, evil, 'failed\x1b[31m', node='n\x07',
                      status_reason='oops\x1b[0m')],
            uuid='j\x1b', status_reason='why\x00')
        lines = progress.job_lines(job, now=NOW)
        task = progress.TaskBuildLines(lambda: 0)(
            base.task(name=evil, status='error', status_reason='r\x1b'))
        for _key, _state, text in lines + task:
            self.assertTrue(text.isprintable(), repr(text))
        self.assertIn(escaped, lines[1][2])
        self.assertIn('failed\\x1b[31m', lines[1][2])
        self.assertIn('n\\x07', lines[1][2])
        self.assertIn('oops\\x1b[0m', lines[1][2])
        self.assertIn('why\\x00', lines[0][2])
        self.assertIn('task %s: error' % escaped, task[0][2])
        # Non-ASCII letters are not control characters.
        self.assertEqual('caf\u00e9 \u65e5\u672c',
                         progress.printable('caf\u00e9 \u65e5\u672c'))


class TestDisplay(testtools.TestCase):

    def test_plain_prints_a_line_when_its_state_changes(self):
        out = io.StringIO()
        display = progress.Display(out)
        self.assertFalse(display.tty)
        display.draw([('a', 1, 'a one'), ('b', 1, 'b one')])
        display.draw([('a', 1, 'a one, later'), ('b', 2, 'b two')])
        self.assertEqual('a one\nb one\nb two\n', out.getvalue())

    def test_terminal_lines_are_cut_to_its_width(self):
        self.useFixture(fixtures.EnvironmentVariable('COLUMNS', '20'))
        out = base.TTYStringIO()
        display = progress.Display(out)
        self.assertTrue(display.tty)
        display.draw([('a', 1, 'x' * 50)])
        display.draw([('a', 1, 'y' * 50)])
        self.assertEqual('\r\x1b[2K' + 'x' * 19 + '\n\x1b[J'
                         '\x1b[1A\r\x1b[2K' + 'y' * 19 + '\n\x1b[J',
                         out.getvalue())
