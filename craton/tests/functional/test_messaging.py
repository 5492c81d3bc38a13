# SPDX-License-Identifier: Apache-2.0
"""The production shape: craton-api and craton-conductor processes talking
over real RabbitMQ (rpc_transport = oslo) with a real MariaDB database."""

import queue
import subprocess
import time
import uuid

import fixtures
from oslo_config import cfg
import oslo_messaging as messaging
import sqlalchemy as sa
import testtools

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment
from craton.tests.functional import jobtask


def rabbitmqctl(*args):
    subprocess.run(['rabbitmqctl'] + list(args), check=True,
                   capture_output=True, timeout=120)


class RabbitVhost(fixtures.Fixture):
    """A throwaway RabbitMQ vhost for one deployment."""

    def _setUp(self):
        self.name = 'craton_test_%s' % uuid.uuid4().hex[:8]
        rabbitmqctl('add_vhost', self.name)
        self.addCleanup(rabbitmqctl, 'delete_vhost', self.name)
        rabbitmqctl('set_permissions', '-p', self.name, 'craton',
                    '.*', '.*', '.*')
        base = deployment.RABBIT_URL.rstrip('/')
        self.url = '%s/%s' % (base, self.name)


class SplitDeployment(fixtures.Fixture):
    """API + conductors over RabbitMQ on a fresh MariaDB database."""

    def __init__(self, conductors):
        super().__init__()
        self.conductors = conductors

    def _setUp(self):
        self.db = db = self.useFixture(dbfixtures.Database('mysql'))
        vhost = self.useFixture(RabbitVhost())
        self.root = deployment.source_root()
        self.deploy = self.useFixture(deployment.Deployment(
            mode='split', db_url=db.url, transport_url=vhost.url,
            conductors=self.conductors, source_roots=[self.root]))
        self.api = self.deploy.client
        jobtask.register(self.api, self.root)
        self.api.add_hosts(['compute-01', 'compute-02'])
        self.api.create_workflow('two-steps', [
            {'name': 'a', 'task': 'jobtask'},
            {'name': 'b', 'task': 'jobtask'}])

    def owner(self, job_uuid):
        """The conductor that holds the job's claim, from the database."""
        with self.db.engine.connect() as conn:
            return conn.execute(sa.text(
                'select conductor from jobs where uuid = :u'),
                {'u': job_uuid}).scalar()


@dbfixtures.requires_functional
class MessagingTest(testtools.TestCase):

    def test_job_over_rabbitmq_and_mariadb(self):
        env = self.useFixture(SplitDeployment(conductors=1))
        job = env.api.submit_job({'labels': ['compute']},
                                 workflow='two-steps')
        job = env.api.wait_job(job['uuid'])
        self.assertEqual('succeeded', job['status'], job)
        self.assertEqual(2, job['host_count'])

    def test_job_submitted_while_broker_down_runs(self):
        env = self.useFixture(SplitDeployment(conductors=1))
        rabbitmqctl('stop_app')
        self.addCleanup(rabbitmqctl, 'start_app')
        try:
            started = time.monotonic()
            job = env.api.submit_job({'labels': ['compute']},
                                     workflow='two-steps')
            # The row is written before the cast: the API answers at once.
            self.assertLess(time.monotonic() - started, 30)
            self.assertEqual('pending', job['status'])
        finally:
            rabbitmqctl('start_app')
        job = env.api.wait_job(job['uuid'], timeout=180)
        self.assertEqual('succeeded', job['status'], job)

    def test_two_conductors_start_each_step_once(self):
        env = self.useFixture(SplitDeployment(conductors=2))
        recorder = jobtask.CreateRecorder()
        self.addCleanup(recorder.stop)
        jobs = [env.api.submit_job({'hosts': ['compute-01']},
                                   workflow='two-steps')['uuid']
                for _ in range(20)]
        for job_uuid in jobs:
            job = env.api.wait_job(job_uuid, timeout=600)
            self.assertEqual('succeeded', job['status'], job)
            self.assertEqual({'0': 1, '1': 1},
                             recorder.creates(job_uuid))
        owners = {env.owner(job_uuid) for job_uuid in jobs}
        # Both conductors took work (printed for the record; which one
        # wins each claim is up to the broker and the sweep).
        print('job owners: %s' % sorted(owners))

    def test_conductor_killed_mid_step_is_taken_over(self):
        env = self.useFixture(SplitDeployment(conductors=2))
        recorder = jobtask.CreateRecorder()
        self.addCleanup(recorder.stop)
        env.api.create_workflow('slow', [
            {'name': 'a', 'task': 'jobtask',
             'variables': {'lines': 30, 'interval': 0.2}}])
        job_uuid = env.api.submit_job({'hosts': ['compute-01']},
                                      workflow='slow')['uuid']
        env.api.wait_step(job_uuid, 0, 'running')
        owner = env.owner(job_uuid)
        env.deploy.kill(owner)
        job = env.api.wait_job(job_uuid, timeout=120)
        self.assertEqual('succeeded', job['status'], job)
        log, complete = env.api.full_log(job_uuid, 0)
        self.assertTrue(complete)
        self.assertEqual(jobtask.expected_log(30, jobtask.result_line(log)),
                         log)
        self.assertEqual({'0': 1}, recorder.creates(job_uuid))


class _Notifications:
    """A notification endpoint: what arrives, in a queue."""

    def __init__(self):
        self.got = queue.Queue()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.got.put((publisher_id, event_type, payload))


@dbfixtures.requires_functional
class NotificationTest(testtools.TestCase):

    def test_event_notified_over_rabbitmq(self):
        """An API write's event reaches a consumer on the real broker as a
        versioned notification.
        """
        vhost = self.useFixture(RabbitVhost())
        conf = cfg.ConfigOpts()
        transport = messaging.get_notification_transport(conf,
                                                         url=vhost.url)
        self.addCleanup(transport.cleanup)
        endpoint = _Notifications()
        listener = messaging.get_notification_listener(
            transport, [messaging.Target(topic='notifications')],
            [endpoint], executor='threading')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)
        deploy = self.useFixture(deployment.Deployment(extra={
            'oslo_messaging_notifications': {
                'driver': 'messagingv2', 'transport_url': vhost.url}}))
        region = deploy.client.post('/v1/regions', {'name': 'notified'},
                                    expect=201)
        deadline = time.monotonic() + 60
        while True:
            publisher, event_type, payload = endpoint.got.get(
                timeout=max(0.1, deadline - time.monotonic()))
            if event_type == 'craton.region.create.end':
                break
        self.assertTrue(publisher.startswith('craton-api.'), publisher)
        self.assertEqual('EventPayload', payload['craton_object.name'])
        self.assertEqual(region['uuid'],
                         payload['craton_object.data']['resource_uuid'])
