# SPDX-License-Identifier: Apache-2.0
"""What the swarm driver asks the Swarm manager for, as plain data.

Pure functions, no engine calls: the service spec of a step (the same
sandbox as the docker driver as far as Swarm's API 1.41 allows), the
secrets that carry its payload, and its placement constraints. The
driver (``swarm.py``) creates them; unit tests check them directly.

How the payload reaches a container on any node (api-ref.rst, "What a task's
container receives"), without a host mount and without putting it in the
service spec: as Swarm secrets, which live encrypted in the managers' Raft
store, travel only to the node that runs the task, and are mounted there
from a tmpfs. One secret holds at most SECRET_MAX bytes, so a larger
payload is cut into parts, and one more secret, *templated*, is rendered
by the node's agent into the single file the task reads: its template is
nothing but ``{{ secret "part" }}`` for each part in order. Measured on
engine 20.10: a 30 MB payload arrives byte for byte on a worker node.
"""

import base64
import datetime
import hashlib
import time

from docker import utils as docker_utils

from craton.conductor.drivers import base
from craton.conductor.drivers import docker as docker_driver
from craton.conductor.drivers import output

# swarmkit refuses secret data of 512000 bytes or more ("less than 512000
# bytes"); parts stay clear of that.
SECRET_MAX = 500000
# Where the parts of a large payload are mounted.
PART_TARGET = base.PAYLOAD_DIR + '/payload.part%03d'
MAX_PARTS = 999

NETWORK_NONE = 'none'
# Task containers that attach to no swarm network get the node's default
# bridge, as `docker run` does.
NETWORK_DEFAULT = ('bridge', 'default', '')


def secret_names(spec):
    """(prefix, name of the payload file's secret) for a step's payload.

    The names carry a hash of the payload, so a retried start (another
    conductor, or this one after a crash) that finds a secret of that
    name finds the very same content (secrets are immutable).
    Swarm names are at most 64 characters: 'craton-<uuid>-<index>-<8 hex>'
    plus a suffix of at most 5 stays below.
    """
    digest = hashlib.sha256(spec.payload).hexdigest()[:8]
    prefix = '%s-%s' % (base.step_name(spec.job_uuid, spec.step_index),
                        digest)
    return prefix, prefix + '-json'


def payload_secrets(spec):
    """The secrets that carry ``spec.payload``, in creation order.

    A list of dicts: ``name``, ``data`` (bytes), ``template`` (bool) and
    ``target`` (the absolute file name in the container, under
    ``base.PAYLOAD_DIR``). The payload file's secret comes after its
    parts; then one secret per secret value the step receives
    (``spec.secrets``), each the file ``base.secret_path(name)``. Their
    names carry the step and an index, never anything of the value.
    """
    prefix, _ = secret_names(spec)
    values = [{'name': '%s-s%03d' % (prefix, i), 'data': value,
               'template': False, 'target': base.secret_path(name)}
              for i, (name, value) in enumerate(sorted(
                  spec.secrets.items()))]
    return _payload_parts(spec) + values


def _payload_parts(spec):
    payload = spec.payload
    prefix, name = secret_names(spec)
    if len(payload) <= SECRET_MAX:
        return [{'name': name, 'data': payload, 'template': False,
                 'target': base.PAYLOAD_FILE}]
    parts = [payload[i:i + SECRET_MAX]
             for i in range(0, len(payload), SECRET_MAX)]
    if len(parts) > MAX_PARTS:
        raise ValueError('payload of %d bytes needs more than %d secrets'
                         % (len(payload), MAX_PARTS))
    secrets = [{'name': '%s-p%03d' % (prefix, i), 'data': part,
                'template': False, 'target': PART_TARGET % i}
               for i, part in enumerate(parts)]
    # Only our own text is ever a template; the payload is only
    # inserted by it, never parsed.
    template = ''.join('{{ secret "%s" }}' % s['target'] for s in secrets)
    secrets.append({'name': name, 'data': template.encode('ascii'),
                    'template': True, 'target': base.PAYLOAD_FILE})
    return secrets


def secret_body(secret, labels):
    """The body of POST /secrets/create for one of payload_secrets()."""
    body = {'Name': secret['name'], 'Labels': labels,
            'Data': base64.b64encode(secret['data']).decode('ascii')}
    if secret['template']:
        body['Templating'] = {'Name': 'golang'}
    return body


def secret_refs(secrets, ids, user):
    """SecretReferences of the service: each file owned by the task's
    user, readable by it alone (by anyone in the container when the user
    is a name, whose uid only the image knows).
    """
    uid, gid, mode = docker_driver.payload_owner(user)
    return [{'SecretID': ids[s['name']], 'SecretName': s['name'],
             'File': {'Name': s['target'], 'UID': str(uid),
                      'GID': str(gid), 'Mode': mode}}
            for s in secrets]


def network_for(conf):
    """How [sandbox] network_mode maps onto Swarm.

    Returns NETWORK_NONE (the driver gives the step an internal overlay
    network of its own: no route out, no other container on it, since
    Swarm has no 'none' network), None (the node's default bridge), or
    the name of a network to attach to ('host' or a swarm-scope one).
    """
    mode = conf.sandbox.network_mode or ''
    if mode == NETWORK_NONE:
        return NETWORK_NONE
    if mode in NETWORK_DEFAULT:
        return None
    return mode


def synced_constraints(rows, image, nodes):
    """Constraints that keep a step on the nodes holding its image.

    ``rows``: the task's sync records, dicts with ``node_id``, ``status``
    and ``image`` (:meth:`craton.objects.task.Task.nodes_of`);
    ``nodes``: ids of every node in the swarm. Swarm ANDs constraints and
    has no "one of", so every node that is not known to hold the image is
    excluded by id. No rows at all (no sync ran, or tests), or no synced
    row for this image: no constraint; the node pulls by digest from the
    registry, which gives the same, approved image.
    """
    synced = {r['node_id'] for r in rows
              if r['status'] == 'synced' and _same_image(r['image'], image)}
    if not synced:
        return []
    return ['node.id!=%s' % n for n in sorted(nodes) if n not in synced]


def _same_image(recorded, image):
    if not recorded:
        return True     # a sync row that names no image: the task's one
    if recorded == image:
        return True
    # 'repo@sha256:x' against 'sha256:x' or another spelling of the repo.
    return recorded.rpartition('@')[2] == image.rpartition('@')[2] and \
        '@' in image


def service_spec(conf, spec, secrets, secret_ids, constraints, network):
    """The spec of a step's service (POST /services/create).

    One replica that Swarm never restarts, the task's image and command
    (Args: the image's entrypoint is kept, as with the docker driver), the
    payload as secrets, and the [sandbox] limits. Swarm's API 1.41 has no
    field for no-new-privileges, a swap limit or a private IPC namespace;
    see doc/source/admin.rst.
    """
    sandbox = conf.sandbox
    labels = base.step_labels(spec)
    container = {
        'Image': spec.image,
        'Args': base.build_command(spec.command, spec.payload),
        # HOME: the root is read-only; tools that keep caches under ~ need
        # somewhere to write.
        'Env': ['%s=%s' % (base.PAYLOAD_ENV, base.PAYLOAD_FILE),
                'HOME=/tmp'],
        'Labels': labels,
        'User': sandbox.user,
        'ReadOnly': True,
        'CapabilityDrop': ['ALL'],
        # A Swarm tmpfs mount is rw,nosuid,nodev,noexec, like --tmpfs.
        'Mounts': [{'Type': 'tmpfs', 'Target': base.CONTAINER_TMP,
                    'TmpfsOptions': {
                        'SizeBytes': docker_utils.parse_bytes(
                            sandbox.tmpfs_size),
                        'Mode': 0o1777}}],
        'Secrets': secret_refs(secrets, secret_ids, sandbox.user),
        # Cancel and timeout kill at once, as the docker driver does.
        'StopSignal': 'SIGKILL',
        'StopGracePeriod': 0,
    }
    task = {
        'ContainerSpec': container,
        'Resources': {'Limits': {
            'MemoryBytes': docker_utils.parse_bytes(sandbox.memory),
            'NanoCPUs': int(sandbox.cpus * 1e9),
            'Pids': sandbox.pids_limit}},
        'RestartPolicy': {'Condition': 'none', 'MaxAttempts': 0},
        'Placement': {'Constraints': list(constraints)},
        'LogDriver': {'Name': output.LOG_DRIVER,
                      'Options': output.log_options(
                          conf.sandbox.max_log_bytes)},
        'Networks': [{'Target': network}] if network else [],
    }
    return {'Name': base.step_name(spec.job_uuid, spec.step_index),
            'Labels': labels, 'TaskTemplate': task,
            'Mode': {'Replicated': {'Replicas': 1}}}


def network_body(spec):
    """POST /networks/create for a step's own network (network_mode none):
    an internal overlay, so the task has no route anywhere and nothing
    else is on its network.
    """
    return {'Name': base.step_name(spec.job_uuid, spec.step_index),
            'Driver': 'overlay', 'Internal': True, 'Attachable': False,
            'CheckDuplicate': True, 'Labels': base.step_labels(spec)}


def created(obj):
    """Seconds since the epoch of a Swarm object's 'Created' time."""
    text = obj.get('Created') or ''
    try:
        # '2026-11-26T19:20:19.414536415Z': keep microseconds.
        head, _, frac = text.rstrip('Z').partition('.')
        stamp = datetime.datetime.fromisoformat(head).replace(
            tzinfo=datetime.timezone.utc)
        return stamp.timestamp() + float('0.' + (frac or '0')[:6])
    except ValueError:
        return time.time()
