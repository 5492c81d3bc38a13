# SPDX-License-Identifier: Apache-2.0
"""``openstack craton job logs`` against a fake API whose logs grow."""

import sys

from cratonclient.tests.unit import base

UUID = base.job()['uuid']


class GrowingLog:
    """A step's log that reveals one more chunk of ``chunks`` at each
    request, and is complete once all are revealed (the step ended);
    answers at most ``page`` bytes at a time.
    """

    def __init__(self, chunks, page=1 << 20, final=True):
        self.chunks = list(chunks)
        self.page = page
        self.final = final
        self.offsets = []
        self.seen_on_stdout = []

    def __call__(self, request, context):
        offset = int(request.qs['offset'][0])
        self.offsets.append(offset)
        # What the command had written to stdout when it asked again.
        self.seen_on_stdout.append(sys.stdout.buffer.getvalue())
        revealed = min(len(self.offsets), len(self.chunks))
        stored = b''.join(self.chunks[:revealed])
        data = stored[offset:offset + self.page]
        end = offset + len(data)
        done = self.final and revealed == len(self.chunks) and \
            end == len(stored)
        context.headers['X-Craton-Log-Offset'] = str(end)
        context.headers['X-Craton-Log-Complete'] = 'true' if done else 'false'
        context.headers['Content-Type'] = 'text/plain; charset=utf-8'
        return data


class TestLogs(base.ShellTestCase):

    def job_with(self, *statuses):
        names = ['check', 'patch-host', 'reboot']
        return base.job('running', [base.step(i, names[i], s)
                                    for i, s in enumerate(statuses)])

    def serve(self, index, log):
        self.api.get(self.url('/v1/jobs/%s/steps/%d/logs' % (UUID, index)),
                     content=log)
        return log

    def test_every_step_under_a_header(self):
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('succeeded', 'failed', 'skipped'))
        self.serve(0, GrowingLog([b'one\ntwo\n']))
        self.serve(1, GrowingLog([b'\xff\xfe raw bytes, no newline']))
        self.serve(2, GrowingLog([b'']))
        result = self.run_cli('job', 'logs', UUID)
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual(
            b'==> step 0 check (succeeded) <==\n'
            b'one\ntwo\n'
            b'==> step 1 patch-host (failed) <==\n'
            b'\xff\xfe raw bytes, no newline\n'
            b'==> step 2 reboot (skipped) <==\n', result.stdout_bytes)

    def test_one_step_by_index_or_name_bytes_alone(self):
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('succeeded', 'running'))
        # A running step: never complete.
        log = self.serve(1, GrowingLog([b'a\xe9\n'], final=False))
        for step in ('1', 'patch-host'):
            result = self.run_cli('job', 'logs', UUID, step)
            self.assertEqual(0, result.rc)
            # Without --follow: what is stored now, no header.
            self.assertEqual(b'a\xe9\n', result.stdout_bytes)
            # It stopped once the offset did not move.
            self.assertEqual([0, 3], log.offsets[-2:])

    def test_pages_are_followed_by_offset(self):
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('succeeded'))
        log = self.serve(0, GrowingLog([b'0123456789'], page=4))
        result = self.run_cli('job', 'logs', UUID, '0')
        self.assertEqual(b'0123456789', result.stdout_bytes)
        self.assertEqual([0, 4, 8], log.offsets)

    def test_unknown_step(self):
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('succeeded', 'failed'))
        result = self.run_cli('job', 'logs', UUID, 'nope')
        self.assert_one_error_line(result, "no step 'nope'", '0 check',
                                   '1 patch-host')

    def test_unknown_job(self):
        self.api.get(self.url('/v1/jobs/nope'), status_code=404,
                     json=base.error_body(404, 'Job nope could not be found.'))
        result = self.run_cli('job', 'logs', 'nope')
        self.assert_one_error_line(result, 'Job nope could not be found')

    def test_follow_streams_a_growing_log_and_flushes(self):
        self.api.get(self.url('/v1/jobs/' + UUID), [
            {'json': self.job_with('running')},
            {'json': self.job_with('succeeded')}])
        log = self.serve(0, GrowingLog([b'first\n', b'', b'', b'second\n',
                                        b'third']))
        result = self.run_cli('job', 'logs', UUID, 'check', '--follow')
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual(b'first\nsecond\nthird', result.stdout_bytes)
        self.assertEqual([0, 6, 6, 6, 13], log.offsets)
        # Each chunk was on stdout before the next poll went out.
        self.assertEqual(b'first\n', log.seen_on_stdout[1])
        self.assertEqual(b'first\nsecond\n', log.seen_on_stdout[4])

    def test_follow_exit_1_when_the_step_failed(self):
        self.api.get(self.url('/v1/jobs/' + UUID), [
            {'json': self.job_with('running')},
            {'json': self.job_with('failed')}])
        self.serve(0, GrowingLog([b'x', b'y']))
        result = self.run_cli('job', 'logs', UUID, '0', '--follow')
        self.assertEqual(1, result.rc)
        self.assertEqual(b'xy', result.stdout_bytes)

    def test_follow_across_steps(self):
        self.api.get(self.url('/v1/jobs/' + UUID), [
            {'json': self.job_with('running', 'pending')},
            {'json': self.job_with('succeeded', 'running')},
            {'json': self.job_with('succeeded', 'succeeded')}])
        self.serve(0, GrowingLog([b'a\n', b'b\n']))
        self.serve(1, GrowingLog([b'', b'c\n']))
        result = self.run_cli('job', 'logs', UUID, '--follow')
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual(
            b'==> step 0 check (running) <==\n'
            b'a\nb\n'
            b'==> step 1 patch-host (running) <==\n'
            b'c\n', result.stdout_bytes)

    def test_follow_all_exit_1_unless_every_step_succeeded(self):
        self.api.get(self.url('/v1/jobs/' + UUID), [
            {'json': self.job_with('running', 'pending')},
            {'json': self.job_with('failed', 'skipped')},
            {'json': self.job_with('failed', 'skipped')}])
        self.serve(0, GrowingLog([b'boom\n']))
        self.serve(1, GrowingLog([b'']))
        result = self.run_cli('job', 'logs', UUID, '--follow')
        self.assertEqual(1, result.rc)
        self.assertIn(b'==> step 1 patch-host (skipped) <==\n',
                      result.stdout_bytes)

    def test_without_follow_exit_0_even_after_a_failure(self):
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('failed'))
        self.serve(0, GrowingLog([b'boom\n']))
        self.assertEqual(0, self.run_cli('job', 'logs', UUID).rc)


class TestDigitStepNames(base.ShellTestCase):
    """Steps whose names are digits: an index is never taken for a name
    inside the command, and a user's STEP of digits is an index first.
    """

    def job_with(self, *statuses, names=('1', '0', 'x')):
        return base.job('running', [base.step(i, names[i], s)
                                    for i, s in enumerate(statuses)])

    def serve(self, index, data):
        log = GrowingLog([data])
        self.api.get(self.url('/v1/jobs/%s/steps/%d/logs' % (UUID, index)),
                     content=log)
        return log

    def test_headers_use_each_steps_own_index(self):
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('succeeded', 'failed'))
        self.serve(0, b'a\n')
        self.serve(1, b'b\n')
        result = self.run_cli('job', 'logs', UUID)
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual(
            b'==> step 0 1 (succeeded) <==\n'
            b'a\n'
            b'==> step 1 0 (failed) <==\n'
            b'b\n', result.stdout_bytes)

    def test_follow_exit_code_of_the_step_by_index(self):
        # Step 1 (named "0") failed: --follow of every step exits 1.
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('succeeded', 'failed'))
        self.serve(0, b'a\n')
        self.serve(1, b'b\n')
        result = self.run_cli('job', 'logs', UUID, '--follow')
        self.assertEqual(1, result.rc, result.stdout_bytes)
        self.assertIn(b'==> step 1 0 (failed) <==\n', result.stdout_bytes)

    def test_follow_one_step_by_name_uses_its_status(self):
        # STEP "x" is step 2's name; step 2 failed.
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('succeeded', 'succeeded', 'failed',
                                        names=('2', '0', 'x')))
        self.serve(2, b'c\n')
        result = self.run_cli('job', 'logs', UUID, 'x', '--follow')
        self.assertEqual(1, result.rc)
        self.assertEqual(b'c\n', result.stdout_bytes)

    def test_user_digits_are_an_index_when_it_exists(self):
        # "1" is step 0's name and step 1's index: the index wins.
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('succeeded', 'failed'))
        log0 = self.serve(0, b'zero\n')
        log1 = self.serve(1, b'one\n')
        result = self.run_cli('job', 'logs', UUID, '1')
        self.assertEqual(b'one\n', result.stdout_bytes)
        self.assertEqual([], log0.offsets)
        self.assertEqual([0], log1.offsets)

    def test_user_digits_fall_back_to_a_name(self):
        # No step 7: "7" is then step 1's name.
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('succeeded', 'failed',
                                        names=('a', '7', 'x')))
        self.serve(1, b'seven\n')
        result = self.run_cli('job', 'logs', UUID, '7')
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual(b'seven\n', result.stdout_bytes)

    def test_non_ascii_digits_are_a_name(self):
        # "١" (Arabic-Indic one) is not the index 1, only a name.
        self.api.get(self.url('/v1/jobs/' + UUID),
                     json=self.job_with('succeeded', 'failed',
                                        names=('\u0661', 'b', 'x')))
        self.serve(0, b'arabic\n')
        result = self.run_cli('job', 'logs', UUID, '\u0661')
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual(b'arabic\n', result.stdout_bytes)


class TestControlCharactersInNames(base.ShellTestCase):

    def test_headers_escape_them_and_log_bytes_stay(self):
        self.api.get(self.url('/v1/jobs/' + UUID), json=base.job(
            'failed', [base.step(0, 'a\nb\x1b[2J', 'failed')]))
        self.api.get(self.url('/v1/jobs/%s/steps/0/logs' % UUID),
                     content=GrowingLog([b'\x1b[31mred\x1b[0m\n']))
        result = self.run_cli('job', 'logs', UUID)
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual(b'==> step 0 a\\nb\\x1b[2J (failed) <==\n'
                         b'\x1b[31mred\x1b[0m\n', result.stdout_bytes)

    def test_unknown_step_error_stays_one_line(self):
        self.api.get(self.url('/v1/jobs/' + UUID), json=base.job(
            'failed', [base.step(0, 'a\nb', 'failed')]))
        result = self.run_cli('job', 'logs', UUID, 'x\ny')
        self.assert_one_error_line(result, '0 a\\nb')


class TestDebugLeavesLogBodiesOut(base.ShellTestCase):

    def test_debug_does_not_dump_log_pages(self):
        self.api.get(self.url('/v1/jobs/' + UUID), json=base.job(
            'succeeded', [base.step(0, 'check', 'succeeded')]))
        self.api.get(self.url('/v1/jobs/%s/steps/0/logs' % UUID),
                     content=GrowingLog([b'SECRET-LOG-LINE-1\n',
                                         b'SECRET-LOG-LINE-2\n']))
        result = self.run_cli('--debug', 'job', 'logs', UUID, '0',
                              '--follow')
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual(b'SECRET-LOG-LINE-1\nSECRET-LOG-LINE-2\n',
                         result.stdout_bytes)
        self.assertNotIn('SECRET-LOG-LINE', result.stderr)
        # The requests themselves are still in the debug output.
        self.assertIn('/v1/jobs/%s/steps/0/logs' % UUID, result.stderr)
        self.assertIn('offset=18', result.stderr)
        self.assertIn('X-Craton-Log-Offset: 36', result.stderr)
