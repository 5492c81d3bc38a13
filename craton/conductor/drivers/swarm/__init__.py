# SPDX-License-Identifier: Apache-2.0
"""Run each job step as a one-replica Docker Swarm service.

``[docker] url`` is a Swarm manager; the step's task runs on whichever
node Swarm picks among those holding the task's image (see
``swarm_spec.synced_constraints``) and ``[swarm] placement_constraints``.
The service is found again by its ``craton.job``/``craton.step`` labels
after a conductor restart, exactly as the docker driver finds containers.
The payload travels as Swarm secrets (``swarm_spec``); logs are read from
the manager, which gathers them from the node.

A worker whose engine dies leaves its task ``running`` on the manager for
ever; state() reports such a step ``gone`` with the reason as soon as the
manager marks the node down (dispatcher heartbeat), so the executor ends
it ``lost`` instead of waiting for its timeout.
"""

import contextlib
import time

import docker
from oslo_log import log as logging
import tenacity

from craton.common import docker_client
from craton.common import exception
from craton.conductor.drivers import base
from craton.conductor.drivers import docker as docker_driver
from craton.conductor.drivers import engine_http
from craton.conductor.drivers.swarm import images as swarm_images
from craton.conductor.drivers.swarm import logs as swarm_logs
from craton.conductor.drivers.swarm import nodes as swarm_nodes
from craton.conductor.drivers.swarm import spec as swarm_spec
from craton.objects import task as task_obj

LOG = logging.getLogger(__name__)

# Task states (swarmkit) after which the task's container no longer runs.
FINAL_TASK_STATES = ('complete', 'failed', 'shutdown', 'rejected',
                     'orphaned', 'remove')
# What a running task's node may be when its output and exit are lost:
# 'down' once the manager stopped hearing its heartbeats; None when the
# node was removed from the swarm. Not 'unknown': every node is, for a
# moment, after the manager restarts.
NODE_GONE_REASONS = {
    'down': 'node %s is down (its engine stopped answering)',
    None: 'node %s has left the swarm',
}

# start() waits this long for Swarm to place the task (so the handle names
# its node) and to see whether the node rejects it (image not found).
START_WAIT = 15.0
# Swarm reports no task events (the Engine API's event types are builder,
# config, container, daemon, image, network, node, plugin, secret, service
# and volume: EventMessage.Type), so start() and wait() ask for the task:
# every FAST_POLL s while it is younger than FAST_POLL_FOR s, so that a
# short step's start and end are seen within about that, then every
# SLOW_POLL s, which costs the manager little while a long step runs.
FAST_POLL = 0.01
FAST_POLL_FOR = 2.0
SLOW_POLL = 0.25
# Between retries of a network removal.
POLL_INTERVAL = 0.05
# A running task's node is asked for its state at most this often: the
# manager itself marks a node down only after missing its heartbeats for
# several seconds, so asking at every poll would learn nothing sooner.
NODE_STATE_TTL = 1.0
# Seconds cleanup waits for a step's network to be released by its task.
NETWORK_WAIT = 5.0
# Networks of steps this old whose service is gone are removed by
# cleanup_job() (left when a node was down as its step was cleaned up).
STALE_NETWORK_AGE = 600


def task_poll_wait(retry_state):
    """Seconds before the next look at a task (a tenacity ``wait``):
    FAST_POLL during the first FAST_POLL_FOR seconds of the poll, then
    SLOW_POLL.
    """
    if retry_state.seconds_since_start < FAST_POLL_FOR:
        return FAST_POLL
    return SLOW_POLL


class SwarmDriver(swarm_images.SwarmImages, docker_driver.DockerDriver):
    """One Swarm service per step, through the manager at ``[docker] url``.

    It shares the docker driver's engine connection helpers and overrides
    every step operation.
    """

    NAME = 'swarm'
    KIND = 'Service'

    def __init__(self, conf):
        super().__init__(conf)
        self._nodes = swarm_nodes.Nodes(self._api, self._engine_errors)
        self._ended = swarm_logs.EndedTasks()

    @contextlib.contextmanager
    def _engine_errors(self):
        # A manager without a leader (quorum lost, election) answers 503:
        # as transient as an engine restart.
        try:
            with docker_client.transport_errors(self.conf):
                yield
        except docker.errors.APIError as exc:
            if exc.status_code == 503:
                raise exception.EngineUnavailable(
                    url=self.conf.docker.url,
                    reason=exc.explanation or str(exc))
            raise

    # -- lookups -----------------------------------------------------------

    def _services(self, **labels):
        filters = {'label': ['%s=%s' % kv for kv in labels.items()]}
        with self._engine_errors():
            return self._api().services(filters=filters)

    def _tasks(self, service_id):
        """The service's tasks, oldest first; None if the service is gone."""
        try:
            with self._engine_errors():
                tasks = self._api().tasks(filters={'service': service_id})
        except docker.errors.NotFound:
            return None
        if not tasks:
            # An unknown id may also answer an empty list.
            try:
                with self._engine_errors():
                    self._api().inspect_service(service_id)
            except docker.errors.NotFound:
                return None
        return sorted(tasks, key=lambda t: (t.get('CreatedAt', ''),
                                            t['ID']))

    def _handle(self, service_id, tasks=None):
        if tasks is None:
            tasks = self._tasks(service_id) or []
        node_id = tasks[0].get('NodeID') if tasks else None
        return base.StepHandle(id=service_id,
                               node=self._nodes.hostname(node_id))

    # -- the interface -----------------------------------------------------

    def find(self, job_uuid, step_index):
        """Return the handle of the step's service, or None.

        Looks the service up by its ``craton.job``/``craton.step`` labels,
        so a conductor can reattach to what another one started; the node
        is the host name of the node its task was placed on.
        """
        found = self._services(**{base.LABEL_JOB: job_uuid,
                                  base.LABEL_STEP: str(step_index)})
        if not found:
            return None
        name = base.step_name(job_uuid, step_index)
        found.sort(key=lambda s: (s.get('Spec', {}).get('Name') != name,
                                  s.get('CreatedAt', '')))
        return self._handle(found[0]['ID'])

    def start(self, spec):
        """Create the step's service and return its handle; never two.

        The payload secrets (and, with network_mode none, the step's own
        network) are created, then the service, named after the step: if
        the manager refuses the name (409), the existing service of the
        step is reused, so two conductors racing here, or one resuming a
        step a crash left, end up with the one service that holds the
        name (secrets and network of the same name are reused too).
        Waits up to START_WAIT for Swarm to place the task, and raises
        ImageNotFound (removing the service) if the node cannot find the
        image.
        """
        service_id = self._create(spec)
        if service_id is None:
            return self._find_winner(spec)
        return self._placed(service_id, spec)

    def _create(self, spec):
        """Create secrets, network and service: the id, or None if the
        service name is taken (another conductor's).
        """
        user = self.conf.sandbox.user
        if user.partition(':')[0] in docker_driver.ROOT_USERS:
            raise exception.CratonException(
                "[sandbox] user is %r: task containers must not run as root;"
                " set it to an unprivileged uid:gid such as 65534:65534."
                % user)
        labels = base.step_labels(spec)
        constraints = list(self.conf.swarm.placement_constraints)
        constraints += self._synced_constraints(spec)
        network = swarm_spec.network_for(self.conf)
        if network == swarm_spec.NETWORK_NONE:
            network = self._create_object(
                '/networks/create', swarm_spec.network_body(spec),
                lambda: self._network_id(spec), 'network')
        try:
            secrets = swarm_spec.payload_secrets(spec)
        except ValueError as exc:
            raise exception.CratonException(
                'Step %s of job %s: %s' % (spec.step_index, spec.job_uuid,
                                           exc))
        ids = {}
        for secret in secrets:
            ids[secret['name']] = self._create_object(
                '/secrets/create', swarm_spec.secret_body(secret, labels),
                lambda name=secret['name']: self._secret_id(name), 'secret')
        body = swarm_spec.service_spec(self.conf, spec, secrets, ids,
                                       constraints, network)
        try:
            return self._post('/services/create', body)['ID']
        except docker.errors.APIError as exc:
            if exc.status_code == 409:   # another conductor's: use it
                return None
            raise exception.CratonException(
                'Swarm manager refused to create the service of step %s of '
                'job %s: %s' % (spec.step_index, spec.job_uuid,
                                exc.explanation or exc))

    def _post(self, path, body):
        with self._engine_errors():
            return engine_http.post_json(self._api(), path, body)

    def _create_object(self, path, body, existing, what):
        """Create a secret or network; on a name conflict (a retried or
        racing start) return the existing one's id.
        """
        try:
            created = self._post(path, body)
            return created.get('ID') or created['Id']
        except docker.errors.APIError as exc:
            # Networks answer a conflict with 500 "name conflicts".
            if exc.status_code != 409 and \
                    'conflicts with' not in str(exc.explanation):
                raise exception.CratonException(
                    'Swarm manager refused to create %s %s: %s' % (
                        what, body['Name'], exc.explanation or exc))
        found = existing()
        if found is None:
            raise exception.CratonException(
                '%s %s exists but cannot be found; start the step again.'
                % (what.capitalize(), body['Name']))
        return found

    def _secret_id(self, name):
        with self._engine_errors():
            found = self._api().secrets(filters={'name': name})
        exact = [s['ID'] for s in found if s['Spec']['Name'] == name]
        return exact[0] if exact else None

    def _network_id(self, spec):
        name = base.step_name(spec.job_uuid, spec.step_index)
        with self._engine_errors():
            found = self._api().networks(names=[name])
        exact = [n['Id'] for n in found if n['Name'] == name]
        return exact[0] if exact else None

    def _synced_constraints(self, spec):
        task_uuid = getattr(spec, 'task_uuid', None)
        if not task_uuid:
            return []
        rows = task_obj.Task.nodes_of(task_uuid)
        if not rows:
            return []
        with self._engine_errors():
            nodes = [n['ID'] for n in self._api().nodes()]
        constraints = swarm_spec.synced_constraints(rows, spec.image, nodes)
        if not constraints and not any(r['status'] == 'synced'
                                       for r in rows):
            LOG.warning('No Swarm node is recorded as holding image %s of '
                        'task %s; step %s of job %s may land on any node, '
                        'which then pulls it', spec.image, task_uuid,
                        spec.step_index, spec.job_uuid)
        return constraints

    def _placed(self, service_id, spec):
        """The handle once the task has a node (or after START_WAIT)."""
        def tasks():
            found = self._tasks(service_id) or []
            status = found[0].get('Status', {}) if found else {}
            if status.get('State') == 'rejected' and \
                    'No such image' in (status.get('Err') or ''):
                self._remove_service(service_id)
                self._remove_step_objects(spec.job_uuid, spec.step_index)
                raise exception.ImageNotFound(image=spec.image)
            return found

        def unplaced(found):
            task = found[0] if found else {}
            return not task.get('NodeID') or task.get('Status', {}).get(
                'State') in ('new', 'pending', 'assigned', 'accepted',
                             'preparing')

        return self._handle(service_id, docker_driver.poll(
            tasks, unplaced, START_WAIT, task_poll_wait))

    def state(self, handle):
        """Return the StepState of the service's task.

        ``gone`` when the service no longer exists, or when its task's
        node is down (its engine stopped answering the manager): that
        task's output and exit are lost, and Swarm would show it running
        for ever. A task the node could not start (rejected) is exited
        with no exit code and Swarm's reason.
        """
        tasks = self._tasks(handle.id)
        if tasks is None:
            return base.StepState(base.GONE, None, None)
        if not tasks:
            return base.StepState(base.RUNNING, None, None)
        if len(tasks) > 1:
            LOG.warning('Service %s has %d tasks; following the first',
                        handle.id, len(tasks))
        task = tasks[0]
        status = task.get('Status', {})
        state = status.get('State')
        code = (status.get('ContainerStatus') or {}).get('ExitCode')
        err = status.get('Err') or None
        node_id = task.get('NodeID')
        if state in ('orphaned', 'remove'):
            return base.StepState(base.GONE, None, 'task %s on node %s' % (
                state, self._nodes.hostname(node_id)))
        if state in FINAL_TASK_STATES:
            if state == 'rejected':
                err = 'node %s rejected the task: %s' % (
                    self._nodes.hostname(node_id), err)
                code = None
            elif err and err.startswith('task: non-zero exit'):
                err = None      # says no more than the exit code
            return base.StepState(base.EXITED, code, err)
        if node_id:
            hostname, node_state = self._nodes.info(node_id, NODE_STATE_TTL)
            if node_state in NODE_GONE_REASONS:
                return base.StepState(
                    base.GONE, None, NODE_GONE_REASONS[node_state] % hostname)
        return base.StepState(base.RUNNING, None, None)

    def wait(self, handle, timeout):
        """Return the exit code, or None if still running after timeout
        (or gone, or exited without a code).
        """
        st = docker_driver.poll(
            lambda: self.state(handle),
            lambda st: st.status not in (base.EXITED, base.GONE),
            max(timeout, 0), task_poll_wait)
        return st.exit_code if st.status == base.EXITED else None

    def log_frames(self, handle, follow=True):
        """Yield ``(stream, timestamp, data)`` of the step's service log.

        With ``follow``, follows the log on the manager until the task is
        final (see swarm_logs.follow), and ends with what arrived for a
        task whose node went down; raises EngineUnavailable if the stream
        breaks while the task runs, so the executor follows it again.
        Ends at once for a service that is gone.
        """
        def broken(reason):
            return exception.EngineUnavailable(url=self.conf.docker.url,
                                               reason=reason)
        try:
            with self._engine_errors():
                if follow:
                    yield from swarm_logs.follow(
                        self._api(), handle.id, lambda: self.state(handle),
                        broken, ended=self._ended.event(handle.id))
                else:
                    yield from swarm_logs.read(self._api(), handle.id)
        except docker.errors.NotFound:
            return

    def note_exited(self, handle):
        """A followed service log never ends by itself: tell the follow
        of ``handle`` to look at the task now rather than at its next idle
        check.
        """
        self._ended.event(handle.id).set()

    def kill(self, handle):
        """Stop the step now: remove its service (and payload secrets).

        Swarm deletes the task of a service scaled to 0, so nothing would
        be left to read either way; the executor has streamed the log as
        it arrived. The exit code of a killed step is unknown (None). No
        error if already exited or gone.
        """
        self.cleanup(handle)

    def cleanup(self, handle):
        """Remove the service, its payload secrets and its network; no
        error if gone (cleanup_job() removes what a gone service left).
        """
        self._ended.forget(handle.id)
        try:
            with self._engine_errors():
                labels = self._api().inspect_service(handle.id)['Spec'].get(
                    'Labels') or {}
        except docker.errors.NotFound:
            return
        self._remove_service(handle.id)
        if base.LABEL_JOB in labels and base.LABEL_STEP in labels:
            self._remove_step_objects(labels[base.LABEL_JOB],
                                      labels[base.LABEL_STEP])

    def cleanup_job(self, job_uuid):
        """Remove every service, secret and network labelled with the job,
        and networks of older steps that a down node kept in use.
        """
        for svc in self._services(**{base.LABEL_JOB: job_uuid}):
            self._remove_service(svc['ID'])
        self._remove_step_objects(job_uuid, None)
        self._reap_stale_networks()

    def check(self):
        """Raise EngineUnavailable unless ``[docker] url`` answers as a
        Swarm manager.
        """
        try:
            with self._engine_errors():
                info = self._api().info()
        except docker.errors.APIError as exc:
            raise exception.EngineUnavailable(url=self.conf.docker.url,
                                              reason=str(exc))
        if not (info.get('Swarm') or {}).get('ControlAvailable'):
            raise exception.EngineUnavailable(
                url=self.conf.docker.url,
                reason='it is not a Swarm manager, which the swarm '
                       'execution driver needs')

    # -- removal -----------------------------------------------------------

    def _remove_service(self, service_id):
        with self._unless_gone():
            self._api().remove_service(service_id)

    def _remove_step_objects(self, job_uuid, step_index):
        """Remove the secrets and networks of one step (or of every step
        of the job when ``step_index`` is None).
        """
        labels = ['%s=%s' % (base.LABEL_JOB, job_uuid)]
        if step_index is not None:
            labels.append('%s=%s' % (base.LABEL_STEP, step_index))
        api = self._api()
        with self._engine_errors():
            secrets = api.secrets(filters={'label': labels})
            networks = api.networks(filters={'label': labels})
        # 400 "in use": a service another conductor just created; its
        # own cleanup removes them.
        for secret in secrets:
            with self._unless_gone(400):
                api.remove_secret(secret['ID'])
        for network in networks:
            # The task of a service removed while it ran holds the
            # network until its node has stopped it (well below a second).
            self._remove_network(network['Id'], wait=NETWORK_WAIT)

    def _remove_network(self, network_id, wait=0):
        # 400 "in use" by a service or task (a node still shutting it
        # down, or down): left for a later cleanup_job(). A 500 "not
        # found": removed from the swarm, but the manager's own node still
        # lists its local copy for a moment.
        def remove():
            try:
                with self._engine_errors():
                    self._api().remove_network(network_id)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                if 'not found' not in str(exc.explanation):
                    raise

        def in_use(exc):
            return isinstance(exc, docker.errors.APIError) and \
                exc.status_code in (400, 403, 409)

        def left(retry_state):
            LOG.info('Network %s is still in use; left for a later '
                     'cleanup: %s', network_id,
                     retry_state.outcome.exception().explanation)

        tenacity.Retrying(
            stop=tenacity.stop_after_delay(wait),
            wait=tenacity.wait_fixed(POLL_INTERVAL),
            retry=tenacity.retry_if_exception(in_use),
            retry_error_callback=left, sleep=time.sleep)(remove)

    def _reap_stale_networks(self):
        api = self._api()
        label = '%s=true' % base.LABEL_MANAGED
        with self._engine_errors():
            networks = api.networks(filters={'label': [label]})
        if not networks:
            return
        now = time.time()
        with self._engine_errors():
            jobs = {s['Spec'].get('Labels', {}).get(base.LABEL_JOB)
                    for s in api.services(filters={'label': [label]})}
        for network in networks:
            job = (network.get('Labels') or {}).get(base.LABEL_JOB)
            age = now - swarm_spec.created(network)
            if job in jobs or age < STALE_NETWORK_AGE:
                continue
            self._remove_network(network['Id'])

