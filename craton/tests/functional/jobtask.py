# SPDX-License-Identifier: Apache-2.0
"""The task most functional job tests run: one Python script whose
behaviour each step sets through variables, so a workflow of several steps
needs one image. It reports what it received as its result.
"""

import os
import threading
import time

from craton.tests.functional import deployment

SCRIPT = '''\
import json, os, sys, time
arg = sys.argv[-1]
if arg.startswith('@'):
    with open(arg[1:]) as f:
        payload = json.load(f)
    form = 'file'
else:
    payload = json.loads(arg)
    form = 'inline'
with open(os.environ['CRATON_PAYLOAD_FILE']) as f:
    file_matches = json.load(f) == payload
v = payload['variables']
if v.get('shapes'):
    # Output of the shapes operators' tasks print (see SHAPES_LOG).
    w = sys.stdout.buffer
    w.write(b'x' + '\\u00e9'.encode() * 30000 + b'\\n')
    w.write(b'\\xff\\xfe raw bytes\\n')
    w.write(('::craton-result:: ' + json.dumps(
        {'big': 'x' + '\\u00e9' * 30000}, ensure_ascii=False) +
        '\\n').encode())
    for i in range(120):
        w.write(b'after %d\\n' % i)
    w.write(b'no newline at the end')
    w.flush()
    sys.exit(0)
for i in range(int(v.get('lines', 0))):
    print('line %d' % i, flush=True)
    time.sleep(float(v.get('interval', 0)))
if v.get('stderr'):
    print(v['stderr'], file=sys.stderr, flush=True)
time.sleep(float(v.get('sleep', 0)))
inv = payload['inventory']
print('::craton-result:: ' + json.dumps({
    'step': payload['step']['name'], 'hosts': len(inv), 'form': form,
    'file_matches': file_matches, 'results_seen': sorted(payload['results']),
    'results': payload['results'], 'first_host': inv[0] if inv else None,
    'job': payload['job'], 'variables': v}, sort_keys=True), flush=True)
sys.exit(int(v.get('exit_code', 0)))
'''

COMMAND = ['python3', '/craton/task.py']

# What a step with the variable ``shapes`` writes, and its result.
SHAPES_RESULT = {'big': 'x' + '\u00e9' * 30000}
SHAPES_LOG = (
    b'x' + '\u00e9'.encode() * 30000 + b'\n' + b'\xff\xfe raw bytes\n' +
    b'::craton-result:: {"big": "x' + '\u00e9'.encode() * 30000 + b'"}\n' +
    b''.join(b'after %d\n' % i for i in range(120)) +
    b'no newline at the end')


def make(root, name='jobtask'):
    """Write the task's source directory under ``root``."""
    return deployment.task_dir(root, name, SCRIPT)


def register(client, root, name='jobtask'):
    """Create, build and approve the task; returns its API view."""
    return client.ready_task(name, make(root, name), COMMAND)


def expected_log(lines, result_line):
    """The exact bytes a step that printed ``lines`` numbered lines and
    ``result_line`` wrote (stdout only).
    """
    out = ''.join('line %d\n' % i for i in range(lines))
    return (out + result_line + '\n').encode()


def result_line(log):
    for line in reversed(log.decode().splitlines()):
        if line.startswith('::craton-result::'):
            return line
    return None


def docker_client():
    import docker
    return docker.DockerClient(base_url=os.environ.get(
        'CRATON_TEST_DOCKER_URL', deployment.DOCKER_URL))


class CreateRecorder:
    """Counts the containers the engine creates, per job and step, from
    the engine's live event stream.

    Live, because the engine keeps only its last 256 events for a later
    ``since`` query: a busy test would lose the early ones.
    """

    def __init__(self):
        self.counts = {}
        self._client = self.client()
        self._events = self._client.events(decode=True,
                                           filters=self.FILTERS)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    FILTERS = {'type': 'container', 'event': 'create',
               'label': 'craton.managed=true'}

    def client(self):
        return docker_client()

    @staticmethod
    def key(attrs):
        """(job, step) of the created object."""
        return attrs.get('craton.job'), attrs.get('craton.step')

    def _read(self):
        try:
            for event in self._events:
                key = self.key(event['Actor']['Attributes'])
                self.counts[key] = self.counts.get(key, 0) + 1
        except Exception:
            # Closing the stream from stop() ends the read with an error.
            pass

    def creates(self, job_uuid):
        """{step index (str): containers created} for one job."""
        # Events arrive asynchronously: give the stream a moment.
        time.sleep(0.5)
        return {step: n for (job, step), n in list(self.counts.items())
                if job == job_uuid}

    def stop(self):
        self._events.close()
        self._client.close()


class ServiceCreateRecorder(CreateRecorder):
    """Counts the services a Swarm manager creates, per job and step.

    Service events carry only the service's name, which is
    ``craton-<job uuid>-<step index>``.
    """

    FILTERS = {'type': 'service', 'event': 'create'}

    def __init__(self, manager_url):
        self.manager_url = manager_url
        super().__init__()

    def client(self):
        import docker
        return docker.DockerClient(base_url=self.manager_url)

    @staticmethod
    def key(attrs):
        name = attrs.get('name') or ''
        if not name.startswith('craton-'):
            return None, None
        job, _, step = name[len('craton-'):].rpartition('-')
        return job, step
