# SPDX-License-Identifier: Apache-2.0
"""The engine-only sides of the benchmark: containers (or services)
driven by hand through the docker SDK, no Craton service involved.

Each loop runs ``steps`` round trips one after another and returns the
seconds they took together. Two kinds per engine:

* bare: the fewest calls that run a container and read its output;
* same-sandbox: the very engine calls the Craton driver makes for one
  step, with the same arguments (sandbox options, user, labels, env, log
  config, payload delivery), built from the driver's own helpers so that
  a change of those helpers changes this loop too.

The calls of a same-sandbox docker step are listed in
:data:`DOCKER_SANDBOX_CALLS` and those of a swarm step in
:data:`SWARM_SANDBOX_CALLS`. When ``craton/conductor/drivers/docker.py``
(``_create``, ``_launch``, ``cleanup``) or the swarm driver
(``_create``, ``_placed``, ``cleanup``) change which calls they make,
change the loop and the list in the same commit;
craton/tests/unit/conductor/drivers/test_bench_calls.py checks the
docker loop against a recording of the driver (calls and arguments).
"""

import functools
import threading
import time
import types
import uuid

import docker
from docker.types import Mount
from docker.utils import socket as docker_socket

from craton.conductor.drivers import base
from craton.conductor.drivers import docker as docker_driver
from craton.conductor.drivers import engine_http
from craton.conductor.drivers.swarm import spec as swarm_spec
from craton.conductor.jobs import payload as payload_mod

# Seconds between looks at a service's task (a bare service loop has no
# cheaper way to learn that the task ended).
TASK_POLL = 0.01
TASK_DONE = ('complete', 'failed', 'rejected', 'shutdown', 'orphaned')

# Engine calls of one step of the docker driver, in order, as
# docker.APIClient method names (the driver's find() before them, and
# its state/inspect polling while the step runs, are Craton's own cost
# and are NOT in the loop).
DOCKER_SANDBOX_CALLS = (
    'create_container',     # _create: sandbox_kwargs + anonymous payload
                            # volume + user + env
    'put_archive',          # _launch: payload_tar() into PAYLOAD_DIR
    'attach_socket',        # _launch: _StreamEnds, read to its end
    'start',                # _launch
    'wait',                 # executor: the container's exit
    'logs',                 # executor: the output, with timestamps
    'remove_container',     # cleanup, with its volume (v=True)
)

# Engine calls of one step of the swarm driver ('POST /x' through
# engine_http.post_json, the rest docker.APIClient methods). Network
# creation only with network_mode none; tasks() repeats until the task
# is placed and again until it ends.
SWARM_SANDBOX_CALLS = (
    'nodes',                    # _synced_constraints
    'POST /networks/create',    # _create, network_mode none only
    'POST /secrets/create',     # _create: one per payload secret
    'POST /services/create',    # _create: service_spec()
    'tasks',                    # _placed, then until the task ends
    'service_logs',             # executor: the output
    'inspect_service',          # cleanup: the step's labels
    'remove_service',           # cleanup
    'secrets',                  # cleanup: _remove_step_objects
    'networks',                 # cleanup: _remove_step_objects
    'remove_secret',            # cleanup: one per secret
    'remove_network',           # cleanup, network_mode none only
)


def step_spec(image, command, step_index, job_uuid=None, hosts=1):
    """A StepSpec like the one the executor builds for a one-host job of
    the benchmark workflow, with a payload built by the executor's own
    ``build_payload``.
    """
    job_uuid = job_uuid or str(uuid.uuid4())
    task_uuid = str(uuid.uuid4())
    job = types.SimpleNamespace(uuid=job_uuid, project_id='project-a',
                                user_id='user-a', variables={})
    step = types.SimpleNamespace(index=step_index,
                                 name='step-%02d' % step_index,
                                 task_uuid=task_uuid, variables={})
    inventory = [{'uuid': str(uuid.uuid4()), 'name': 'bench-host-%d' % i,
                  'ip_address': '127.0.0.1', 'region': 'bench',
                  'cell': None, 'labels': [], 'variables': {}}
                 for i in range(hosts)]
    payload = payload_mod.build_payload(job, step, inventory, {})
    return base.StepSpec(job_uuid=job_uuid, step_index=step_index,
                         step_name=step.name, image=image,
                         command=list(command), payload=payload,
                         timeout=600, task_uuid=None)


# -- docker ----------------------------------------------------------------

def bare_docker(api, image, command, network, steps):
    """Seconds for ``steps`` bare container round trips: create (only
    ``network_mode`` set, so the network is the same as Craton's), start,
    wait, logs, remove.
    """
    host_config = api.create_host_config(network_mode=network)
    start = time.perf_counter()
    for _ in range(steps):
        cid = api.create_container(image, command,
                                   host_config=host_config)['Id']
        api.start(cid)
        api.wait(cid)
        api.logs(cid)
        api.remove_container(cid, force=True)
    return time.perf_counter() - start


def _drain(sock):
    # What _StreamEnds does with the attached stream: read it to its end.
    try:
        for _ in docker_socket.frames_iter(sock, False):
            pass
    except Exception:   # noqa: S110 - closed under us: nothing to keep
        pass
    finally:
        sock.close()


def sandbox_docker_step(api, conf, spec, remover=None):
    """One step exactly as the docker driver runs it
    (:data:`DOCKER_SANDBOX_CALLS`); returns the container's logs.

    ``remover``: a list; when given, the container is removed in a thread
    of its own (appended to it) instead of before returning, as the
    executor's Reaper removes a finished step's container while the next
    one starts.
    """
    name = base.step_name(spec.job_uuid, spec.step_index)
    labels = base.step_labels(spec)
    user = conf.sandbox.user
    mount = Mount(base.PAYLOAD_DIR, None, type='volume', no_copy=True)
    host_config = api.create_host_config(
        mounts=[mount], **docker_driver.sandbox_kwargs(conf))
    env = {base.PAYLOAD_ENV: base.PAYLOAD_FILE, 'HOME': base.CONTAINER_TMP}
    cid = api.create_container(
        spec.image, name=name, labels=labels, user=user,
        command=base.build_command(spec.command, spec.payload),
        environment=env, host_config=host_config)['Id']
    api.put_archive(cid, base.PAYLOAD_DIR,
                    docker_driver.payload_tar(spec.payload, user,
                                              spec.secrets))
    sock = api.attach_socket(cid, params={'stdout': 1, 'stderr': 1,
                                          'stream': 1})
    reader = threading.Thread(target=_drain, args=(sock,), daemon=True)
    reader.start()
    api.start(cid)
    api.wait(cid)
    logs = api.logs(cid, stdout=True, stderr=True, timestamps=True)
    reader.join(5)
    _remove(functools.partial(api.remove_container, cid, force=True, v=True),
            remover)
    return logs


def _remove(remove, remover):
    # Now, or in a thread appended to ``remover`` (see
    # sandbox_docker_step).
    if remover is None:
        remove()
        return
    remover.append(threading.Thread(target=remove, daemon=True))
    remover[-1].start()


def _overlapped(step, specs, overlap):
    """Seconds for ``step(spec, remover)`` of each of ``specs`` in turn,
    removals overlapped if ``overlap`` (waited for at the end).
    """
    remover = [] if overlap else None
    start = time.perf_counter()
    for spec in specs:
        step(spec, remover)
    for thread in remover or ():
        thread.join()
    return time.perf_counter() - start


def sandbox_docker(api, conf, image, command, steps, overlap=False):
    """Seconds for ``steps`` same-sandbox round trips (one job's worth:
    the same job uuid, step indexes 0..steps-1). ``overlap``: remove each
    container in the background while the next step runs, and wait for
    every removal at the end (as a job waits for them before it is
    final).
    """
    job_uuid = str(uuid.uuid4())
    specs = [step_spec(image, command, i, job_uuid) for i in range(steps)]
    return _overlapped(functools.partial(sandbox_docker_step, api, conf),
                       specs, overlap)


# -- swarm -----------------------------------------------------------------

def _task_state(api, service_id):
    tasks = api.tasks(filters={'service': service_id})
    return tasks[0] if tasks else {}


def _until_done(api, service_id):
    while True:
        task = _task_state(api, service_id)
        if task.get('Status', {}).get('State') in TASK_DONE:
            return task
        time.sleep(TASK_POLL)


def bare_service(api, image, command, steps):
    """Seconds for ``steps`` one-replica service round trips through the
    manager: create (restart condition none, the node's default bridge),
    poll its task every TASK_POLL s until it ended, logs, remove.
    """
    start = time.perf_counter()
    for _ in range(steps):
        task = docker.types.TaskTemplate(
            docker.types.ContainerSpec(image, command=command),
            restart_policy=docker.types.RestartPolicy('none'))
        sid = api.create_service(task)['ID']
        _until_done(api, sid)
        b''.join(api.service_logs(sid, stdout=True, stderr=True))
        api.remove_service(sid)
    return time.perf_counter() - start


def sandbox_service_step(api, conf, spec, remover=None):
    """One step as the swarm driver runs it (:data:`SWARM_SANDBOX_CALLS`):
    secrets and service from the driver's own ``swarm.spec`` functions.
    ``remover``: as for :func:`sandbox_docker_step`.
    """
    labels = base.step_labels(spec)
    api.nodes()
    network = swarm_spec.network_for(conf)
    if network == swarm_spec.NETWORK_NONE:
        network = engine_http.post_json(
            api, '/networks/create', swarm_spec.network_body(spec))['Id']
    secrets = swarm_spec.payload_secrets(spec)
    ids = {}
    for secret in secrets:
        ids[secret['name']] = engine_http.post_json(
            api, '/secrets/create',
            swarm_spec.secret_body(secret, labels))['ID']
    body = swarm_spec.service_spec(
        conf, spec, secrets, ids, list(conf.swarm.placement_constraints),
        network)
    sid = engine_http.post_json(api, '/services/create', body)['ID']
    _until_done(api, sid)
    logs = b''.join(api.service_logs(sid, stdout=True, stderr=True,
                                     timestamps=True))

    def remove():
        api.inspect_service(sid)
        api.remove_service(sid)
        step_labels = ['%s=%s' % (base.LABEL_JOB, spec.job_uuid),
                       '%s=%s' % (base.LABEL_STEP, spec.step_index)]
        found_secrets = api.secrets(filters={'label': step_labels})
        found_networks = api.networks(filters={'label': step_labels})
        for secret in found_secrets:
            api.remove_secret(secret['ID'])
        for net in found_networks:
            _remove_network(api, net['Id'])
    _remove(remove, remover)
    return logs


def _remove_network(api, network_id, wait=10.0):
    # As the driver: the task's node may hold the network a moment more.
    deadline = time.monotonic() + wait
    while True:
        try:
            api.remove_network(network_id)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if 'not found' in str(exc.explanation):
                return
            if exc.status_code not in (400, 403, 409) or \
                    time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def sandbox_service(api, conf, image, command, steps, overlap=False):
    """Seconds for ``steps`` same-sandbox service round trips
    (``overlap``: as for :func:`sandbox_docker`).
    """
    job_uuid = str(uuid.uuid4())
    specs = [step_spec(image, command, i, job_uuid) for i in range(steps)]
    return _overlapped(functools.partial(sandbox_service_step, api, conf),
                       specs, overlap)
