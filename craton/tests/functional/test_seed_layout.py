# SPDX-License-Identifier: Apache-2.0
"""The seed's own task layout runs, on both execution drivers.

The seed's example task is a directory of Python modules added whole at
``/craton`` (``ADD . /craton``) and run as ``python3 /craton/task1.py``.
Here that layout is built exactly, from files written with the modes an
uploaded or copied directory often has (0600 files, 0700 directories), once
as a ``local`` source and once as an ``upload`` source, then run as a job:
the step, running as the sandbox's unprivileged user, must import its
sibling module and read both its argument and its payload file.

Two faults made this fail: the payload volume was mounted over ``/craton``
and hid the task's files, and ``ADD`` kept the 0600/0700 modes (owner root)
so the step's user could read nothing.

Needs CRATON_FUNCTIONAL=1 and the engine and base images of
tools/prepare-functional.sh; the swarm variant also CRATON_SWARM=1 (see
:mod:`.swarmenv`).
"""

import io
import json
import os
import tarfile
import tempfile
import textwrap
import uuid

import testtools

from craton.tests.functional import dbfixtures
from craton.tests.functional import deployment
from craton.tests.functional import swarmenv

COMMAND = ['python3', '/craton/task1.py']
DOCKERFILE = 'FROM craton/python3:bookworm\nADD . /craton\n'
TASK_UTI = textwrap.dedent('''\
    """Helpers of task1, imported from the same directory."""
    import json
    import os

    NAME = 'task_uti'


    def argument(argv):
        """The payload given as the last argument (inline JSON)."""
        return json.loads(argv[-1])


    def payload_file():
        """(path, payload) of the file CRATON_PAYLOAD_FILE names."""
        path = os.environ['CRATON_PAYLOAD_FILE']
        with open(path, 'rb') as f:
            return path, json.load(f)
    ''')
TASK1 = textwrap.dedent('''\
    import json
    import os
    import sys

    import task_uti

    arg = task_uti.argument(sys.argv)
    path, from_file = task_uti.payload_file()
    print('task1 running as uid %d' % os.getuid())
    print('::craton-result:: ' + json.dumps({
        'helper': task_uti.NAME,
        'uid': os.getuid(),
        'argv_token': arg['variables']['token'],
        'file_token': from_file['variables']['token'],
        'argv_job': arg['job']['uuid'],
        'payload_file': path,
        'same_payload': arg == from_file,
        'files': sorted(os.listdir('/craton'))}, sort_keys=True))
    ''')
# The seed's directory, with the modes each entry is given explicitly.
FILES = {'__init__.py': '', 'task1.py': TASK1, 'task_uti.py': TASK_UTI,
         'requirements.txt': '', 'Dockerfile': DOCKERFILE}
FILE_MODE, DIR_MODE = 0o600, 0o700


def write_seed_task(path):
    """Write the seed's task directory at ``path``: files 0600, the
    directory 0700, whatever the umask.
    """
    os.mkdir(path)
    for name, text in FILES.items():
        with open(os.path.join(path, name), 'w') as f:
            f.write(text)
        os.chmod(os.path.join(path, name), FILE_MODE)
    os.chmod(path, DIR_MODE)
    return path


def seed_archive():
    """A gzipped tar of the seed's task directory, its modes kept, made
    as ``tar -czf task.tar.gz -C task .`` would.
    """
    with tempfile.TemporaryDirectory() as top:
        path = write_seed_task(os.path.join(top, 'task'))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w:gz') as tar:
            tar.add(path, arcname='.')
    data = buf.getvalue()
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:gz') as tar:
        modes = {m.name: m.mode for m in tar.getmembers()}
    assert modes == dict({'.': DIR_MODE}, **{
        './' + n: FILE_MODE for n in FILES}), modes
    return data


@dbfixtures.requires_functional
class SeedLayoutTest(deployment.DeployedTestCase):
    """The seed's layout on the docker execution driver."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host = 'seed-host-%s' % uuid.uuid4().hex[:6]
        cls.api.add_hosts([cls.host])

    def run_task(self, task):
        """Approve ``task`` (ready), run a one-step job of it; check the
        step read its argument and its payload file as the sandbox's user.
        """
        self.assertEqual('ready', task['status'], task)
        self.api.post('/v1/tasks/%s/approve' % task['uuid'], expect=200)
        token = 'seed-%s' % uuid.uuid4().hex
        job = self.api.submit_job({'hosts': [self.host]}, task=task['uuid'],
                                  variables={'token': token})
        job = self.api.wait_job(job['uuid'], timeout=300)
        log, complete = self.api.full_log(job['uuid'], 0)
        self.addDetail('step log', testtools.content.text_content(
            log.decode('utf-8', 'replace')))
        step = job['steps'][0]
        self.assertEqual(('succeeded', 'succeeded', 0),
                         (job['status'], step['status'], step['exit_code']),
                         job)
        expected = {
            'helper': 'task_uti', 'uid': 65534, 'argv_token': token,
            'file_token': token, 'argv_job': job['uuid'],
            'payload_file': '/run/craton/payload.json',
            'same_payload': True, 'files': sorted(FILES)}
        self.assertEqual(expected, step['result'])
        # The same object on the last marker line of the stored log.
        lines = [line for line in log.decode().splitlines()
                 if line.startswith('::craton-result::')]
        self.assertEqual(expected, json.loads(
            lines[-1][len('::craton-result::'):]))
        self.assertTrue(complete)

    def test_local_source_with_private_modes(self):
        name = 'seed-local-%s' % uuid.uuid4().hex[:6]
        path = write_seed_task(os.path.join(self.root, name))
        task = self.api.create_task(name, path, COMMAND)
        self.run_task(self.api.wait_task(task['uuid']))

    def test_upload_source_with_private_modes(self):
        name = 'seed-upload-%s' % uuid.uuid4().hex[:6]
        task = self.api.post('/v1/tasks', {
            'name': name, 'source': {'type': 'upload'},
            'command': COMMAND}, expect=202)
        self.api.request('PUT', '/v1/tasks/%s/source' % task['uuid'], 202,
                         data=seed_archive(),
                         headers={'Content-Type': 'application/gzip'})
        self.run_task(self.api.wait_task(task['uuid']))


@swarmenv.requires_swarm
class SwarmSeedLayoutTest(SeedLayoutTest):
    """The seed's layout on the swarm execution driver: the step is a
    service on the real 3-node Swarm, the image pushed to its registry.
    """

    @classmethod
    def deployment_extra(cls):
        return swarmenv.deployment_extra()
