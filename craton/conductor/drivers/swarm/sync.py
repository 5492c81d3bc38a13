# SPDX-License-Identifier: Apache-2.0
"""Make every active Swarm node hold a task's image, and keep it so.

How a node gets the image without running any of the task's code: the
conductor creates, on the Swarm manager (``[docker] url``), a one-shot
*global* service (``mode global``, restart condition ``none``) whose image
is ``REGISTRY/craton/task-<uuid>@<registry_digest>`` and whose entrypoint is
replaced by a path that exists nowhere (random for every sync), with no
arguments. On each node the agent pulls the image (Swarm skips the pull when
that digest is already there), creates the container and fails to start
it: ``exec: "/craton-sync-…": no such file or directory``. Nothing of the
image is ever executed.

What decides, per node, whether the image arrived (engine 20.10, measured;
see ``classify``): the node's task ended with a container: its
``Status.ContainerStatus.ContainerID`` is set and the task failed while
*starting* (``Status.Err`` "starting container failed: …", ``Message``
"starting") — a container exists only once its image is on the node. The
image is *not* there when the task was rejected while *preparing* without a
container, typically ``Err`` "No such image: REF": Swarm logs the pull
error itself only in the node's dockerd log and then fails the create.
Nodes cannot be inspected one by one through the manager, so these task
fields are all Craton relies on.

Plain global services, not ``global-job`` ones: on 20.10 removing a job
service leaves its tasks and stopped containers behind on every node
(moby/moby#42789), while a global service's containers go with it.

Only nodes whose availability is ``active`` and whose state is ``ready``
(and that match ``[swarm] placement_constraints``) are waited for; each gets
a ``task_nodes`` row (``synced``, or ``failed`` with the reason). A task is
``ready`` when at least one node holds its image and ``error`` only when
none does. The periodic sync (:mod:`craton.conductor.drivers.swarm.periodic`)
brings the image to nodes that joined, came back or failed before.

Stale images are removed by :mod:`craton.conductor.drivers.swarm.cleanup`.
"""

import collections
import re
import time
import uuid

import docker
from docker import types
from oslo_log import log as logging
from oslo_utils import timeutils
import requests
import tenacity
import urllib3

from craton.common import docker_client
from craton.common import exception
from craton.conductor.builds import registry

LOG = logging.getLogger(__name__)

SYNCED = 'synced'
FAILED = 'failed'
# Labels of sync and clean-up services and their containers. Not
# 'craton.managed': that label marks job steps, which drivers and tests
# count and clean up.
LABEL_SYNC = 'craton.sync'            # value: the task's UUID
LABEL_KIND = 'craton.sync.kind'       # 'pull' | 'clean'
POLL = 0.25
NODE_POLL = 2.0
# A node for which Swarm created no task although every other task ended
# is given this long before it counts as not placeable.
NO_TASK_GRACE = 10.0
LEFT_SWARM = 'the node has left the swarm'

NodeResult = collections.namedtuple('NodeResult',
                                    ['node_id', 'hostname', 'status',
                                     'reason'])
Node = collections.namedtuple('Node', ['id', 'hostname', 'availability',
                                       'state', 'role', 'labels',
                                       'engine_labels', 'os', 'arch'])

# Task states (swarmkit) after which nothing more happens on the node.
FINAL_STATES = frozenset(('running', 'complete', 'failed', 'shutdown',
                          'rejected', 'orphaned', 'remove'))
# Errors saying that the image is not on the node (captured on 20.10:
# "No such image: 10.250.0.254:5001/craton/task-…@sha256:…"; the others are
# what engines print for registry-side refusals).
_NOT_PULLED = re.compile(r'no such image|manifest unknown|manifest for \S+ '
                         r'not found|pull access denied|repository does '
                         r'not exist|not found: manifest', re.I)


class SyncBusy(Exception):
    """Another conductor is syncing the same image right now."""


def list_nodes(client):
    """The Swarm's nodes as :class:`Node` tuples (the manager's view)."""
    nodes = []
    for raw in client.api.nodes():
        spec = raw.get('Spec') or {}
        desc = raw.get('Description') or {}
        platform = desc.get('Platform') or {}
        nodes.append(Node(
            id=raw['ID'], hostname=desc.get('Hostname') or raw['ID'],
            availability=spec.get('Availability') or 'active',
            state=(raw.get('Status') or {}).get('State') or 'unknown',
            role=spec.get('Role') or 'worker',
            labels=spec.get('Labels') or {},
            engine_labels=(desc.get('Engine') or {}).get('Labels') or {},
            os=platform.get('OS') or '', arch=platform.get('Architecture')
            or ''))
    return nodes


def matches(node, constraints):
    """Whether ``node`` satisfies Swarm placement ``constraints``.

    The same rules as Swarm's (``key==value``/``key!=value``, values
    compared case-insensitively, a missing label never equals). A key this
    function does not know matches: Swarm itself then decides, and a node
    it places nothing on is reported after a grace period.
    """
    for constraint in constraints or ():
        match = re.match(r'^\s*([\w.\-]+)\s*(==|!=)\s*(.*?)\s*$', constraint)
        if not match:
            continue
        key, op, want = match.groups()
        lkey = key.lower()
        if lkey == 'node.id':
            have = node.id
        elif lkey == 'node.hostname':
            have = node.hostname
        elif lkey == 'node.role':
            have = node.role
        elif lkey == 'node.platform.os':
            have = node.os
        elif lkey == 'node.platform.arch':
            have = node.arch
        elif lkey.startswith('node.labels.'):
            have = node.labels.get(key[len('node.labels.'):])
        elif lkey.startswith('engine.labels.'):
            have = node.engine_labels.get(key[len('engine.labels.'):])
        else:
            continue
        equal = have is not None and have.lower() == want.lower()
        if equal != (op == '=='):
            return False
    return True


def candidates(nodes, constraints):
    """Nodes steps may be placed on: availability active, constraints met."""
    return [n for n in nodes
            if n.availability == 'active' and matches(n, constraints)]


def classify(task, registry_name=''):
    """``(status, reason)`` of one node's sync task; status None while the
    task is still on its way.

    ``synced``: the task ended with a container (it was created, so the
    image is on the node; starting it failed as intended). ``failed``:
    "No such image"-like errors, or an end without a container.
    """
    status = task.get('Status') or {}
    state = status.get('State')
    if state not in FINAL_STATES:
        return None, None
    err = (status.get('Err') or '').strip()
    container = (status.get('ContainerStatus') or {}).get('ContainerID')
    if _NOT_PULLED.search(err):
        return FAILED, (
            'the node could not pull the image (%s); check that it reaches '
            'registry %s (a plain-HTTP registry must be in its '
            'insecure-registries) and has disk space: its dockerd log has '
            'the pull error' % (err, registry_name or 'the registry'))
    if container:
        return SYNCED, None
    return FAILED, (err or 'the sync task ended %s without creating a '
                    'container' % state)


def pull_spec(ref, constraints, nonce, task_uuid=''):
    """The service that makes nodes pull ``ref`` and run nothing of it.

    Returns ``(task_template, mode)``. The entrypoint is a path no image
    has (``nonce`` is random), there are no arguments, and the container
    would anyway be read-only, without capabilities, as nobody.
    """
    container = types.ContainerSpec(
        image=ref, command=['/craton-sync-%s/not-a-command' % nonce],
        args=[], user='65534:65534', read_only=True, cap_drop=['ALL'],
        healthcheck=types.Healthcheck(test=['NONE']),
        labels={LABEL_SYNC: task_uuid, LABEL_KIND: 'pull'})
    template = types.TaskTemplate(
        container, restart_policy=types.RestartPolicy(condition='none'),
        resources=types.Resources(mem_limit=32 * 1024 * 1024),
        placement=types.Placement(constraints=list(constraints or [])))
    return template, types.ServiceMode('global')


def service_name(kind, task_uuid, digest=''):
    """One name per (task, image): Swarm's unique service names make a
    second conductor's identical sync fail with a conflict instead of
    running twice.
    """
    suffix = digest.split(':')[-1][:12] if digest else uuid.uuid4().hex[:8]
    return 'craton-%s-%s-%s' % (kind, task_uuid, suffix)


class _NameTaken(Exception):
    """A service of that name exists; ``freed`` when it was stale and has
    just been removed (the name is free: try again at once).
    """

    def __init__(self, freed):
        super().__init__(freed)
        self.freed = freed


def _create_service(client, template, mode, name, labels, wait, stale_after):
    """Create the service; on a name conflict remove it if it is stale
    (left by a dead conductor), else wait for it to go (``wait`` seconds,
    looking every second, then SyncBusy).

    :returns: the new service's id.
    :raises SyncBusy: another conductor's service kept the name.
    :raises docker.errors.APIError: the manager refused otherwise.
    """
    deadline = time.monotonic() + wait

    def create():
        try:
            return client.api.create_service(template, name=name,
                                             labels=labels, mode=mode)['ID']
        except docker.errors.APIError as exc:
            if exc.status_code != 409:
                raise
        raise _NameTaken(_remove_if_stale(client, name, stale_after))

    def freed(state):
        return state.outcome.exception().freed

    def busy(state):
        raise SyncBusy(name)

    # This module's clock and sleep, so tests can drive them.
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(_NameTaken),
        stop=lambda state: not freed(state) and time.monotonic() >= deadline,
        wait=lambda state: 0 if freed(state) else 1,
        sleep=lambda seconds: time.sleep(seconds),
        retry_error_callback=busy)
    return retrying(create)


def _remove_if_stale(client, name, stale_after):
    try:
        found = client.api.services(filters={'name': name})
    except docker.errors.APIError:
        return False
    for svc in found:
        if svc.get('Spec', {}).get('Name') != name:
            continue
        if age(svc) > stale_after:
            LOG.warning('Removing stale sync service %s', name)
            remove_service(client, svc['ID'])
            return True
    return False


def age(obj):
    """Seconds since a service's (or task's) ``CreatedAt``; 0 if unknown."""
    created = obj.get('CreatedAt')
    if not created:
        return 0
    try:
        return (timeutils.utcnow(with_timezone=True) -
                timeutils.parse_isotime(created)).total_seconds()
    except ValueError:
        return 0


def remove_service(client, service_id):
    """Remove a service; already gone is fine, a refusal is logged."""
    try:
        client.api.remove_service(service_id)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        LOG.warning('Cannot remove service %s: %s', service_id,
                    exc.explanation or exc)


def _latest_by_node(tasks):
    latest = {}
    for task in tasks:
        node = task.get('NodeID')
        if not node:
            continue
        index = (task.get('Version') or {}).get('Index', 0)
        if node not in latest or index >= latest[node][0]:
            latest[node] = (index, task)
    return {node: task for node, (_, task) in latest.items()}


class _NodeWatch:
    """What a one-shot global service's tasks say, node by node, read one
    round at a time (:meth:`poll`) until every node has an outcome.
    """

    def __init__(self, client, service_id, nodes, judge, timeout):
        self.client = client
        self.service_id = service_id
        self.judge = judge
        self.timeout = timeout
        self.pending = {n.id: n for n in nodes}
        self.results = {}
        now = time.monotonic()
        self.deadline = now + timeout
        self.next_node_check = now + NODE_POLL
        self.all_ended_since = None

    def done(self, node, status, reason):
        self.results[node.id] = NodeResult(node.id, node.hostname, status,
                                           reason)
        self.pending.pop(node.id, None)

    def poll(self):
        """One round: judge each node's task; fail nodes that went away,
        that Swarm placed nothing on, or that ran out of time. Returns
        True while some node has no outcome yet.
        """
        tasks = _latest_by_node(self.client.api.tasks(
            filters={'service': self.service_id}))
        for node in list(self.pending.values()):
            task = tasks.get(node.id)
            if task is not None:
                status, reason = self.judge(task)
                if status:
                    self.done(node, status, reason)
        if not self.pending:
            return False
        now = time.monotonic()
        if now >= self.next_node_check:
            self.next_node_check = now + NODE_POLL
            self._check_nodes()
        self._check_placement(tasks, now)
        if self.pending and now >= self.deadline:
            for node in list(self.pending.values()):
                task = tasks.get(node.id) or {}
                status = task.get('Status') or {}
                last = status.get('State') or 'no task'
                if status.get('Err'):
                    last += ': %s' % status['Err']
                self.done(node, FAILED, 'not done within %d s ([swarm] '
                          'sync_timeout); last state: %s'
                          % (self.timeout, last))
        return bool(self.pending)

    def _check_nodes(self):
        current = {n.id: n for n in list_nodes(self.client)}
        for node in list(self.pending.values()):
            seen = current.get(node.id)
            if seen is None:
                self.done(node, FAILED, LEFT_SWARM)
            elif seen.state != 'ready':
                self.done(node, FAILED, 'the node went %s during the sync'
                          % seen.state)
            elif seen.availability != 'active':
                self.done(node, FAILED, 'the node was set to %s during the '
                          'sync' % seen.availability)

    def _check_placement(self, tasks, now):
        # Swarm creates a global service's tasks all at once: nodes still
        # without one once every other node has answered are nodes it
        # will not place on.
        if any(n in tasks for n in self.pending):
            self.all_ended_since = None
            return
        self.all_ended_since = self.all_ended_since or now
        grace = NO_TASK_GRACE if tasks else 3 * NO_TASK_GRACE
        if now - self.all_ended_since >= grace:
            for node in list(self.pending.values()):
                if node.id not in tasks:
                    self.done(node, FAILED, 'Swarm placed no task on this '
                              'node (placement constraints or resources)')


def run_service(client, conf, template, mode, name, labels, nodes,
                judge, busy_wait=0):
    """Run a one-shot global service and wait for ``nodes`` to report.

    ``judge(task)`` gives ``(status, reason)`` or ``(None, None)`` while a
    node's task is on its way. A node that goes down, is drained or leaves
    meanwhile, has no task while all others ended, or does not finish
    within ``[swarm] sync_timeout`` is ``failed`` with that reason. The
    service is always removed. Returns ``{node_id: NodeResult}``.

    :raises SyncBusy: another conductor's service of that name stayed
        longer than ``busy_wait`` seconds.
    :raises docker.errors.APIError: the manager refused.
    """
    timeout = conf.swarm.sync_timeout
    service_id = _create_service(client, template, mode, name, labels,
                                 busy_wait, stale_after=timeout + 60)
    watch = _NodeWatch(client, service_id, nodes, judge, timeout)
    try:
        # Every POLL seconds until each node has an outcome; poll() ends
        # it at the deadline. This module's sleep, so tests drive it.
        tenacity.Retrying(
            retry=tenacity.retry_if_result(bool),
            wait=tenacity.wait_fixed(POLL),
            sleep=lambda seconds: time.sleep(seconds))(watch.poll)
    finally:
        remove_service(client, service_id)
    return watch.results


def pull(client, conf, task_uuid, ref, nodes, extra_constraints=(),
         busy_wait=0):
    """Make ``nodes`` pull ``ref`` (see the module doc); ``{node_id:
    NodeResult}`` for each of them.
    """
    digest = ref.rsplit('@', 1)[-1]
    constraints = (list(conf.swarm.placement_constraints) +
                   list(extra_constraints))
    template, mode = pull_spec(ref, constraints, uuid.uuid4().hex, task_uuid)
    labels = {LABEL_SYNC: task_uuid, LABEL_KIND: 'pull'}
    name = service_name('sync', task_uuid, digest)
    started = time.monotonic()
    reg = registry.registry_host(conf)
    results = run_service(client, conf, template, mode, name, labels, nodes,
                          lambda task: classify(task, reg),
                          busy_wait=busy_wait)
    LOG.info('Synced %s to %d of %d node(s) in %.1f s', ref,
             sum(r.status == SYNCED for r in results.values()), len(nodes),
             time.monotonic() - started)
    return results


def record(task, ref, results):
    """Store each node's ``NodeResult`` for ``ref`` on the Task."""
    for res in results.values():
        task.set_node(res.node_id, res.hostname, res.status, ref, res.reason)


def distribute(task, conf, client=None):
    """Bring a just-pushed task image to the Swarm nodes and record, per
    node, whether it holds the image (the task's node rows are replaced by
    this sync's).

    :returns: ``{node_id: NodeResult}``, at least one of them ``synced``.
    :raises ImageNotDistributed: no node holds the image, with every
        node's reason; or the manager could not be asked.
    """
    ref = registry.pinned(task.image, task.registry_digest)
    results = {}
    try:
        with docker_client.engine(conf, client) as engine:
            nodes = candidates(list_nodes(engine),
                               conf.swarm.placement_constraints)
            ready = [n for n in nodes if n.state == 'ready']
            if ready:
                results = pull(engine, conf, task.uuid, ref, ready,
                               busy_wait=conf.swarm.sync_timeout)
        for node in nodes:
            if node.id not in results:
                results[node.id] = NodeResult(
                    node.id, node.hostname, FAILED,
                    'the node is %s; it gets the image once it is ready '
                    'again' % node.state)
    except (exception.EngineUnavailable, docker.errors.APIError,
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError, SyncBusy) as exc:
        reason = getattr(exc, 'explanation', None) or exc
        if isinstance(exc, SyncBusy):
            reason = 'another sync of this image did not finish'
        raise exception.ImageNotDistributed(
            reason='cannot sync image %s to the Swarm nodes through %s: %s'
            % (ref, conf.docker.url, reason))
    task.clear_nodes()
    record(task, ref, results)
    if any(r.status == SYNCED for r in results.values()):
        return results
    if not results:
        raise exception.ImageNotDistributed(
            reason='no active Swarm node%s can hold image %s' % (
                ' matching [swarm] placement_constraints'
                if conf.swarm.placement_constraints else '', ref))
    raise exception.ImageNotDistributed(
        reason='no Swarm node could hold image %s: %s' % (ref, '; '.join(
            '%s: %s' % (r.hostname, r.reason)
            for r in sorted(results.values(), key=lambda r: r.hostname))))
