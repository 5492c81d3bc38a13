# SPDX-License-Identifier: Apache-2.0
"""/v1/secrets: a value goes in and never comes out (API.md, Secrets)."""

import json
import logging

from cryptography import fernet
import fixtures
from oslo_utils import uuidutils

from craton.common import states
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton.objects import secret as secret_obj
from craton.tests.unit.api import base

# Test-only keys, made afresh for each run.
KEY = fernet.Fernet.generate_key().decode()
VALUE = 'cloud-admin-password-Zq7'
METADATA = {'uuid', 'name', 'description', 'project_id', 'user_id',
            'created_at', 'updated_at', 'links'}


class SecretsTestCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.config(encryption_keys=[KEY], group='secrets')
        # Every answer of a test is checked for the value at the end.
        self.answers = []

    def request(self, *args, **kwargs):
        resp = super().request(*args, **kwargs)
        self.answers.append(resp.body)
        return resp

    def make(self, name='cloud-admin', value=VALUE, project=None, **kw):
        return self.post('/secrets', dict({'name': name, 'value': value},
                                          **kw), status=201,
                         project=project).json

    def assertNoValue(self, *values):
        values = values or (VALUE,)
        for body in self.answers:
            for value in values:
                self.assertNotIn(value.encode('utf-8'), body)
                self.assertNotIn(json.dumps(value).encode('utf-8'), body)


class TestSecrets(SecretsTestCase):

    def test_create_show_list_metadata_only(self):
        made = self.make(description='the cloud admin')
        self.assertEqual(METADATA, set(made))
        self.assertEqual(('cloud-admin', 'the cloud admin', 'project-a',
                          'user-a'),
                         (made['name'], made['description'],
                          made['project_id'], made['user_id']))
        self.assertEqual(made, self.get('/secrets/cloud-admin').json)
        self.assertEqual(made, self.get('/secrets/' + made['uuid']).json)
        listed = self.get('/secrets').json
        self.assertEqual({'secrets': [made]}, listed)
        self.assertIn('/v1/secrets/' + made['uuid'],
                      made['links'][0]['href'])
        self.assertIn('secrets', self.get('').json)
        self.assertNoValue()

    def test_value_is_encrypted_and_revealed(self):
        made = self.make()
        with session.reader() as s:
            row = s.get(models.Secret, 1)
        self.assertEqual('fernet', row.backend)
        self.assertIsNone(row.key_ref)
        self.assertNotIn(VALUE.encode(), row.ciphertext)
        self.assertEqual(VALUE.encode(),
                         fernet.Fernet(KEY).decrypt(row.ciphertext))
        secret = secret_obj.Secret.get_by_uuid(made['uuid'])
        self.assertEqual(VALUE.encode(), secret.reveal())

    def test_put_replaces_value_and_description(self):
        made = self.make(description='old')
        new = 'a-new-value-\u00e9\u4e2d'
        resp = self.put('/secrets/cloud-admin', {'value': new})
        self.assertEqual(METADATA, set(resp.json))
        self.assertEqual('old', resp.json['description'])
        self.assertIsNotNone(resp.json['updated_at'])
        secret = secret_obj.Secret.get_by_uuid(made['uuid'])
        self.assertEqual(new.encode('utf-8'), secret.reveal())
        resp = self.put('/secrets/' + made['uuid'],
                        {'value': VALUE, 'description': None})
        self.assertIsNone(resp.json['description'])
        self.assertEqual(VALUE.encode(), secret.reveal())
        self.assertNoValue(VALUE, new)

    def test_filter_by_name_and_paging(self):
        for i in range(5):
            self.make('s-%d' % i)
        self.assertEqual(['s-3'], [s['name'] for s in self.get(
            '/secrets?name=s-3').json['secrets']])
        self.assertEqual([], self.get('/secrets?name=nope').json['secrets'])
        for sort_key in ('name', 'created_at', 'updated_at', 'uuid'):
            for sort_dir in ('asc', 'desc'):
                seen = []
                resp = self.get('/secrets?limit=2&sort_key=%s&sort_dir=%s'
                                % (sort_key, sort_dir))
                while True:
                    seen += [s['uuid'] for s in resp.json['secrets']]
                    if 'next' not in resp.json:
                        break
                    resp = self.app.get(resp.json['next'],
                                        headers=self.headers())
                self.assertEqual(5, len(set(seen)), (sort_key, sort_dir))
                self.assertEqual(5, len(seen))
        names = [s['name'] for s in self.get(
            '/secrets?sort_key=name&sort_dir=desc').json['secrets']]
        self.assertEqual(['s-4', 's-3', 's-2', 's-1', 's-0'], names)
        for query in ('sort_key=value', 'sort_key=ciphertext',
                      'sort_dir=up', 'limit=0', 'limit=1001',
                      'marker=' + uuidutils.generate_uuid()):
            self.assertError(self.get('/secrets?' + query, status=400), 400)

    def test_duplicate_name_is_409(self):
        self.make()
        resp = self.post('/secrets', {'name': 'cloud-admin',
                                      'value': 'other-value'}, status=409)
        self.assertError(resp, 409, 'craton.duplicate', 'cloud-admin')
        # Another project may use the name.
        self.post('/secrets', {'name': 'cloud-admin', 'value': VALUE},
                  status=201, project='project-b')

    def test_names(self):
        for name in ('a', 'A.b_c-9', '...', '.hidden', 'x' * 255):
            self.make(name)
        for name in ('.', '..', '', 'a/b', 'a b', 'é', 'x' * 256, 5, None,
                     uuidutils.generate_uuid(), 'a\tb', ['a']):
            resp = self.post('/secrets', {'name': name, 'value': VALUE},
                             status=400)
            self.assertError(resp, 400, detail_contains='name')
        self.assertNoValue()

    def test_value_sizes_in_utf8_bytes(self):
        self.make('four-ascii', 'abcd')
        self.make('two-chars-four-bytes', '\u00e9\u00e9')
        self.make('max', 'x' * 65536)
        self.make('max-utf8', '\u4e2d' * (65536 // 3))
        for value in ('', 'abc', '\u00e9', 'ab\u00e9'[:2]):
            resp = self.post('/secrets', {'name': 'short', 'value': value},
                             status=400)
            self.assertError(resp, 400, 'craton.invalid_parameter',
                             ("'value'", 'at least 4 bytes'))
        for value in ('x' * 65537, '\u4e2d' * (65536 // 3 + 1)):
            resp = self.post('/secrets', {'name': 'long', 'value': value},
                             status=413)
            self.assertError(resp, 413, 'craton.too_large', "'value'")
            resp = self.put('/secrets/max', {'value': value}, status=413)
            self.assertError(resp, 413, 'craton.too_large', "'value'")
        resp = self.put('/secrets/max', {'value': 'abc'}, status=400)
        self.assertError(resp, 400, detail_contains="'value'")

    def test_bad_bodies_are_400_and_never_quote_the_value(self):
        cases = [
            {'name': 'a', 'value': 12345678},
            {'name': 'a', 'value': [VALUE]},
            {'name': 'a', 'value': {'v': VALUE}},
            {'name': 'a', 'value': True},
            {'name': 'a', 'value': None},
            {'name': 'a'},
            {'value': VALUE},
            {'name': 'a', 'value': VALUE, 'extra': 1},
            {'name': 'a', 'value': VALUE, 'description': 7},
            {'name': 'a', 'value': VALUE, 'description': [VALUE[:3]]},
            [VALUE],
            VALUE,
        ]
        for body in cases:
            resp = self.post('/secrets', body, status=400)
            self.assertError(resp, 400)
            resp = self.put('/secrets/a', body, status='*')
            self.assertIn(resp.status_int, (400, 404))
        self.make('a')
        for body in ({'value': 12345678}, {'value': VALUE, 'name': 'b'},
                     {'description': 'only'}, {'value': [VALUE]}):
            resp = self.put('/secrets/a', body, status=400)
            self.assertError(resp, 400)
        self.assertNoValue()

    def test_strings_that_are_not_unicode(self):
        headers = dict(self.headers(), **{'Content-Type': 'application/json'})
        for raw in ('{"name": "a", "value": "\\ud800%s"}' % VALUE,
                    '{"name": "a\\udfff", "value": "%s"}' % VALUE,
                    '{"name": "a", "value": "%s", "description": "\\ud83d"}'
                    % VALUE,
                    '{"name": "a", "value": "%s\\u0000"}' % VALUE):
            resp = self.app.post('/v1/secrets', raw, headers=headers,
                                 expect_errors=True)
            self.answers.append(resp.body)
            self.assertError(resp, 400)
        raw = ('{"name": "a", "value": "%s"}' % VALUE).encode() + b'\xff'
        resp = self.app.post('/v1/secrets', raw, headers=headers,
                             expect_errors=True)
        self.answers.append(resp.body)
        self.assertEqual(400, resp.status_int)
        self.assertNoValue()

    def test_no_key_is_503_naming_the_option(self):
        self.make()
        self.config(encryption_keys=[], group='secrets')
        resp = self.post('/secrets', {'name': 'b', 'value': VALUE},
                         status=503)
        self.assertError(resp, 503, 'craton.secret.store_unavailable',
                         '[secrets] encryption_keys')
        resp = self.put('/secrets/cloud-admin', {'value': VALUE}, status=503)
        self.assertError(resp, 503, 'craton.secret.store_unavailable',
                         '[secrets] encryption_keys')
        # Metadata stays readable and deletable.
        self.get('/secrets/cloud-admin')
        self.assertEqual(1, len(self.get('/secrets').json['secrets']))
        self.delete('/secrets/cloud-admin')
        self.get('/secrets/b', status=404)

    def test_malformed_key_is_503_without_the_key(self):
        self.config(encryption_keys=['not-a-fernet-key-' + VALUE],
                    group='secrets')
        resp = self.post('/secrets', {'name': 'b', 'value': 'abcdef'},
                         status=503)
        error = self.assertError(resp, 503, detail_contains=(
            'key 1 of [secrets] encryption_keys'))
        self.assertNotIn('not-a-fernet-key', error['detail'])
        self.assertNoValue()


class TestSecretDelete(SecretsTestCase):

    def setUp(self):
        super().setUp()
        self.secret = self.make()
        self.task = self.make_task('patch-host')

    def _name_in_workflow(self, wf_name, workflow_secrets=None,
                          step_secrets=None):
        wf = self.make_workflow(wf_name, [self.task])
        with session.writer() as s:
            row = s.query(models.Workflow).filter_by(uuid=wf.uuid).one()
            row.secrets = workflow_secrets
            row.steps[0].secrets = step_secrets
        return wf

    def _job_receiving(self, uuids, status='pending'):
        job = self.make_job(self.task)
        with session.writer() as s:
            row = s.query(models.Job).filter_by(uuid=job.uuid).one()
            row.status = status
            row.steps[0].secrets = uuids
        return job

    def test_delete(self):
        self.delete('/secrets/cloud-admin')
        self.get('/secrets/cloud-admin', status=404)
        self.get('/secrets/' + self.secret['uuid'], status=404)
        self.delete('/secrets/cloud-admin', status=404)

    def test_delete_used_by_workflows_is_409_naming_them(self):
        self._name_in_workflow('wf-all', workflow_secrets=['cloud-admin'])
        self._name_in_workflow('wf-step', step_secrets=['x', 'cloud-admin'])
        # Names that only look alike, and another project's workflow.
        self._name_in_workflow('wf-other', ['cloud-admin2', 'cloudXadmin'],
                               ['cloud'])
        resp = self.delete('/secrets/cloud-admin', status=409)
        error = self.assertError(resp, 409, 'craton.in_use',
                                 ("'wf-all'", "'wf-step'", 'cloud-admin'))
        self.assertNotIn('wf-other', error['detail'])
        self.get('/secrets/cloud-admin')

    def test_like_wildcards_are_checked_exactly(self):
        self.make('a_b')
        self._name_in_workflow('wf', workflow_secrets=['aXb'])
        self.delete('/secrets/a_b')

    def test_workflow_of_another_project_does_not_hold_it(self):
        other = self.make_task('t', project='project-b')
        wf = self.make_workflow('wf-b', [other], project='project-b')
        with session.writer() as s:
            s.query(models.Workflow).filter_by(uuid=wf.uuid).one() \
                .secrets = ['cloud-admin']
        self.delete('/secrets/cloud-admin')

    def test_delete_used_by_unfinished_jobs_is_409_naming_them(self):
        uuid = self.secret['uuid']
        running = self._job_receiving([uuid], states.JOB_RUNNING)
        pending = self._job_receiving([uuidutils.generate_uuid(), uuid])
        finished = self._job_receiving([uuid], states.JOB_SUCCEEDED)
        resp = self.delete('/secrets/cloud-admin', status=409)
        error = self.assertError(resp, 409, 'craton.in_use',
                                 (running.uuid, pending.uuid))
        self.assertNotIn(finished.uuid, error['detail'])
        for job in (running, pending):
            with session.writer() as s:
                s.query(models.Job).filter_by(uuid=job.uuid).one() \
                    .status = states.JOB_CANCELLED
        self.delete('/secrets/cloud-admin')


class TestSecretTenancyAndPolicy(SecretsTestCase):

    def test_another_projects_secret_is_404(self):
        made = self.make()
        for ident in ('cloud-admin', made['uuid']):
            for method, args in (('get', ()), ('delete', ()),
                                 ('put', ({'value': VALUE},))):
                resp = getattr(self, method)('/secrets/' + ident, *args,
                                             status=404,
                                             project='project-b')
                self.assertError(resp, 404, 'craton.secret.not_found')
        self.assertEqual([], self.get('/secrets', project='project-b')
                         .json['secrets'])
        self.get('/secrets/cloud-admin')

    def test_personas(self):
        made = self.make()
        for persona, read, write in (('admin', 200, True),
                                     ('member', 200, True),
                                     ('reader', 200, False),
                                     ('none', 403, False)):
            self.get('/secrets', status=read, persona=persona)
            self.get('/secrets/cloud-admin', status=read, persona=persona)
            status = 201 if write else 403
            self.post('/secrets', {'name': 'by-' + persona, 'value': VALUE},
                      status=status, persona=persona)
            self.put('/secrets/cloud-admin', {'value': VALUE},
                     status=200 if write else 403, persona=persona)
            if not write:
                self.delete('/secrets/cloud-admin', status=403,
                            persona=persona)
        self.delete('/secrets/by-member', persona='member')
        self.delete('/secrets/' + made['uuid'], persona='member')

    def test_all_projects_is_for_admins(self):
        self.make()
        self.make(project='project-b')
        resp = self.get('/secrets?all_projects=true')
        self.assertEqual({'project-a', 'project-b'},
                         {s['project_id'] for s in resp.json['secrets']})
        for persona in ('member', 'reader'):
            self.get('/secrets?all_projects=true', status=403,
                     persona=persona)
        self.assertNoValue()


class TestSecretLogs(SecretsTestCase):
    """No value reaches a log line, at DEBUG, whatever the request."""

    def test_value_never_logged(self):
        logger = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        values = [VALUE, 'second-value-Kp3', 'third-value-Lm8',
                  'fourth-value-Nq2']
        made = self.make(value=values[0])
        self.put('/secrets/cloud-admin', {'value': values[1],
                                          'description': 'd'})
        self.post('/secrets', {'name': 'cloud-admin', 'value': values[2]},
                  status=409)
        self.post('/secrets', {'name': '..', 'value': values[2]},
                  status=400)
        self.post('/secrets', {'name': 'a', 'value': values[2],
                               'bogus': values[3]}, status=400)
        self.post('/secrets', {'name': 'a', 'value': [values[2]]},
                  status=400)
        self.post('/secrets', {'name': 'a', 'value': values[2] * 3000},
                  status=413)
        self.post('/secrets', [values[2]], status=400)
        headers = dict(self.headers(), **{'Content-Type': 'application/json'})
        for raw in ('{"name": "a", "value": "%s", "n": NaN}' % values[2],
                    '{"name": "a", "value": "%s"' % values[2],
                    '{"name": "a", "value": "\\ud800%s"}' % values[2]):
            resp = self.app.post('/v1/secrets', raw, headers=headers,
                                 expect_errors=True)
            self.answers.append(resp.body)
            self.assertEqual(400, resp.status_int, raw)
        self.put('/secrets/nope', {'value': values[2]}, status=404)
        self.put('/secrets/cloud-admin', {'value': values[3]},
                 status=403, persona='reader')
        self.delete('/secrets/cloud-admin', status=403, persona='reader')
        self.config(encryption_keys=[], group='secrets')
        self.post('/secrets', {'name': 'b', 'value': values[2]}, status=503)
        self.put('/secrets/cloud-admin', {'value': values[3]}, status=503)
        self.config(encryption_keys=[KEY], group='secrets')
        self.assertEqual(values[1].encode(), secret_obj.Secret.get_by_uuid(
            made['uuid']).reveal())
        self.delete('/secrets/cloud-admin')
        # WSME's and our own DEBUG lines were captured.
        self.assertIn('Client-side error', logger.output)
        for value in values:
            self.assertNotIn(value, logger.output)
        self.assertNoValue(*values)
