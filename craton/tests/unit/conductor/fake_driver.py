# SPDX-License-Identifier: Apache-2.0
"""An in-memory execution driver for the executor's unit tests.

Containers are objects whose output, exit and state the test controls; a
``behaviour`` (a function run in a thread when a container starts) plays
the task. Nothing here is registered as a production driver.
"""

import threading

from craton.common import exception
from craton.conductor.drivers import base


class FakeContainer:
    """A step's container: output bytes, stdout lines, status."""

    def __init__(self, cid, spec, node='node-1'):
        self.id = cid
        self.spec = spec
        self.node = node
        self.status = base.RUNNING
        self.exit_code = None
        self.error = None
        self.output = bytearray()
        self.stdout = bytearray()
        # What the engine logged: (stream, timestamp, data), one message
        # per emit (see craton.conductor.drivers.output).
        self.frames = []
        self.removed = False
        self.killed = False
        self.cond = threading.Condition()

    def emit(self, data, stderr=False):
        """Write ``data`` (bytes) to stdout (or stderr)."""
        with self.cond:
            self.output += data
            if not stderr:
                self.stdout += data
            self.frames.append((2 if stderr else 1,
                                b'%020d' % len(self.frames), bytes(data)))
            self.cond.notify_all()

    def exit(self, code, error=None):
        with self.cond:
            if self.status == base.RUNNING:
                self.status = base.EXITED
                self.exit_code = code
                self.error = error
            self.cond.notify_all()

    def wait_exit(self, timeout):
        with self.cond:
            self.cond.wait_for(lambda: self.status != base.RUNNING, timeout)
            return self.exit_code


def succeed(output=b'', result=None, code=0):
    """A behaviour: print ``output`` (and a result line), exit ``code``."""
    def behave(container):
        if output:
            container.emit(output)
        if result is not None:
            container.emit(b'::craton-result:: ' + result + b'\n')
        container.exit(code)
    return behave


def hang(container):
    """A behaviour: run until killed."""
    container.wait_exit(60)


class FakeDriver(base.ExecutionDriver):
    """Implements the driver interface in memory."""

    def __init__(self):
        super().__init__(conf=None)
        self.lock = threading.Lock()
        self.containers = {}          # (job uuid, step index) -> container
        self.specs = []               # every StepSpec passed to start()
        self.created = []             # containers start() created
        self.behaviours = {}          # step name -> behaviour
        self.default_behaviour = succeed(b'hello\n')
        self.unavailable = 0          # calls that raise EngineUnavailable
        self.always_unavailable = False
        self.missing_images = set()
        self.cleaned = []
        self.cleaned_jobs = []
        self.calls = []
        self._next = 0

    def _engine(self, name):
        self.calls.append(name)
        with self.lock:
            if self.always_unavailable or self.unavailable > 0:
                self.unavailable = max(0, self.unavailable - 1)
                raise exception.EngineUnavailable(url='fake://',
                                                  reason='connection refused')

    def _container(self, handle):
        with self.lock:
            for container in self.containers.values():
                if container.id == handle.id and not container.removed:
                    return container
        return None

    def add_container(self, job_uuid, index, status=base.RUNNING,
                      output=b'', exit_code=None, spec=None):
        """Make a container exist as if a previous conductor started it."""
        with self.lock:
            self._next += 1
            container = FakeContainer('c%04d' % self._next, spec)
            self.containers[(job_uuid, index)] = container
        container.emit(output)
        container.status = status
        container.exit_code = exit_code
        return container

    def find(self, job_uuid, step_index):
        self._engine('find')
        with self.lock:
            container = self.containers.get((job_uuid, step_index))
        if container is None or container.removed:
            return None
        return base.StepHandle(container.id, container.node)

    def start(self, spec):
        self._engine('start')
        if spec.image in self.missing_images:
            raise exception.ImageNotFound(image=spec.image)
        with self.lock:
            self.specs.append(spec)
            key = (spec.job_uuid, spec.step_index)
            container = self.containers.get(key)
            if container is not None and not container.removed:
                start = container.status == base.CREATED
                if start:
                    container.status = base.RUNNING
            else:
                self._next += 1
                container = FakeContainer('c%04d' % self._next, spec)
                self.containers[key] = container
                self.created.append(container)
                start = True
        if start:
            behaviour = self.behaviours.get(spec.step_name,
                                            self.default_behaviour)
            threading.Thread(target=behaviour, args=(container,),
                             daemon=True).start()
        return base.StepHandle(container.id, container.node)

    def state(self, handle):
        self._engine('state')
        container = self._container(handle)
        if container is None:
            return base.StepState(base.GONE, None, None)
        return base.StepState(container.status, container.exit_code,
                              container.error)

    def log_frames(self, handle, follow=True):
        container = self._container(handle)
        if container is None:
            if follow:
                raise exception.EngineUnavailable(url='fake://',
                                                  reason='gone')
            return
        pos = 0
        while True:
            with container.cond:
                if (len(container.frames) <= pos and follow and
                        container.status == base.RUNNING):
                    container.cond.wait(0.05)
                frames = container.frames[pos:]
                exited = container.status != base.RUNNING
            pos += len(frames)
            yield from frames
            if not frames and (exited or not follow):
                return

    def wait(self, handle, timeout):
        self._engine('wait')
        container = self._container(handle)
        if container is None:
            return None
        return container.wait_exit(timeout)

    def kill(self, handle):
        self._engine('kill')
        container = self._container(handle)
        if container is not None:
            container.killed = True
            container.exit(137)

    def cleanup(self, handle):
        self._engine('cleanup')
        container = self._container(handle)
        if container is not None:
            container.removed = True
        self.cleaned.append(handle.id)

    def cleanup_job(self, job_uuid):
        self._engine('cleanup_job')
        with self.lock:
            for (uuid, _), container in self.containers.items():
                if uuid == job_uuid:
                    container.removed = True
        self.cleaned_jobs.append(job_uuid)

    def check(self):
        self._engine('check')
