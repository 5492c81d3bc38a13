# SPDX-License-Identifier: Apache-2.0
"""Run each job step as one sandboxed container on the ``[docker] url``
engine, local or remote (``tcp://``): nothing here uses a host path.
"""

import contextlib
import io
import tarfile
import threading
import time

import docker
from docker.types import LogConfig
from docker.types import Mount
from docker.utils import socket as docker_socket
from oslo_log import log as logging
import tenacity

from craton.common import docker_client
from craton.common import exception
from craton.conductor.drivers import base
from craton.conductor.drivers import engine_http
from craton.conductor.drivers import output

# A step never runs as these ([sandbox] user must name another).
ROOT_USERS = ('0', 'root')

# Seconds another conductor gets to finish starting a container it created
# before this one takes over (see start()), and how often to look.
CREATED_GRACE = 3.0
POLL_INTERVAL = 0.1

# Seconds read_output() waits, once a container exited, for its attached
# stream to end before it gives up on knowing how the output ended.
STREAM_END_WAIT = 5.0

LOG = logging.getLogger(__name__)


class _StreamEnds(threading.Thread):
    """Watches a container's raw stdout and stderr through ``attach``.

    Attached before the container starts, it sees every byte exactly as
    written and keeps only the last byte of each stream: what the engine's
    log cannot say about a last line of 16 KiB or more (see
    :mod:`.output`). The stored log itself still comes from the log, so a
    conductor that takes over reads the same bytes.
    """

    def __init__(self, sock, container_id):
        super().__init__(name='craton-attach-%s' % container_id[:12],
                         daemon=True)
        self.sock = sock
        self.last = {}

    def run(self):
        try:
            for stream, chunk in docker_socket.frames_iter(self.sock, False):
                if chunk:
                    self.last[stream] = chunk[-1:]
        except Exception as exc:    # closed by close(), or the engine broke
            LOG.debug('Attached stream ended: %s', exc)
            self.last = None        # incomplete: says nothing
        finally:
            self.close()

    def close(self):
        with contextlib.suppress(OSError):     # already closed
            self.sock.close()

    def ends(self, timeout):
        """``{stream: last byte was a newline}``, or {} if not known."""
        self.join(timeout)
        if self.is_alive() or self.last is None:
            return {}
        return {stream: byte == b'\n' for stream, byte in self.last.items()}


def payload_owner(user):
    """(uid, gid, mode) for the payload file, readable by ``user``."""
    uid, _, gid = user.partition(':')
    if uid.isdigit():
        gid = gid if gid.isdigit() else uid
        return int(uid), int(gid), 0o400
    # A user name: its uid is only known inside the image, so let anyone
    # in the container read the file (only the task runs there).
    return 65534, 65534, 0o444


def payload_tar(payload, user, secrets=None):
    """A tar archive for put_archive into ``base.PAYLOAD_DIR``: payload.json
    and, for each of ``secrets`` ({name: value bytes}), the file
    ``secrets/<name>``, all owned by ``user`` and readable by it alone
    (see :func:`payload_owner`); the ``secrets`` directory is ``user``'s,
    mode 0500.
    """
    uid, gid, mode = payload_owner(user)
    now = time.time()
    buf = io.BytesIO()

    def add(name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.uid, info.gid, info.mode = uid, gid, mode
        info.mtime = now
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tar:
        add('payload.json', payload)
        if secrets:
            folder = tarfile.TarInfo(
                base.SECRETS_DIR[len(base.PAYLOAD_DIR) + 1:])
            folder.type = tarfile.DIRTYPE
            folder.uid, folder.gid = uid, gid
            folder.mode = mode | ((mode & 0o444) >> 2)   # r -> r-x
            folder.mtime = now
            tar.addfile(folder)
            for name, value in sorted(secrets.items()):
                add('%s/%s' % (folder.name, name), value)
    return buf.getvalue()


def sandbox_kwargs(conf):
    """HostConfig arguments that confine a task container ([sandbox])."""
    sandbox = conf.sandbox
    return {
        'cap_drop': ['ALL'],
        'security_opt': ['no-new-privileges'],
        'read_only': True,
        # noexec keeps downloaded binaries from running; interpreters read
        # their scripts, so python3 /tmp/x.py still works.
        'tmpfs': {base.CONTAINER_TMP: 'rw,noexec,nosuid,size=%s'
                  % sandbox.tmpfs_size},
        'pids_limit': sandbox.pids_limit,
        # Equal limits: no swap beyond the memory limit.
        'mem_limit': sandbox.memory,
        'memswap_limit': sandbox.memory,
        'nano_cpus': int(sandbox.cpus * 1e9),
        'network_mode': sandbox.network_mode,
        'privileged': False,
        'ipc_mode': 'private',
        'auto_remove': False,   # removed by cleanup(), after logs are stored
        # Raw bytes, kept whole for a conductor that takes over (see
        # drivers/output.py); set explicitly so daemon log-opts don't apply.
        'log_config': LogConfig(
            type=output.LOG_DRIVER,
            config=output.log_options(sandbox.max_log_bytes)),
    }


def poll(attempt, again, timeout, interval):
    """Call ``attempt()`` every ``interval`` s while ``again(result)``.

    ``interval`` may also be a tenacity ``wait`` (a callable of the retry
    state giving seconds). Gives up ``timeout`` s after the first call.
    Returns the last result: the one ``again`` refused, or the last one at
    the deadline. An exception of ``attempt`` ends the poll at once and is
    raised.
    """
    return tenacity.Retrying(
        stop=tenacity.stop_after_delay(timeout),
        wait=(interval if callable(interval)
              else tenacity.wait_fixed(interval)),
        retry=tenacity.retry_if_result(again),
        retry_error_callback=lambda state: state.outcome.result(),
        sleep=time.sleep)(attempt)


class DockerDriver(base.ExecutionDriver):
    """One container per step on the ``[docker] url`` engine."""

    NAME = 'docker'
    # What one step runs as, in messages.
    KIND = 'Container'

    def __init__(self, conf):
        super().__init__(conf)
        self._lock = threading.Lock()
        self._client_key = self._client_obj = self._node = None
        self._attached = {}     # container id -> _StreamEnds

    # -- engine access -----------------------------------------------------

    def _api(self):
        # One client per engine setting (building one asks the engine for
        # its API version), but a changed [docker] url gets a new one.
        d = self.conf.docker
        key = (d.url, d.api_version, d.timeout,
               d.tls_ca_cert, d.tls_cert, d.tls_key)
        with self._lock:
            if self._client_key != key:
                with self._engine_errors():
                    self._client_obj = docker_client.get_client(self.conf)
                self._client_key, self._node = key, None
            return self._client_obj.api

    def _engine_errors(self):
        # Transport failures mean the engine did not answer; what the engine
        # itself said (APIError) is left to the caller. The swarm driver
        # maps more.
        return docker_client.transport_errors(self.conf)

    @contextlib.contextmanager
    def _unless_gone(self, *statuses):
        # For calls that must not fail on something already gone (404) or
        # in the given conflict states (e.g. 409: not running).
        try:
            with self._engine_errors():
                yield
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code not in statuses:
                raise

    def _handle(self, container_id):
        if self._node is None:
            with self._engine_errors():
                self._node = self._api().info()['Name']
        return base.StepHandle(id=container_id, node=self._node)

    # -- the interface -----------------------------------------------------

    def find(self, job_uuid, step_index):
        """Return the handle of the step's container, or None.

        Looks the container up by its ``craton.job``/``craton.step`` labels,
        stopped ones included, so a conductor can reattach to what another
        one started.
        """
        filters = {'label': ['%s=%s' % (base.LABEL_JOB, job_uuid),
                             '%s=%s' % (base.LABEL_STEP, step_index)]}
        with self._engine_errors():
            found = self._api().containers(all=True, filters=filters)
        if not found:
            return None
        # Only one container can carry the step's name; prefer it over any
        # stray one that merely copied the labels.
        name = '/' + base.step_name(job_uuid, step_index)
        found.sort(key=lambda c: (name not in (c.get('Names') or []),
                                  c.get('Created', 0)))
        return self._handle(found[0]['Id'])

    def start(self, spec):
        """Start the step and return its handle; never two containers.

        The container is created (with its anonymous payload volume), the
        payload is copied in, and the container started. Its name is the
        step's, so the engine refuses a second one (409): then the
        existing container is reused, and started if it was only created.
        Two conductors racing here, or one that resumes a step whose
        container a crash left, end up with the one container that holds
        the name; creating first spares the usual case a lookup. Raises
        ImageNotFound if the image is not on the engine.
        """
        handle = self._create(spec)
        if handle is not None:
            self._launch(handle.id, spec)
            return handle
        handle = self._find_winner(spec)
        # A created container is either being started by the conductor that
        # just created it (don't rewrite the payload under it) or was left
        # by one that died before copying the payload in and starting it.
        status = poll(lambda: self.state(handle).status,
                      lambda status: status == base.CREATED,
                      CREATED_GRACE, POLL_INTERVAL)
        if status == base.CREATED:
            self._launch(handle.id, spec)
        return handle

    def _create(self, spec):
        """Create volume + container: the handle, or None if name taken."""
        api = self._api()
        name = base.step_name(spec.job_uuid, spec.step_index)
        labels = base.step_labels(spec)
        user = self.conf.sandbox.user
        if user.partition(':')[0] in ROOT_USERS:
            raise exception.CratonException(
                "[sandbox] user is %r: task containers must not run as root;"
                " set it to an unprivileged uid:gid such as 65534:65534."
                % user)
        # An anonymous volume: made with the container and removed with it
        # (remove_container v=True), two engine calls fewer than a named
        # one; put_archive fills it before the start.
        mount = Mount(base.PAYLOAD_DIR, None, type='volume', no_copy=True)
        host_config = api.create_host_config(mounts=[mount],
                                             **sandbox_kwargs(self.conf))
        # HOME: the root is read-only; tools that keep caches under ~ need
        # somewhere to write.
        env = {base.PAYLOAD_ENV: base.PAYLOAD_FILE,
               'HOME': base.CONTAINER_TMP}
        with self._engine_errors():
            try:
                created = api.create_container(
                    spec.image, name=name, labels=labels, user=user,
                    command=base.build_command(spec.command, spec.payload),
                    environment=env, host_config=host_config)
            except docker.errors.ImageNotFound:
                raise exception.ImageNotFound(image=spec.image)
            except docker.errors.APIError as exc:
                if exc.status_code == 409:   # another conductor's: use it
                    return None
                raise exception.CratonException(
                    'Docker engine refused to create the container of step '
                    '%s of job %s: %s' % (spec.step_index, spec.job_uuid,
                                          exc.explanation or exc))
        return self._handle(created['Id'])

    def _find_winner(self, spec):
        # The engine reserves a name before the container is listed: give
        # the conductor that won the name a moment to finish creating it.
        handle = poll(lambda: self.find(spec.job_uuid, spec.step_index),
                      lambda handle: handle is None,
                      CREATED_GRACE, POLL_INTERVAL)
        if handle is None:
            raise exception.CratonException(
                '%s %s: its name is taken but it cannot be found; start the '
                'step again.' % (self.KIND, base.step_name(spec.job_uuid,
                                                           spec.step_index)))
        return handle

    def _launch(self, container_id, spec):
        # put_archive writes into the created (not started) container's
        # anonymous payload volume: no host path is involved, so it works
        # on a remote engine, and the read-only root does not matter.
        api = self._api()
        with self._engine_errors():
            api.put_archive(container_id, base.PAYLOAD_DIR,
                            payload_tar(spec.payload, self.conf.sandbox.user,
                                        spec.secrets))
            self._attach(container_id)
            try:
                api.start(container_id)
            except docker.errors.APIError as exc:
                self._detach(container_id)
                raise exception.CratonException(
                    'Docker engine could not start step %s of job %s: %s' % (
                        spec.step_index, spec.job_uuid,
                        exc.explanation or exc))

    def _attach(self, container_id):
        # Best effort: without it only the end of a very long last line is
        # uncertain (see _StreamEnds).
        try:
            sock = self._api().attach_socket(
                container_id, params={'stdout': 1, 'stderr': 1,
                                      'stream': 1})
        except Exception as exc:
            LOG.warning('Could not attach to container %s: %s',
                        container_id, exc)
            return
        watcher = _StreamEnds(sock, container_id)
        with self._lock:
            old = self._attached.pop(container_id, None)
            self._attached[container_id] = watcher
        if old is not None:
            old.close()
        watcher.start()

    def _detach(self, container_id):
        with self._lock:
            watcher = self._attached.pop(container_id, None)
        if watcher is not None:
            watcher.close()

    def stream_ends(self, handle):
        """How each stream of a container this driver started ended.

        See :class:`_StreamEnds`; ``{}`` for a container started by
        another conductor (or before a restart).
        """
        with self._lock:
            watcher = self._attached.get(handle.id)
        return watcher.ends(STREAM_END_WAIT) if watcher else {}

    def state(self, handle):
        """Return the container's StepState; 'gone' if it no longer exists.

        ``error`` is 'OOMKilled' when the kernel killed it for memory, or
        the engine's error text (e.g. the command could not be executed).
        """
        try:
            with self._engine_errors():
                st = self._api().inspect_container(handle.id)['State']
        except docker.errors.NotFound:
            return base.StepState(base.GONE, None, None)
        status, code = st.get('Status'), None
        if status == 'created':
            status = base.CREATED
        elif status in ('exited', 'dead', 'removing'):
            status, code = base.EXITED, st.get('ExitCode')
        else:   # running, paused, restarting
            status = base.RUNNING
        error = 'OOMKilled' if st.get('OOMKilled') else st.get('Error')
        return base.StepState(status, code, error or None)

    def log_frames(self, handle, follow=True):
        """Yield ``(stream, timestamp, data)`` of the container's log.

        Reads ``GET /containers/{id}/logs`` with timestamps (the SDK's
        ``logs()`` drops which stream and which message a frame is, and
        :mod:`.output` needs both). Ends at once for a container that is
        gone.
        """
        params = {'stdout': 1, 'stderr': 1, 'timestamps': 1,
                  'follow': int(bool(follow))}
        try:
            with self._engine_errors():
                response = engine_http.stream(
                    self._api(), '/containers/{}/logs', handle.id,
                    params=params)
        except docker.errors.NotFound:
            return
        try:
            with self._engine_errors():
                yield from output.read_frames(response.raw)
        finally:
            response.close()   # also when the caller stops early

    def wait(self, handle, timeout):
        """Return the exit code, or None if still running after timeout.

        Also None at once for a container that is gone (state() says
        'gone') or was never started, which would wait for ever.
        """
        st = self.state(handle)
        if st.status == base.EXITED:
            return st.exit_code
        if st.status != base.RUNNING or timeout <= 0:
            return None
        try:
            with self._engine_errors():
                return self._api().wait(handle.id,
                                        timeout=timeout)['StatusCode']
        except exception.EngineUnavailable:
            # A read timeout (on a unix socket the SDK reports it as a
            # ConnectionError) is the normal "still running" answer; ask
            # again to tell it from an engine that stopped answering.
            st = self.state(handle)
            return st.exit_code if st.status == base.EXITED else None
        except docker.errors.NotFound:
            return None

    def kill(self, handle):
        """SIGKILL the container; no error if already exited or gone."""
        with self._unless_gone(409):   # 409: not running
            self._api().kill(handle.id)

    def cleanup(self, handle):
        """Remove the container with its payload volume; no error if
        gone.
        """
        self._detach(handle.id)
        self._remove_container(handle.id)

    def cleanup_job(self, job_uuid):
        """Remove every container labelled with the job, with its payload
        volume, and any volume labelled with it (named payload volumes of
        releases before the anonymous ones).
        """
        api = self._api()
        label = {'label': ['%s=%s' % (base.LABEL_JOB, job_uuid)]}
        with self._engine_errors():
            containers = api.containers(all=True, filters=label)
        for c in containers:
            self._detach(c['Id'])
            self._remove_container(c['Id'])
        with self._engine_errors():
            volumes = api.volumes(filters=label).get('Volumes') or []
        for v in volumes:
            self._remove_volume(v['Name'])

    def check(self):
        """Raise EngineUnavailable if the engine does not answer a ping."""
        try:
            with self._engine_errors():
                self._api().ping()
        except docker.errors.APIError as exc:
            raise exception.EngineUnavailable(url=self.conf.docker.url,
                                              reason=str(exc))

    def _remove_container(self, container_id):
        # 409: a removal is already in progress (another conductor).
        with self._unless_gone(409):
            self._api().remove_container(container_id, force=True, v=True)

    def _remove_volume(self, name):
        # 409: still in use by a container that another conductor created
        # meanwhile; cleanup_job() gets it later.
        with self._unless_gone(409):
            self._api().remove_volume(name, force=True)
