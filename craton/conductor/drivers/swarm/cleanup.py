# SPDX-License-Identifier: Apache-2.0
"""Remove a task's images from every Swarm node (the build engine and the
registry are :mod:`craton.conductor.builds.images`'s).

Swarm nodes cannot be reached one by one through the manager, so the
conductor runs a craton-owned one-shot global service on them: the image is
``[swarm] helper_image`` (a base image on the build engine, e.g.
``craton/python3:bookworm``) pinned by its registry digest, so a tag moved
in the registry cannot change what runs; the command is the fixed script
:data:`CLEAN_SCRIPT`; the node's engine socket (``[swarm]
node_docker_socket``) is bind-mounted into this container only — task
images never get it. The script checks that the socket is the engine of
the node it runs on (``/info`` ``Swarm.NodeID``) before it deletes
the references of ``craton/task-<uuid>`` images (``DELETE
/images/<reference>?force=1``: by reference, so an image that is also
another's only loses the task's names).
"""


import docker
from docker import types
from oslo_log import log as logging

from craton.common import exception
from craton.conductor.builds import registry
from craton.conductor.drivers.swarm import sync

LOG = logging.getLogger(__name__)

CLEANED = 'cleaned'
SOCKET_IN_CONTAINER = '/craton/engine.sock'
WRONG_ENGINE_EXIT = 3

CLEAN_SCRIPT = r'''
import http.client, json, os, re, socket, sys


class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(300)
        self.sock.connect(os.environ['CRATON_SOCKET'])


def call(method, path):
    conn = Conn('localhost')
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


me = os.environ['CRATON_NODE_ID']
node = json.loads(call('GET', '/info')[1]).get('Swarm', {}).get('NodeID')
if node != me:
    print('craton-clean: the socket is the engine of node %r, not of this '
          'node %r: nothing removed' % (node, me))
    sys.exit(3)
names = re.compile(r'(^|/)craton/task-%s[:@]'
                   % re.escape(os.environ['CRATON_TASK']))
keep = set(os.environ.get('CRATON_KEEP', '').split())
failed = 0
for image in json.loads(call('GET', '/images/json')[1]):
    refs = [r for r in (image.get('RepoTags') or []) +
            (image.get('RepoDigests') or []) if '<none>' not in r]
    mine = [r for r in refs if names.search(r)]
    if not mine:
        continue
    if image['Id'] in keep or any(r.rsplit('@', 1)[-1] in keep
                                  for r in refs if '@' in r):
        print('craton-clean: kept %s' % image['Id'])
        continue
    # By reference, never by id: an image that is also another image's
    # (a Dockerfile of a bare FROM) only loses the task's names.
    for ref in mine:
        status, body = call('DELETE', '/images/%s?force=1' % ref)
        if status == 200:
            print('craton-clean: removed %s (%s)' % (ref, image['Id']))
        elif status != 404:
            failed += 1
            print('craton-clean: cannot remove %s: %s %s'
                  % (ref, status, body[:300]))
sys.exit(1 if failed else 0)
'''


def helper_reference(client, conf):
    """``REGISTRY/<helper>@sha256:…`` of ``[swarm] helper_image``.

    The helper must be on the build engine; it is pushed to the registry
    when the registry does not hold the digest the engine knows for it.
    A value that already contains ``@`` is used as it is.
    """
    name = conf.swarm.helper_image
    if '@' in name:
        return name
    reg = registry.registry_host(conf)
    try:
        image = client.api.inspect_image(name)
    except docker.errors.NotFound:
        raise exception.RegistryError(
            registry=reg, reason="the helper image %s ([swarm] helper_image)"
            " is not on the engine %s; tools/build-base-images.sh makes it"
            % (name, conf.docker.url))
    repo, _, tag = name.rpartition(':')
    if '/' in tag or not repo:
        repo, tag = name, 'latest'
    if not repo.startswith(reg + '/'):
        repo = '%s/%s' % (reg, repo)
    reg_client = registry.RegistryClient(conf)
    try:
        for ref in image.get('RepoDigests') or ():
            if ref.startswith(repo + '@') and reg_client.manifest_digest(
                    repo[len(reg) + 1:], ref.rsplit('@', 1)[1]):
                return ref
    finally:
        reg_client.close()
    digest = registry.push(client, image['Id'], repo, tag, reg)
    return '%s@%s' % (repo, digest)


def clean_spec(helper, socket_path, task_uuid, keep):
    """The clean-up service: ``(task_template, mode)``."""
    container = types.ContainerSpec(
        image=helper, command=['python3', '-c', CLEAN_SCRIPT], args=[],
        env={'CRATON_NODE_ID': '{{.Node.ID}}', 'CRATON_TASK': task_uuid,
             'CRATON_KEEP': ' '.join(sorted(keep)),
             'CRATON_SOCKET': SOCKET_IN_CONTAINER},
        mounts=[types.Mount(SOCKET_IN_CONTAINER, socket_path, type='bind')],
        read_only=True, cap_drop=['ALL'],
        labels={sync.LABEL_SYNC: task_uuid, sync.LABEL_KIND: 'clean'})
    template = types.TaskTemplate(
        container, restart_policy=types.RestartPolicy(condition='none'),
        resources=types.Resources(mem_limit=128 * 1024 * 1024))
    return template, types.ServiceMode('global')


def judge_clean(task):
    """``(status, reason)`` of one node's clean-up task (None: running)."""
    status = task.get('Status') or {}
    state = status.get('State')
    if state == 'complete':
        return CLEANED, None
    if state not in sync.FINAL_STATES or state == 'running':
        return None, None
    code = (status.get('ContainerStatus') or {}).get('ExitCode')
    if code == WRONG_ENGINE_EXIT:
        return sync.FAILED, ('[swarm] node_docker_socket is not this '
                             "node's engine socket")
    return sync.FAILED, status.get('Err') or 'clean-up ended %s' % state


def clean_nodes(client, conf, task_uuid, keep=()):
    """Remove ``craton/task-<uuid>`` images but ``keep`` (manifest digests
    or image ids) from every active, ready node. ``{node_id: NodeResult}``.
    """
    nodes = [n for n in sync.list_nodes(client)
             if n.availability == 'active' and n.state == 'ready']
    if not nodes:
        return {}
    helper = helper_reference(client, conf)
    template, mode = clean_spec(helper, conf.swarm.node_docker_socket,
                                task_uuid, keep)
    labels = {sync.LABEL_SYNC: task_uuid, sync.LABEL_KIND: 'clean'}
    results = sync.run_service(client, conf, template, mode,
                               sync.service_name('clean', task_uuid),
                               labels, nodes, judge_clean)
    for res in results.values():
        if res.status != CLEANED:
            LOG.warning('Cannot remove stale images of task %s from node '
                        '%s: %s', task_uuid, res.hostname, res.reason)
    return results
