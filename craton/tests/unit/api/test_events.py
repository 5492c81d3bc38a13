# SPDX-License-Identifier: Apache-2.0
"""The audit trail: every write through the API is an event, written in
the transaction of the change; ``GET /v1/events``.
"""

import gzip
import io
import itertools
import tarfile

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa

from craton.api import audit as api_audit
from craton.api.controllers import v1
from craton.common import audit_state
from craton.db import api as db_api
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton.db.sqlalchemy import trail
from craton.tests.unit.api import base
from craton.tests.unit.api import test_rbac


def _archive():
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w') as tar:
        data = b'FROM scratch\n'
        info = tarfile.TarInfo('Dockerfile')
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


# (method, path template, body, resource type, action, expected status as
# admin): the writes of the RBAC table, plus the archive upload.
WRITES = [(m, p, b) for m, p, b, _ in test_rbac.TABLE if m != 'get']


def _expected(method, path):
    rtype, action, _ = api_audit.classify(method.upper(), '/v1' + path)
    return rtype, action


def events(**filters):
    with session.reader() as s:
        query = sa.select(models.Event).order_by(models.Event.id)
        for key, value in filters.items():
            query = query.where(getattr(models.Event, key) == value)
        return s.execute(query).scalars().all()


class EventsTestCase(base.APITestCase):

    def fixtures(self, n):
        names = test_rbac.TestRBAC.fixtures(self, n)
        names['upload_task'] = self.make_task(
            'up-%d' % n, status='pending', approval='pending',
            source={'type': 'upload'}).uuid
        return names

    def write(self, method, path, body, names, persona='admin', **kw):
        return self.request(method, test_rbac._fill(path, names),
                            test_rbac._fill(body, names), status='*',
                            persona=persona, **kw)

    def upload(self, ident, persona='admin'):
        return self.app.put(
            '/v1/tasks/%s/source' % ident, _archive(),
            headers=dict(self.headers(persona),
                         **{'Content-Type': 'application/gzip'}),
            expect_errors=True)

    @staticmethod
    def request_id(resp):
        return resp.headers['x-openstack-request-id']


class TestEveryWrite(EventsTestCase):

    def test_every_write_records_its_event(self):
        counter = itertools.count()
        for method, path, body in WRITES:
            names = self.fixtures(next(counter))
            resp = self.write(method, path, body, names)
            self.assertLess(resp.status_int, 300, (method, path, resp.body))
            found = events(request_id=self.request_id(resp))
            self.assertEqual(1, len(found), (method, path))
            event = found[0]
            rtype, action = _expected(method, path)
            self.assertEqual((rtype, action, 'success', 'user-a',
                              self.project),
                             (event.resource_type, event.action,
                              event.outcome, event.user_id,
                              event.project_id), (method, path))
            if '{' in path:
                ident = test_rbac._fill(path, names).split('/')[2]
            else:
                ident = resp.json['uuid']
            self.assertEqual(ident, event.resource_uuid, (method, path))

    def test_every_refused_write_records_a_failure(self):
        counter = itertools.count()
        for method, path, body in WRITES:
            names = self.fixtures(next(counter))
            resp = self.write(method, path, body, names, persona='reader')
            self.assertEqual(403, resp.status_int, (method, path))
            found = events(request_id=self.request_id(resp))
            self.assertEqual(1, len(found), (method, path))
            event = found[0]
            rtype, action = _expected(method, path)
            self.assertEqual((rtype, action, 'failure', self.project,
                              {'status': 403, 'code': 'craton.forbidden'}),
                             (event.resource_type, event.action,
                              event.outcome, event.project_id,
                              event.detail), (method, path))

    def test_upload_is_an_update(self):
        names = self.fixtures(0)
        resp = self.upload(names['upload_task'])
        self.assertEqual(202, resp.status_int, resp.body)
        [event] = events(request_id=self.request_id(resp))
        self.assertEqual(('task', 'update', 'success', names['upload_task']),
                         (event.resource_type, event.action, event.outcome,
                          event.resource_uuid))
        resp = self.upload(names['upload_task'], persona='reader')
        self.assertEqual(403, resp.status_int)
        [event] = events(request_id=self.request_id(resp))
        self.assertEqual(('update', 'failure'), (event.action,
                                                 event.outcome))

    def test_visibility_change_is_an_update(self):
        task = self.make_task('vis')
        resp = self.patch('/tasks/vis', [
            {'op': 'replace', 'path': '/visibility', 'value': 'public'}])
        [event] = events(request_id=self.request_id(resp))
        self.assertEqual(('update', task.uuid), (event.action,
                                                 event.resource_uuid))

    def test_every_write_route_is_classified(self):
        """Every POST/PUT/PATCH/DELETE the v1 controllers expose maps to
        a resource type and an action: a new write route without an event
        fails here.
        """
        unmapped = []
        for name in v1.RESOURCES:
            ctrl = getattr(v1.Controller, name)
            routes = []
            for method in ('post', 'put', 'patch', 'delete'):
                if callable(getattr(ctrl, method, None)):
                    path = '/v1/%s' % name
                    if method != 'post':
                        path += '/x'
                    routes.append((method.upper(), path))
            for action, methods in getattr(ctrl, '_custom_actions',
                                           {}).items():
                for method in methods:
                    if method in api_audit.MUTATING:
                        routes.append((method, '/v1/%s/x/%s' % (name,
                                                                 action)))
            for attr in dir(ctrl):
                sub = getattr(ctrl, attr, None)
                if attr.startswith('_') or not hasattr(sub, '_route'):
                    continue
                for method in ('post', 'put', 'patch', 'delete'):
                    if callable(getattr(sub, method, None)):
                        routes.append((method.upper(), '/v1/%s/x/%s' % (
                            name, attr)))
            for method, path in routes:
                if api_audit.classify(method, path) is None:
                    unmapped.append('%s %s' % (method, path))
        self.assertEqual([], unmapped)
        self.assertIsNone(api_audit.classify('GET', '/v1/tasks'))
        self.assertIsNone(api_audit.classify('POST', '/v1/tasks/x'))
        self.assertEqual(('job', 'run', None),
                         api_audit.classify('POST', '/v1/jobs'))
        self.assertEqual(('secret', 'update', 's'),
                         api_audit.classify('PUT', '/v1/secrets/s'))


class TestOutcomes(EventsTestCase):

    def test_not_visible_is_recorded_under_the_callers_project(self):
        region = self.make_region('hidden', project='project-b')
        resp = self.delete('/regions/%s' % region.uuid, status=404)
        [event] = events(request_id=self.request_id(resp))
        self.assertEqual(('failure', self.project, region.uuid,
                          {'status': 404, 'code': 'craton.region.not_found'}),
                         (event.outcome, event.project_id,
                          event.resource_uuid, event.detail))
        self.assertEqual([], self.get('/events', project='project-b')
                         .json['events'])

    def test_admin_approving_another_projects_task(self):
        task = self.make_task('theirs', project='project-b',
                              approval='pending')
        resp = self.post('/tasks/%s/approve' % task.uuid, status=200)
        [event] = events(request_id=self.request_id(resp))
        self.assertEqual(('approve', 'project-b', 'user-a', 'success'),
                         (event.action, event.project_id, event.user_id,
                          event.outcome))

    def test_validation_and_conflict_failures(self):
        resp = self.post('/regions', {'name': ''}, status=400)
        [event] = events(request_id=self.request_id(resp))
        self.assertEqual(('create', 'failure', 400),
                         (event.action, event.outcome,
                          event.detail['status']))
        self.make_region('r1')
        self.make_region('r2')
        resp = self.patch('/regions/r2', [
            {'op': 'replace', 'path': '/name', 'value': 'r1'}], status=409)
        [event] = events(request_id=self.request_id(resp))
        self.assertEqual(('update', 'failure', 409),
                         (event.action, event.outcome,
                          event.detail['status']))

    def test_body_is_never_in_an_event(self):
        resp = self.post('/regions', {'name': 'r', 'description': 'SECRETX',
                                      'variables': {'pw': 'SECRETX'}},
                         status=201)
        self.post('/regions', {'name': 'SECRETX' * 100, 'x': 'SECRETX'},
                  status=400)
        with session.reader() as s:
            rows = s.execute(sa.select(models.Event)).scalars().all()
        self.assertEqual(2, len(rows))
        for row in rows:
            self.assertNotIn('SECRETX', repr(
                {c.name: getattr(row, c.name)
                 for c in models.Event.__table__.columns}))
        self.assertTrue(resp.json['uuid'])

    def test_write_that_changes_nothing(self):
        region = self.make_region('same')
        resp = self.patch('/regions/same', [
            {'op': 'replace', 'path': '/name', 'value': 'same'}])
        [event] = events(request_id=self.request_id(resp))
        self.assertEqual(('update', 'success', region.uuid),
                         (event.action, event.outcome, event.resource_uuid))

    def test_rolled_back_change_leaves_no_event(self):
        audit_state.begin('create', 'region', 'user-a', self.project, 'req-1')
        self.addCleanup(audit_state.clear)
        try:
            with session.writer() as s:
                s.add(models.Region(uuid=uuidutils.generate_uuid(),
                                    project_id=self.project, name='gone'))
                s.flush()
                raise RuntimeError('the rest of the change failed')
        except RuntimeError:
            pass
        self.assertEqual([], events())
        self.assertEqual(0, self.db.count(models.Region))
        self.assertIsNotNone(audit_state.pending())
        # The next transaction touching a region carries it.
        with session.writer() as s:
            s.add(models.Region(uuid=uuidutils.generate_uuid(),
                                project_id=self.project, name='kept'))
        [event] = events()
        self.assertEqual('req-1', event.request_id)
        self.assertIsNone(audit_state.pending())

    def test_failed_delete_rolls_back_with_no_success_event(self):
        task = self.make_task('used')
        self.make_workflow('wf', [task])
        resp = self.delete('/tasks/used', status=409)
        found = events(request_id=self.request_id(resp))
        self.assertEqual(['failure'], [e.outcome for e in found])

    def test_conductor_records_in_its_transaction(self):
        dbapi = db_api.get_instance()
        try:
            with session.writer():
                dbapi.record_event('read', 'secret', uuidutils.generate_uuid(),
                                   'project-a', 'user-a',
                                   detail={'job': 'j', 'step': 0})
                raise RuntimeError('rolled back')
        except RuntimeError:
            pass
        self.assertEqual([], events())
        values = dbapi.record_event('read', 'secret', None, 'project-a',
                                    'user-a', detail={'job': 'j',
                                                      'step': 0})
        [event] = events()
        self.assertEqual((values['uuid'], {'job': 'j', 'step': 0}),
                         (event.uuid, event.detail))
        self.assertRaises(ValueError, dbapi.record_event, 'peek', 'secret',
                          None, 'p', 'u')


class TestEventsAPI(EventsTestCase):

    def _make(self, n, project=None, **values):
        dbapi = db_api.get_instance()
        made = []
        for i in range(n):
            args = dict(action='update', resource_type='region',
                        resource_uuid=uuidutils.generate_uuid(),
                        project_id=project or self.project,
                        user_id='user-%d' % (i % 2))
            args.update(values)
            made.append(dbapi.record_event(**args))
        return made

    def test_list_and_show(self):
        made = self._make(3)
        self._make(2, project='project-b')
        listed = self.get('/events', persona='reader').json['events']
        self.assertEqual([e['uuid'] for e in made],
                         [e['uuid'] for e in listed])
        one = self.get('/events/%s' % made[0]['uuid'],
                       persona='reader').json
        self.assertEqual(
            {'uuid', 'time', 'project_id', 'user_id', 'action',
             'resource_type', 'resource_uuid', 'outcome', 'detail',
             'request_id', 'created_at', 'updated_at', 'links'}, set(one))
        other = self._make(1, project='project-b')[0]
        self.get('/events/%s' % other['uuid'], status=404)
        self.get('/events/not-a-uuid', status=404)

    def test_filters(self):
        made = self._make(4)
        self._make(1, action='delete', resource_type='host')
        got = self.get('/events?user=user-1').json['events']
        self.assertEqual([made[1]['uuid'], made[3]['uuid']],
                         [e['uuid'] for e in got])
        got = self.get('/events?resource=%s' % made[2]['resource_uuid'])
        self.assertEqual([made[2]['uuid']],
                         [e['uuid'] for e in got.json['events']])
        got = self.get('/events?resource_type=host&action=delete')
        self.assertEqual(1, len(got.json['events']))
        for query, field in (('resource_type=hosts', 'resource_type'),
                             ('action=peek', 'action'),
                             ('resource=nope', 'resource'),
                             ('outcome=maybe', 'outcome'),
                             ('sort_key=name', 'sort_key')):
            resp = self.get('/events?' + query, status=400)
            self.assertIn(field, resp.json['errors'][0]['detail'])

    def test_pages_in_time_then_uuid_order(self):
        # Seven events at the same instant: uuid breaks the tie.
        at = timeutils.utcnow()
        with session.writer() as s:
            for _ in range(7):
                trail.add(s, {'time': at, 'project_id': self.project,
                              'action': 'create', 'resource_type': 'host'})
        self._make(3)
        walked = []
        for sort_dir in ('asc', 'desc'):
            seen, url = [], '/v1/events?limit=3&sort_dir=' + sort_dir
            while url:
                page = self.app.get(url, headers=self.headers()).json
                seen += page['events']
                url = page.get('next', '').replace('http://localhost', '')
            keys = [(e['time'], e['uuid']) for e in seen]
            self.assertEqual(sorted(keys, reverse=sort_dir == 'desc'), keys)
            walked.append(len(seen))
        self.assertEqual([10, 10], walked)
        self.get('/events?marker=%s' % uuidutils.generate_uuid(),
                 status=400)

    def test_policy(self):
        self._make(1)
        other = self._make(1, project='project-b')[0]
        self.get('/events', persona='none', status=403)
        self.get('/events?all_projects=true', persona='member', status=403)
        every = self.get('/events?all_projects=true').json['events']
        self.assertIn(other['uuid'], [e['uuid'] for e in every])
        mine = self.get('/events').json['events']
        self.assertNotIn(other['uuid'], [e['uuid'] for e in mine])
        self.post('/events', {}, status=405)


class TestRecord(base.APITestCase):

    def test_record_joins_the_callers_transaction(self):
        from craton.common import audit as public_audit
        try:
            with session.writer():
                public_audit.record(public_audit.READ, public_audit.SECRET,
                                    None, 'project-a', 'user-a',
                                    detail={'job': 'j', 'step': 2})
                raise RuntimeError('rolled back')
        except RuntimeError:
            pass
        self.assertEqual([], events())
        values = public_audit.record('read', 'secret', None, 'project-a',
                                     'user-a', detail={'job': 'j',
                                                       'step': 2})
        [event] = events()
        self.assertEqual((values['uuid'], 'read', 'secret', 'success'),
                         (event.uuid, event.action, event.resource_type,
                          event.outcome))
