# SPDX-License-Identifier: Apache-2.0
"""Secret values reach the step that uses them and nothing else.

A job whose step receives two secrets (one named by its workflow, one by
the job) runs on each driver. The step reads both files, prints the values
in every awkward way (split across writes, with stderr in between, across
the engine's 16 KiB line cut, in its result), and lingers so the test can
look at the engine while it runs. Then every place a value could leak is
searched (API.md, "Secrets"): the container's or service's inspect output
(argv, environment, labels, mounts), the Swarm secrets' specs and the task
container on its node, every byte of the database's files, every API
answer this test received, the service's own log file (at debug level),
and the stored step log. The step itself proves it read both values.
"""

import base64
import glob
import hashlib
import json
import os
import textwrap
import time
import uuid

import docker
from cryptography import fernet
import testtools

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment
from craton.tests.functional import swarmenv

# Each ends the step's linger: what the test looks at, it looks at while
# the step runs.
LINGER = 12

SCRIPT = textwrap.dedent('''\
    import hashlib, json, os, sys, time
    arg = sys.argv[-1]
    if arg.startswith('@'):
        with open(arg[1:]) as f:
            payload = json.load(f)
    else:
        payload = json.loads(arg)
    out, err = sys.stdout.buffer, sys.stderr.buffer
    found, seen = {}, []
    for name, path in sorted(payload['secrets'].items()):
        st = os.stat(path)
        with open(path, 'rb') as f:
            data = f.read()
        seen.append(data)
        found[name] = {'sha256': hashlib.sha256(data).hexdigest(),
                       'mode': oct(st.st_mode & 0o777), 'uid': st.st_uid,
                       'is_file': os.path.isfile(path)}
        half = len(data) // 2
        out.write(b'value of ' + name.encode() + b': ' + data[:half])
        out.flush()
        err.write(b'(stderr in between)\\n')
        err.flush()
        out.write(data[half:] + b'\\n')
        out.flush()
        err.write(data + b'\\n')
        err.flush()
        # Across the engine's 16 KiB cut of a long line.
        out.write(b'z' * (16 * 1024 - len(data) // 2) + data + b'\\n')
        out.flush()
    # The values are in no argument and no environment variable.
    argv = b' '.join(os.fsencode(a) for a in sys.argv)
    env = b' '.join(os.fsencode(k) + b'=' + os.fsencode(v)
                    for k, v in os.environ.items())
    found['argv_clean'] = all(d not in argv for d in seen)
    found['env_clean'] = all(d not in env for d in seen)
    time.sleep(payload['variables']['linger'])
    print('::craton-result:: ' + json.dumps(found))
''')


def _forms(value):
    """The ways a value could show up in text we search: its UTF-8 bytes,
    its JSON-escaped ASCII form, and base64 (Swarm secret bodies).
    """
    raw = value.encode('utf-8')
    return [raw, json.dumps(value)[1:-1].encode('ascii'),
            base64.b64encode(raw)]


@dbfixtures.requires_functional
class SecretLeakTest(testtools.TestCase):
    """The docker driver."""

    @classmethod
    def deployment_extra(cls):
        return {'secrets': {'encryption_keys':
                            fernet.Fernet.generate_key().decode()}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = deployment.source_root()
        cls.deploy = deployment.Deployment(source_roots=[cls.root],
                                           extra=cls.deployment_extra())
        cls.deploy.setUp()
        cls.api = cls.deploy.client
        # Every answer this client receives, headers and body.
        cls.answers = []

        def keep(resp, *args, **kwargs):
            cls.answers.append(
                json.dumps(dict(resp.headers)).encode() + resp.content)
        cls.api.session.hooks['response'].append(keep)
        cls.api.ready_task('secret-reader', deployment.task_dir(
            cls.root, 'secret-reader', SCRIPT),
            ['python3', '/craton/task.py'])
        cls.api.add_hosts(['compute-01'])

    @classmethod
    def tearDownClass(cls):
        cls.deploy.cleanUp()
        super().tearDownClass()

    # What the engine shows while the step runs
    def engine_views(self, job_uuid):
        """JSON text of everything the engine shows of the job's step."""
        api = docker.APIClient(base_url=deployment.DOCKER_URL,
                               version='auto')
        found = self.wait_for(lambda: api.containers(
            all=True, filters={'label': 'craton.job=%s' % job_uuid}))
        views = [api.inspect_container(c['Id']) for c in found]
        for c in found:
            for mount in api.inspect_container(c['Id'])['Mounts']:
                if mount.get('Name'):
                    views.append(api.inspect_volume(mount['Name']))
        return [json.dumps(v) for v in views]

    def wait_for(self, probe, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = probe()
            if got:
                return got
            time.sleep(0.2)
        self.fail('nothing found within %s s' % timeout)

    def assert_nowhere(self, values, places):
        """No form of any value in any of ``places`` ({what: [bytes]})."""
        hits = []
        for what, texts in places.items():
            for text in texts:
                if isinstance(text, str):
                    text = text.encode('utf-8')
                for value in values:
                    for form in _forms(value):
                        if form in text:
                            hits.append((what, value))
        self.assertEqual([], hits)
        return sum(len(t) for texts in places.values() for t in texts)

    def test_two_secrets_reach_the_step_and_leak_nowhere(self):
        tag = uuid.uuid4().hex[:12]
        values = {'cloud-admin-%s' % tag: 'cloud-pw-%s-\u00e9t\u00e9' % tag,
                  'bmc-%s' % tag: 'bmc-token-%s-%s' % (tag,
                                                        uuid.uuid4().hex)}
        admin, bmc = sorted(values, reverse=True)
        for name, value in values.items():
            created = self.api.post('/v1/secrets', {
                'name': name, 'description': 'leak test',
                'value': value}, expect=201)
            self.assertNotIn('value', created)
        self.api.create_workflow('leaky-%s' % tag, [
            {'task': 'secret-reader', 'variables': {
                'linger': LINGER}}])
        self.api.request('PUT', '/v1/workflows/leaky-%s' % tag, 200, json={
            'name': 'leaky-%s' % tag, 'secrets': [admin],
            'steps': [{'task': 'secret-reader',
                       'variables': {'linger': LINGER}}]})
        job = self.api.post('/v1/jobs', {
            'workflow': 'leaky-%s' % tag, 'secrets': [bmc],
            'inventory': {'hosts': ['compute-01']}}, expect=202)
        self.assertEqual([bmc], job['secrets'])
        self.api.wait_step(job['uuid'], 0, 'running')
        engine = self.engine_views(job['uuid'])
        done = self.api.wait_job(job['uuid'], timeout=300)
        self.assertEqual('succeeded', done['status'], done)

        # The step read both values from its files.
        result = done['steps'][0]['result']
        for name, value in values.items():
            self.assertEqual({
                'sha256': hashlib.sha256(value.encode()).hexdigest(),
                'mode': '0o400', 'uid': 65534, 'is_file': True},
                result[name])
        self.assertTrue(result['argv_clean'])
        self.assertTrue(result['env_clean'])

        log, complete = self.api.full_log(job['uuid'], 0)
        self.assertTrue(complete)
        # Each value appears 3 times on stdout/stderr, all redacted.
        self.assertEqual(3 * len(values), log.count(b'***'))
        self.api.get('/v1/jobs/%s' % job['uuid'])
        self.api.get('/v1/secrets')
        self.api.get('/v1/workflows/leaky-%s' % tag)
        events = self.api.request('GET', '/v1/events')
        db_files = [open(p, 'rb').read() for p in
                    glob.glob(os.path.join(self.deploy.dir,
                                           'craton.sqlite*'))]
        self.assertTrue(db_files)
        service_logs = [open(p, 'rb').read() for p in
                        glob.glob(os.path.join(self.deploy.dir, '*.log'))]
        searched = self.assert_nowhere(list(values.values()), {
            'engine inspect': engine,
            'database files': db_files,
            'API answers': self.answers,
            'service log': service_logs,
            'stored step log': [log],
        })
        print('\n%s: searched %d bytes (%d API answers, %d engine views, '
              'events %s) for %d values: 0 hits' % (
                  type(self).__name__, searched, len(self.answers),
                  len(engine), events.status_code, len(values)))


@swarmenv.requires_swarm
class SwarmSecretLeakTest(SecretLeakTest):
    """The swarm driver: the service, its task, the task's container on
    its node and the Swarm secrets.
    """

    @classmethod
    def deployment_extra(cls):
        return swarmenv.deployment_extra(super().deployment_extra())

    def engine_views(self, job_uuid):
        api = swarmenv.manager_api()
        label = {'label': 'craton.job=%s' % job_uuid}
        services = self.wait_for(lambda: api.services(filters=label))
        views = [api.inspect_service(s['ID']) for s in services]
        tasks = self.wait_for(lambda: [
            t for s in services
            for t in api.tasks(filters={'service': s['ID']})
            if t['Status'].get('ContainerStatus', {}).get('ContainerID')])
        views += tasks
        secrets = api.secrets(filters=label)
        self.assertTrue(secrets)
        views += [api.inspect_secret(s['ID']) for s in secrets]
        for task in tasks:
            cid = task['Status']['ContainerStatus']['ContainerID']
            for url in swarmenv.node_urls().values():
                node = docker.APIClient(base_url=url, version='auto')
                try:
                    views.append(node.inspect_container(cid))
                except docker.errors.NotFound:
                    continue
        return [json.dumps(v) for v in views]
