"""The task most functional job tests run: one Python script whose
behaviour each step sets through variables, so a workflow of several steps
needs one image. It reports what it received as its result."""

import os

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

COMMAND = ['python3', '/craton-task/task.py']


def make(root, name='jobtask'):
    """Write the task's source directory under ``root``."""
    return deployment.task_dir(root, name, SCRIPT)


def register(client, root, name='jobtask'):
    """Create, build and approve the task; returns its API view."""
    return client.ready_task(name, make(root, name), COMMAND)


def expected_log(lines, result_line):
    """The exact bytes a step that printed ``lines`` numbered lines and
    ``result_line`` wrote (stdout only)."""
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


def container_creates(job_uuid, since):
    """How many containers the engine created for each step of a job since
    ``since`` (a UNIX time): from the engine's own event log."""
    import time
    client = docker_client()
    counts = {}
    events = client.events(since=int(since) - 1, until=int(time.time()) + 1,
                           decode=True,
                           filters={'type': 'container', 'event': 'create',
                                    'label': 'craton.job=%s' % job_uuid})
    for event in events:
        step = event['Actor']['Attributes'].get('craton.step')
        counts[step] = counts.get(step, 0) + 1
    return counts
