# SPDX-License-Identifier: Apache-2.0
"""Notifications: sent after the commit, versioned payloads, through
oslo.messaging's fake transport and a real notification listener.
"""

import queue

import oslo_messaging as messaging
from oslo_utils import uuidutils

from craton.common import notifications
from craton.db import api as db_api
from craton.db.sqlalchemy import session
from craton.tests.unit.api import base


class _Endpoint:

    def __init__(self):
        self.got = queue.Queue()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.got.put(('info', publisher_id, event_type, payload))

    def error(self, ctxt, publisher_id, event_type, payload, metadata):
        self.got.put(('error', publisher_id, event_type, payload))


class NotificationsTest(base.APITestCase):

    def setUp(self):
        super().setUp()
        notifications.register_opts(self.conf_fixture.conf)
        self.config(driver=['messagingv2'], transport_url='fake:/',
                    group='oslo_messaging_notifications')
        self.config(host='node-1')
        self.addCleanup(notifications.cleanup)
        self.endpoint = _Endpoint()
        # The listener must share the notifiers' transport: the fake
        # driver's exchanges live in its transport object.
        listener = messaging.get_notification_listener(
            notifications.transport(),
            [messaging.Target(topic='notifications')], [self.endpoint],
            executor='threading')
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)

    def received(self, n=1):
        return [self.endpoint.got.get(timeout=10) for _ in range(n)]

    def assertNothingMore(self):
        self.assertRaises(queue.Empty, self.endpoint.got.get, timeout=0.5)

    def test_api_event_after_commit(self):
        task = self.make_task('t1', approval='pending')
        self.post('/tasks/t1/approve', status=200)
        [(priority, publisher, event_type, payload)] = self.received()
        self.assertEqual(('info', 'craton-api.node-1',
                          'craton.task.approve.end'),
                         (priority, publisher, event_type))
        self.assertEqual('EventPayload', payload['craton_object.name'])
        self.assertEqual('1.0', payload['craton_object.version'])
        data = payload['craton_object.data']
        self.assertEqual((task.uuid, 'approve', 'success', 'project-a'),
                         (data['resource_uuid'], data['action'],
                          data['outcome'], data['project_id']))

    def test_refused_write_is_an_error(self):
        self.post('/regions', {'name': 'r'}, status=403, persona='reader')
        [(priority, _, event_type, payload)] = self.received()
        self.assertEqual(('error', 'craton.region.create.error'),
                         (priority, event_type))
        self.assertEqual('403',
                         payload['craton_object.data']['detail']['status'])

    def test_nothing_before_the_commit_nor_after_a_rollback(self):
        dbapi = db_api.get_instance()
        try:
            with session.writer():
                dbapi.record_event('read', 'secret', None, 'p', 'u')
                self.assertNothingMore()
                raise RuntimeError('rolled back')
        except RuntimeError:
            pass
        self.assertNothingMore()
        with session.writer():
            dbapi.record_event('read', 'secret', None, 'p', 'u',
                               detail={'job': 'j', 'step': 1})
        [(_, publisher, event_type, payload)] = self.received()
        self.assertEqual(('craton-conductor.node-1',
                          'craton.secret.read.end'),
                         (publisher, event_type))
        self.assertEqual({'job': 'j', 'step': '1'},
                         payload['craton_object.data']['detail'])

    def test_job_and_step_notifications(self):
        task = self.make_task('t2')
        job = self.make_job(task)
        job.status = 'running'
        notifications.job_moved(job, started=True)
        step = job.steps[0]
        notifications.step_finished(job, step)     # pending: nothing
        step.status = 'failed'
        notifications.step_finished(job, step)
        notifications.job_moved(job, started=False)  # running: nothing
        job.status = 'succeeded'
        notifications.job_moved(job, started=False)
        # Each priority is a topic of its own: order only within one.
        got = [(p, t) for p, _, t, _ in self.received(3)]
        self.assertEqual([('error', 'craton.step.finish.error'),
                          ('info', 'craton.job.run.end'),
                          ('info', 'craton.job.run.start')], sorted(got))
        self.assertLess(got.index(('info', 'craton.job.run.start')),
                        got.index(('info', 'craton.job.run.end')))
        self.assertNothingMore()

    def test_no_driver_sends_nothing(self):
        self.config(driver=[], group='oslo_messaging_notifications')
        self.assertFalse(notifications.enabled())
        self.post('/regions', {'name': 'quiet'}, status=201)
        self.assertNothingMore()
        self.assertTrue(uuidutils.is_uuid_like(
            self.get('/events').json['events'][0]['uuid']))
