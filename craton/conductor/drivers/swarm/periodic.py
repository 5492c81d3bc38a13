# SPDX-License-Identifier: Apache-2.0
"""The periodic Swarm sync (every ``[swarm] sync_interval``, swarm driver).

Each round, on every conductor:

* sync and clean-up services older than ``sync_timeout`` + 60 s (left by a
  dead conductor) are removed;
* each ``ready`` task's image is brought to the active, ready nodes that do
  not hold it yet — nodes that joined, came back, or failed before — and
  rows of nodes that left the swarm are marked ``failed``.

In the steady state a round costs one node listing and a database read per
ready task; no service is created. See
:mod:`craton.conductor.drivers.swarm.sync`. A task left ``syncing`` by a
conductor that died is the conductor's sweep's (it claims the task and
asks the driver again), not this round's.
"""

import docker
from oslo_log import log as logging

from craton.common import context as craton_context
from craton.common import docker_client
from craton.common import exception
from craton.common import states
from craton.conductor.builds import registry
from craton.conductor.drivers.swarm import sync
from craton.objects import task as task_obj

LOG = logging.getLogger(__name__)


def remove_stale_services(client, conf):
    """Remove sync and clean-up services a dead conductor left behind."""
    stale_after = conf.swarm.sync_timeout + 60
    for svc in client.api.services(filters={'label': sync.LABEL_SYNC}):
        if sync.age(svc) > stale_after:
            LOG.warning('Removing stale service %s',
                        svc.get('Spec', {}).get('Name'))
            sync.remove_service(client, svc['ID'])


def resync(conf, client=None):
    """One round of the periodic sync (see the module doc).

    Returns ``{task_uuid: {node_id: NodeResult}}`` of the syncs of ready
    tasks it ran. Syncs another conductor is running are skipped.

    :raises EngineUnavailable: the manager did not answer.
    """
    context = craton_context.get_admin_context()
    ran = {}
    with docker_client.engine(conf, client) as client:
        remove_stale_services(client, conf)
        tasks = [t for t in task_obj.Task.list_all(
                     context, {'status': states.TASK_READY})
                 if t.registry_digest and t.image]
        if not tasks:
            return ran
        nodes = sync.list_nodes(client)
        known = {n.id for n in nodes}
        wanted = [n for n in sync.candidates(
            nodes, conf.swarm.placement_constraints) if n.state == 'ready']
        for task in tasks:
            results = _resync_task(conf, client, context, task, known,
                                   wanted)
            if results is not None:
                ran[task.uuid] = results
    return ran


def _resync_task(conf, client, context, task, known, wanted):
    ref = registry.pinned(task.image, task.registry_digest)
    rows = {row['node_id']: row for row in task.nodes()}
    for row in rows.values():
        if row['node_id'] not in known and row['reason'] != sync.LEFT_SWARM:
            task.set_node(row['node_id'], row['hostname'], sync.FAILED,
                          row['image'], sync.LEFT_SWARM)
    need = [n for n in wanted
            if not (n.id in rows and rows[n.id]['status'] == sync.SYNCED and
                    rows[n.id]['image'] == ref)]
    if not need:
        return None
    extra = ['node.id==%s' % need[0].id] if len(need) == 1 else []
    LOG.info('Syncing image %s of task %s to %s', ref, task.uuid,
             ', '.join(n.hostname for n in need))
    try:
        results = sync.pull(client, conf, task.uuid, ref, need,
                            extra_constraints=extra)
    except sync.SyncBusy:
        return None
    except docker.errors.APIError as exc:
        # One task's trouble must not starve the others.
        LOG.warning('Periodic sync of task %s failed: %s', task.uuid,
                    exc.explanation or exc)
        return None
    try:
        current = task_obj.Task.get(context, task.uuid)
    except exception.TaskNotFound:
        return None
    if (current.registry_digest != task.registry_digest or
            current.image != task.image):
        return None     # rebuilt meanwhile: its own sync writes the rows
    sync.record(task, ref, results)
    return results
