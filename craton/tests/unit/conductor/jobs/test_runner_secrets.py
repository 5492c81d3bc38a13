# SPDX-License-Identifier: Apache-2.0
"""A step's secrets: delivered as files, cut out of its stored output."""

import threading
from unittest import mock

from cryptography import fernet
from oslo_utils import timeutils

from craton.common import exception
from craton.common import states
from craton.conductor.jobs import tools as job_tools
from craton.tests.unit.conductor.jobs import test_runner

VALUES = {'cloud-admin': b'hunter2-cloud', 'bmc': b'\xc3\xa9bmc-pass'}


class SecretsTestCase(test_runner.ExecutorTestCase):

    def setUp(self):
        super().setUp()
        self.config(encryption_keys=[fernet.Fernet.generate_key().decode()],
                    group='secrets')
        self.reads = []

        def step_secrets(tools, job, step, delivering=False):
            self.reads.append((step.index, delivering))
            return dict(VALUES)
        self.patch = mock.patch.object(
            job_tools.StepTools, 'step_secrets', step_secrets)
        self.patch.start()
        self.addCleanup(self.patch.stop)


class TestDelivery(SecretsTestCase):

    def test_values_reach_the_driver_names_reach_the_payload(self):
        self.driver.behaviours['one'] = lambda c: c.exit(0)
        uuid = self.submit(names=('one',))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual(VALUES, self.driver.specs[0].secrets)
        payload = self.payloads()[0]
        self.assertEqual({'cloud-admin': '/run/craton/secrets/cloud-admin',
                          'bmc': '/run/craton/secrets/bmc'},
                         payload['secrets'])
        raw = self.driver.specs[0].payload
        for value in VALUES.values():
            self.assertNotIn(value, raw)
        # Read for delivery once, at the start.
        self.assertEqual([(0, True)], self.reads)

    def test_a_secret_gone_at_start_fails_the_step_with_its_reason(self):
        def gone(tools, job, step, delivering=False):
            raise exception.NotFound("secret 'bmc' could not be found")
        self.patch.stop()
        with mock.patch.object(job_tools.StepTools, 'step_secrets', gone):
            uuid = self.submit(names=('one', 'two'))
            self.assertEqual(states.JOB_ERROR, self.runner.run(uuid))
        self.patch.start()
        job = self.job(uuid)
        self.assertEqual(['failed', 'skipped'],
                         [s.status for s in job.steps])
        self.assertIn("secret 'bmc'", job.steps[0].status_reason)
        self.assertEqual([], self.driver.specs)


class TestRedaction(SecretsTestCase):

    def test_values_cut_from_stdout_stderr_and_the_result(self):
        def one(container):
            container.emit(b'login with hunter2-')
            container.emit(b'oops\n', stderr=True)
            container.emit(b'cloud ok\n')
            container.emit(b'bmc \xc3\xa9bmc-pass\n', stderr=True)
            container.emit(b'::craton-result:: {"pw": "hunter2-cloud"}\n')
            container.exit(0)
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one', 'two'))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        log = self.log(uuid, 0)
        # Only what could still become a value waited for more output.
        self.assertEqual(b'login with oops\n*** ok\nbmc ***\n'
                         b'::craton-result:: {"pw": "***"}\n', log)
        job = self.job(uuid)
        self.assertEqual({'pw': '***'}, job.steps[0].result)
        self.assertEqual(len(log), job.steps[0].log_bytes)
        self.assertEqual({'one': {'pw': '***'}},
                         self.payloads()[1]['results'])

    def test_values_printed_as_json_never_reach_the_result(self):
        def one(container):
            # As json.dumps writes them, and spelled with \u escapes.
            container.emit(b'::craton-result:: {"a": "\\u00e9bmc-pass", '
                           b'"b": "\\u0068unter2-cloud"}\n')
            container.exit(0)
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one', 'two'))
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual(b'::craton-result:: {"a": "***", '
                         b'"b": "\\u0068unter2-cloud"}\n', self.log(uuid, 0))
        self.assertEqual({'a': '***', 'b': '***'},
                         self.job(uuid).steps[0].result)
        self.assertEqual({'one': {'a': '***', 'b': '***'}},
                         self.payloads()[1]['results'])

    def test_broken_stream_resumes_in_redacted_bytes(self):
        out, _ = self.run_with_broken_stream(b'a hunter2-cloud b\n',
                                             b'c hunter2-cloud d\n')
        self.assertEqual(states.JOB_SUCCEEDED, out['status'])
        self.assertEqual(b'a *** b\nc *** d\n', self.log(out['uuid'], 0))


class TestSealed(SecretsTestCase):
    """What a step received stays what its output is redacted with, also
    for a conductor that takes it over after the secret changed.
    """

    def test_sealed_while_running_dropped_at_the_end(self):
        release = threading.Event()
        seen = {}

        def one(container):
            step = self.job(uuid).steps[0]
            seen['sealed'] = step.secrets_sealed
            release.wait(5)
            container.exit(0)
        self.driver.behaviours['one'] = one
        uuid = self.submit(names=('one',))
        thread, out = self.run_in_thread(uuid)
        self.wait_for(lambda: 'sealed' in seen)
        release.set()
        thread.join(10)
        self.assertEqual(states.JOB_SUCCEEDED, out['status'])
        sealed = seen['sealed']
        self.assertEqual('fernet', sealed['backend'])
        for value in VALUES.values():
            self.assertNotIn(value.decode(), str(sealed))
        self.assertEqual(VALUES, self.runner.step_tools().unseal(sealed))
        self.assertFalse(self.job(uuid).steps[0].secrets_sealed)

    def test_takeover_redacts_what_the_container_holds(self):
        uuid = self.submit(names=('one',))
        old = {'cloud-admin': b'OLD-rotating-value'}
        job = self.job(uuid)
        sealed = self.runner.step_tools().seal(job, job.steps[0], old)
        self.dbapi.update_job(uuid, {'status': 'running',
                                     'started_at': timeutils.utcnow()})
        self.set_step(uuid, 0, status='running',
                      started_at=timeutils.utcnow(), container_id='c0001',
                      secrets_sealed=sealed)
        first = b'FIRST[OLD-rotating-value]\n'
        self.assertTrue(self.dbapi.append_step_log(
            job.steps[0].id, 0, b'FIRST[***]\n'))
        container = self.driver.add_container(uuid, 0, output=first)
        container.emit(b'SECOND[OLD-rotating-value]\n')
        container.exit(0)
        # The secret was changed meanwhile: step_secrets gives VALUES.
        self.assertEqual(states.JOB_SUCCEEDED, self.runner.run(uuid))
        self.assertEqual(b'FIRST[***]\nSECOND[***]\n', self.log(uuid, 0))
        self.assertEqual([], self.reads)
