# SPDX-License-Identifier: Apache-2.0
"""Secret values at rest on real MariaDB and PostgreSQL
(CRATON_FUNCTIONAL=1): the stored ``ciphertext`` does not hold the
plaintext, it decrypts after a key rotation under the new key alone, and
the "in use" check of a delete (LIKE over JSON list columns) finds the
workflows and unfinished jobs that use a secret on each backend.

A job naming a secret and a delete of that secret, sent at once, never
both succeed: the job's transaction locks the secrets it names and the
delete locks the secret before its in-use check.
"""

import threading

from cryptography import fernet
from oslo_config import fixture as config_fixture
from oslo_utils import uuidutils
import sqlalchemy as sa
import testtools

from craton.common import context
from craton.common import exception
from craton.common import states
from craton import conf
from craton.db import api as db_api
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton import objects
from craton.objects import secret as secret_obj
from craton.tests.functional import dbfixtures

objects.register_all()

VALUE = 'bmc-password-at-rest-7Qx'


class _SecretsAtRestMixin:
    BACKEND = None

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(conf.CONF))
        session.reset()
        self.addCleanup(session.reset)
        self.db = self.useFixture(dbfixtures.Database(
            self.BACKEND, schema=True, patch_session=True))
        # Test-only keys, made for this run.
        self.old, self.new = (fernet.Fernet.generate_key().decode()
                              for _ in range(2))
        self.ctx = context.RequestContext(project_id='proj', user_id='u')

    def keys(self, *keys):
        self.conf.config(encryption_keys=list(keys), group='secrets')

    def raw_tokens(self):
        with self.db.engine.connect() as conn:
            return dict(conn.execute(sa.text(
                'SELECT name, ciphertext FROM secrets')).all())

    def test_ciphertext_rotation_and_in_use(self):
        self.keys(self.old)
        secret = secret_obj.Secret(self.ctx, project_id='proj',
                                   user_id='u', name='bmc_pw')
        secret.create(VALUE)
        before = self.raw_tokens()['bmc_pw']
        self.assertNotIn(VALUE.encode(), bytes(before))
        self.assertEqual(VALUE.encode(),
                         fernet.Fernet(self.old).decrypt(bytes(before)))

        self.keys(self.new, self.old)
        self.assertEqual((1, 1), secret_obj.Secret.rotate_keys())
        self.assertEqual((0, 1), secret_obj.Secret.rotate_keys())
        after = bytes(self.raw_tokens()['bmc_pw'])
        self.assertNotEqual(bytes(before), after)
        self.assertNotIn(VALUE.encode(), after)
        self.keys(self.new)
        self.assertEqual(VALUE.encode(), secret_obj.Secret.get(
            self.ctx, 'bmc_pw').reveal())

        # Used by a workflow step (by name) and an unfinished job's step
        # (by UUID); "bmcXpw" only looks alike to LIKE.
        task_uuid = uuidutils.generate_uuid()
        job_uuid = uuidutils.generate_uuid()
        with session.writer() as s:
            s.add(models.Workflow(
                uuid=uuidutils.generate_uuid(), project_id='proj',
                name='wf-uses', secrets=['bmcXpw'], steps=[
                    models.WorkflowStep(position=0, name='s',
                                        task_uuid=task_uuid,
                                        secrets=['bmc_pw'])]))
            s.add(models.Job(
                uuid=job_uuid, project_id='proj', task_uuid=task_uuid,
                status=states.JOB_RUNNING, host_count=0, steps=[
                    models.JobStep(index=0, name='s', task_uuid=task_uuid,
                                   timeout=60, status=states.STEP_RUNNING,
                                   log_bytes=0,
                                   secrets=[secret.uuid])]))
        error = self.assertRaises(exception.InUse, secret.destroy)
        self.assertIn("'wf-uses'", str(error))
        self.assertIn(job_uuid, str(error))
        with session.writer() as s:
            s.delete(s.query(models.Workflow).one())
            s.query(models.Job).filter_by(uuid=job_uuid).one().status = \
                states.JOB_SUCCEEDED
        secret.destroy()
        self.assertEqual({}, self.raw_tokens())

    def test_delete_and_job_race_never_both_win(self):
        self.keys(self.old)
        dbapi = db_api.get_instance()
        task_uuid = uuidutils.generate_uuid()
        outcomes = []
        for round_ in range(12):
            secret = secret_obj.Secret(self.ctx, project_id='proj',
                                       user_id='u', name='race%d' % round_)
            secret.create(VALUE)
            got = {}
            barrier = threading.Barrier(2)

            def submit(barrier=barrier, got=got, secret=secret):
                barrier.wait()
                try:
                    got['job'] = dbapi.create_job(
                        {'project_id': 'proj', 'task_uuid': task_uuid,
                         'status': states.JOB_PENDING, 'host_count': 0},
                        [{'name': 's', 'task_uuid': task_uuid,
                          'timeout': 60, 'secrets': [secret.uuid]}]).uuid
                except exception.InvalidParameter:
                    got['job'] = None

            def delete(barrier=barrier, got=got, secret=secret):
                barrier.wait()
                try:
                    secret.destroy()
                    got['deleted'] = True
                except exception.InUse:
                    got['deleted'] = False

            threads = [threading.Thread(target=f) for f in (submit, delete)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            outcomes.append((got['job'] is not None, got['deleted']))
            if got['job']:
                dbapi.update_job(got['job'], {'status': states.JOB_FAILED})
        # Either the job won (the delete saw it) or the delete did (the
        # job was refused); never both.
        self.assertNotIn((True, True), outcomes)
        self.assertNotIn((False, False), outcomes)


@dbfixtures.requires_functional
class TestSecretsAtRestMySQL(_SecretsAtRestMixin, testtools.TestCase):
    BACKEND = 'mysql'


@dbfixtures.requires_functional
class TestSecretsAtRestPostgreSQL(_SecretsAtRestMixin, testtools.TestCase):
    BACKEND = 'postgresql'
