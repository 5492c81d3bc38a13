# SPDX-License-Identifier: Apache-2.0
"""``openstack craton job …`` (but logs) against a fake API."""

import json
import re

from cratonclient.tests.unit import base

UUID = base.job()['uuid']
T0 = '2026-11-26T18:00:00+00:00'
T1 = '2026-11-26T18:00:02.500000+00:00'
T2 = '2026-11-26T18:01:10+00:00'


def progression(final='succeeded'):
    """A two-step job as successive polls see it."""
    pending = base.job('pending', [base.step(0, 'check'),
                                   base.step(1, 'patch-host')])
    running = base.job('running', [
        base.step(0, 'check', 'running', node='node-a', started_at=T0),
        base.step(1, 'patch-host')], started_at=T0)
    second = base.job('running', [
        base.step(0, 'check', 'succeeded', node='node-a', started_at=T0,
                  finished_at=T1, exit_code=0),
        base.step(1, 'patch-host', 'running', node='node-b',
                  started_at=T1)], started_at=T0)
    if final == 'succeeded':
        last = base.step(1, 'patch-host', 'succeeded', node='node-b',
                         started_at=T1, finished_at=T2, exit_code=0)
    else:
        last = base.step(1, 'patch-host', 'failed', node='node-b',
                         started_at=T1, finished_at=T2, exit_code=3,
                         status_reason='exit code 3')
    done = base.job(final, [second['steps'][0], last], started_at=T0,
                    finished_at=T2)
    return [pending, running, running, second, done]


class TestRun(base.ShellTestCase):

    def setUp(self):
        super().setUp()
        self.api.post(self.url('/v1/jobs'), status_code=202, json=base.job())

    def test_body_from_options(self):
        out = self.run_json('job', 'run', '--workflow', 'maint', '--host',
                            'h1', '--host', 'h2', '--label', 'web',
                            '--region', 'r1', '--cell', 'c1', '--var',
                            'ticket=OPS-42', '--var', 'n=3')
        self.assertEqual({'workflow': 'maint',
                          'inventory': {'hosts': ['h1', 'h2'],
                                        'labels': ['web'], 'region': 'r1',
                                        'cell': 'c1'},
                          'variables': {'ticket': 'OPS-42', 'n': 3}},
                         self.sent())
        # Without --wait: printed as accepted, exit 0, nothing polled.
        self.assertEqual('pending', out['status'])
        self.assertEqual(1, self.api.call_count)

    def test_secret_options(self):
        self.api.post(self.url('/v1/jobs'), status_code=202,
                      json=base.job(secrets=['cloud-admin', 'bmc']))
        out = self.run_json('job', 'run', '--task', 'audit', '--host', 'h1',
                            '--secret', 'cloud-admin', '--secret', 'bmc',
                            '--secret', 'cloud-admin')
        self.assertEqual({'task': 'audit', 'inventory': {'hosts': ['h1']},
                          'secrets': ['cloud-admin', 'bmc']}, self.sent())
        self.assertEqual(['cloud-admin', 'bmc'], out['secrets'])
        # None given: no secrets key at all.
        self.run_json('job', 'run', '--task', 'audit', '--host', 'h1')
        self.assertNotIn('secrets', self.sent())

    def test_unknown_secret_is_the_api_400(self):
        self.api.post(self.url('/v1/jobs'), status_code=400,
                      json=base.error_body(
                          400, "Invalid value for 'secrets': secret 'nope' "
                               "does not exist", request_id='req-s'))
        result = self.run_cli('job', 'run', '--task', 'audit', '--host',
                              'h1', '--secret', 'nope')
        self.assert_one_error_line(result, "secret 'nope'", '400', 'req-s')

    def test_single_task(self):
        self.run_json('job', 'run', '--task', 'audit', '--label', 'web')
        self.assertEqual({'task': 'audit', 'inventory': {'labels': ['web']}},
                         self.sent())

    def test_workflow_or_task(self):
        self.assertEqual(2, self.run_cli('job', 'run', '--host', 'h').rc)
        self.assertEqual(2, self.run_cli('job', 'run', '--task', 'a',
                                         '--workflow', 'w').rc)
        self.assertFalse(self.api.called)

    def test_not_approved_is_one_line_with_the_409(self):
        detail = ("task 'audit' is not approved (approval pending); an admin "
                  "must run `openstack craton task approve audit`.")
        self.api.post(self.url('/v1/jobs'), status_code=409,
                      json=base.error_body(409, detail,
                                           'craton.task.not_approved',
                                           'req-abc'))
        result = self.run_cli('job', 'run', '--task', 'audit', '--host', 'h')
        self.assert_one_error_line(result, detail, '(HTTP 409)',
                                   'req-abc')

    def _wait(self, final, *extra, tty=False):
        self.api.get(self.url('/v1/jobs/' + UUID),
                     [{'json': j} for j in progression(final)])
        return self.run_cli('job', 'run', '--workflow', 'maint', '--host',
                            'h1', '--wait', *extra, tty=tty)

    def test_wait_succeeded_plain_lines_then_the_job(self):
        result = self._wait('succeeded', '-f', 'json')
        self.assertEqual(0, result.rc, result.stderr)
        job = json.loads(result.stdout)
        self.assertEqual('succeeded', job['status'])
        # -f json: steps are JSON values.
        self.assertEqual(['succeeded', 'succeeded'],
                         [s['status'] for s in job['steps']])
        lines = result.stderr.splitlines()
        self.assertNotIn('\x1b', result.stderr)
        # A line each time a line's state changes (the repeated running
        # poll prints nothing).
        self.assertEqual([
            ('job', 'pending'), ('step 0', 'pending'), ('step 1', 'pending'),
            ('job', 'running'), ('step 0', 'running'),
            ('step 0', 'succeeded'), ('step 1', 'running'),
            ('job', 'succeeded'), ('step 1', 'succeeded'),
        ], [self._kind(line) for line in lines])
        step0_done = lines[5].split()
        self.assertEqual(['step', '0', 'check', 'succeeded', 'node-a',
                          '2.5s'], step0_done)
        self.assertEqual(['step', '1', 'patch-host', 'succeeded', 'node-b',
                          '1m07s'], lines[-1].split())
        self.assertIn('2/2 steps succeeded', lines[-2])

    @staticmethod
    def _kind(line):
        words = line.split()
        if words[0] == 'job':
            return 'job', words[2]
        return 'step %s' % words[1], words[3]

    def test_wait_failed_exits_1_and_shows_why(self):
        result = self._wait('failed', '-f', 'value', '-c', 'status')
        self.assertEqual(1, result.rc)
        self.assertEqual('failed\n', result.stdout)
        last = result.stderr.splitlines()[-1]
        self.assertIn('failed', last)
        self.assertIn('exit 3', last)
        self.assertIn('exit code 3', last)

    def test_wait_on_a_terminal_redraws_in_place(self):
        result = self._wait('succeeded', '-f', 'value', '-c', 'status',
                            tty=True)
        self.assertEqual(0, result.rc)
        err = result.stderr
        # Five polls, three lines each; every redraw but the first moves
        # the cursor up over the three lines drawn before.
        self.assertEqual(4, err.count('\x1b[3A'))
        self.assertEqual(15, err.count('\r\x1b[2K'))
        self.assertEqual(5, err.count('\x1b[J'))
        final = err.split('\x1b[3A')[-1]
        text = [re.sub(r'\x1b\[[0-9]*[A-Za-z]', '', line).strip()
                for line in final.split('\n') if line.strip('\x1b[J')]
        self.assertTrue(text[0].startswith('job %s: succeeded' % UUID),
                        text)
        self.assertEqual(['step', '0', 'check', 'succeeded', 'node-a',
                          '2.5s'], text[1].split())

    def test_watch(self):
        self.api.get(self.url('/v1/jobs/' + UUID),
                     [{'json': j} for j in progression('failed')])
        result = self.run_cli('job', 'watch', UUID)
        self.assertEqual(1, result.rc)
        self.assertIn('| status ', result.stdout)
        self.assertIn('1 patch-host: failed on node-b (exit 3, exit code 3)',
                      result.stdout)
        self.assertIn('job %s: failed' % UUID, result.stderr)
        self.api.get(self.url('/v1/jobs/' + UUID),
                     [{'json': j} for j in progression('succeeded')])
        self.assertEqual(0, self.run_cli('job', 'watch', UUID).rc)

    def test_watch_unknown_job(self):
        self.api.get(self.url('/v1/jobs/nope'), status_code=404,
                     json=base.error_body(404, "Job nope could not be found.",
                                          request_id='req-n'))
        result = self.run_cli('job', 'watch', 'nope')
        self.assert_one_error_line(result, 'Job nope could not be found',
                                   '404', 'req-n')
        self.assertEqual('', result.stdout)


class TestOthers(base.ShellTestCase):

    def test_list(self):
        job = base.job('failed', [base.step(0, 'a', 'failed')])
        self.api.get(self.url('/v1/jobs'), json={'jobs': [job]})
        result = self.run_cli('job', 'list', '--status', 'failed',
                              '--workflow', 'maint', '--task', 'audit',
                              '-f', 'value')
        self.assertEqual({'status': ['failed'], 'workflow': ['maint'],
                          'task': ['audit']}, self.api.last_request.qs)
        self.assertEqual('%s failed w-u None 1 %s\n' % (UUID, T0),
                         result.stdout)
        out = self.run_json('job', 'list')
        self.assertEqual(job['steps'], out[0]['steps'])

    def test_show(self):
        job = base.job('running', [base.step(0, 'a', 'running', node='n')],
                       variables={'ticket': 'X'})
        self.api.get(self.url('/v1/jobs/' + UUID), json=job)
        self.assertEqual(job, self.run_json('job', 'show', UUID))
        result = self.run_cli('job', 'show', UUID)
        self.assertIn('0 a: running on n', result.stdout)

    def test_show_displays_secrets(self):
        job = base.job('pending', [base.step(0, 'a')],
                       secrets=['cloud-admin', 'bmc'])
        self.api.get(self.url('/v1/jobs/' + UUID), json=job)
        self.assertEqual(['cloud-admin', 'bmc'],
                         self.run_json('job', 'show', UUID)['secrets'])
        result = self.run_cli('job', 'show', UUID)
        self.assertIn('cloud-admin, bmc', result.stdout)
        result = self.run_cli('job', 'show', UUID, '-f', 'yaml', '-c',
                              'secrets')
        self.assertEqual('secrets:\n- cloud-admin\n- bmc\n', result.stdout)

    def test_cancel(self):
        self.api.post(self.url('/v1/jobs/%s/cancel' % UUID), status_code=202,
                      json=base.job('cancelling'))
        self.assertEqual('cancelling',
                         self.run_json('job', 'cancel', UUID)['status'])
        self.api.post(self.url('/v1/jobs/%s/cancel' % UUID), status_code=409,
                      json=base.error_body(
                          409, 'job %s is already succeeded; only an '
                               'unfinished job can be cancelled' % UUID))
        result = self.run_cli('job', 'cancel', UUID)
        self.assert_one_error_line(result, 'already succeeded', '409')

    def test_inventory_pages(self):
        first = {'uuid': 'h-1', 'name': 'h1', 'ip_address': '10.0.0.1',
                 'region': 'r1', 'cell': None, 'labels': ['web'],
                 'variables': {'ntp': 'x'}}
        second = dict(first, uuid='h-2', name='h2', labels=[])
        self.api.get(self.url('/v1/jobs/%s/inventory' % UUID),
                     json={'hosts': [first],
                           'next': self.url('/v1/jobs/%s/inventory?marker=h-1'
                                            % UUID)})
        self.api.get(self.url('/v1/jobs/%s/inventory?marker=h-1' % UUID),
                     json={'hosts': [second]})
        self.assertEqual([first, second],
                         self.run_json('job', 'inventory', UUID))
        result = self.run_cli('job', 'inventory', UUID, '-f', 'value', '-c',
                              'name', '-c', 'labels')
        self.assertEqual('h1 ["web"]\nh2 []\n', result.stdout)
