# SPDX-License-Identifier: Apache-2.0
"""Reading a step service's log from the Swarm manager.

The manager gathers a task's log from its node, which reads the
container's log (the ``local`` driver: raw bytes, see :mod:`.output`);
measured on engine 20.10, with ``timestamps=1`` a service's log comes in
the same frames as a container's, the same on every read, followed or
not. What differs is that a *followed* service log never ends: Swarm
keeps waiting for the service's next task. So :func:`follow` reads in a
thread and decides itself when the step is over.
"""

import contextlib
import queue
import threading
import time

import docker

from craton.conductor.drivers import base
from craton.conductor.drivers import engine_http
from craton.conductor.drivers import output

# While the log is quiet, the task's state is looked at after this many
# seconds, doubling up to IDLE_CHECK_MAX: a short step ends promptly, a
# long quiet one costs the manager little.
IDLE_CHECK_MIN = 0.05
IDLE_CHECK_MAX = 2.0
# How often a quiet follow looks whether it was told the task ended.
ENDED_CHECK = 0.01

_END = object()


class _Follower(threading.Thread):
    """Reads a followed log response into a queue until closed."""

    def __init__(self, response):
        super().__init__(name='craton-swarm-log', daemon=True)
        self.response = response
        self.queue = queue.Queue()
        self.error = None

    def run(self):
        try:
            for frame in output.read_frames(self.response.raw):
                self.queue.put(frame)
        except Exception as exc:   # closed by close(), or the engine broke
            self.error = exc
        finally:
            self.queue.put(_END)

    def close(self):
        """Stop reading: unblock the read, then release the connection."""
        # Shuts the socket down for reading: a read blocked in run()
        # returns at once (closing the response alone would wait for that
        # read to end, i.e. for the next log line). Already closed or
        # released: nothing to unblock.
        with contextlib.suppress(Exception):
            self.response.raw.shutdown()
        self.join(5)
        if not self.is_alive():
            self.response.close()


def _request(api, service_id, follow):
    """The open response of GET /services/{id}/logs (NotFound if gone)."""
    return engine_http.stream(api, '/services/{}/logs', service_id,
                              params={'stdout': 1, 'stderr': 1,
                                      'timestamps': 1,
                                      'follow': int(follow)})


def read(api, service_id):
    """Yield the service's log frames so far, without following it.

    :raises: docker.errors.NotFound if the service is gone.
    """
    res = _request(api, service_id, False)
    try:
        yield from output.read_frames(res.raw)
    finally:
        res.close()


class EndedTasks:
    """Per service, the threading.Event that tells its :func:`follow`
    the task ended (set by whoever learned it; see ``ended`` there).
    """

    def __init__(self):
        self._events = {}
        self._lock = threading.Lock()

    def event(self, service_id):
        """The service's Event, made on first use."""
        with self._lock:
            return self._events.setdefault(service_id, threading.Event())

    def forget(self, service_id):
        """Drop the service's Event (its service is removed)."""
        with self._lock:
            self._events.pop(service_id, None)


def _next_frame(frames, idle, ended, pause=IDLE_CHECK_MIN):
    """The next frame from the queue ``frames`` (or ``_END``); None after
    ``idle`` seconds without one, or, once ``ended`` is set, after
    ``pause`` seconds without one (0: as soon as none is queued).
    """
    if ended is None:
        try:
            return frames.get(timeout=idle)
        except queue.Empty:
            return None
    deadline = time.monotonic() + idle
    while True:
        if ended.is_set():
            try:
                return frames.get(timeout=min(idle, pause)) if pause \
                    else frames.get_nowait()
            except queue.Empty:
                return None
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            # In slices, to see ``ended``: an in-process check, no engine
            # call.
            return frames.get(timeout=min(left, ENDED_CHECK))
        except queue.Empty:
            continue


def _tail_after(api, service_id, seen, last):
    """The frames of a plain read of the log after its first ``seen``, as
    an iterator, when that read lines up with the follow: its frame
    ``seen`` - 1 is ``last``, the follow's last frame (a frame carries its
    timestamp, so equal frames are the same message). None when it does
    not, or cannot be told (nothing followed yet): the engine may have
    dropped the head of a long log, and the manager may still be sending
    the follow what the task wrote.
    """
    if not seen:
        return None
    frames = read(api, service_id)
    for index, frame in enumerate(frames):
        if index == seen - 1:
            if frame == last:
                return frames
            break
    frames.close()
    return None


def follow(api, service_id, state, broken, ended=None):
    """Yield the log's frames as they arrive, to its end.

    ``state()`` returns the step's StepState; ``broken(reason)`` returns
    the exception to raise when the stream breaks while the task runs
    (the executor then follows it again). ``ended``, a threading.Event,
    is set by whoever learns that the task exited: the state is looked at
    then, not at the next idle check. Once the task is final the
    follow stops and one plain read supplies the frames the follow had
    not delivered yet — at once when that read lines up with what was
    followed (:func:`_tail_after`), else after the manager's backlog
    came to a pause; for a task whose node is down (or a service that
    is gone) there is nothing more to read.

    :raises: docker.errors.NotFound if the service is gone at the start.
    """
    follower = _Follower(_request(api, service_id, True))
    follower.start()
    seen = 0        # frames that went by
    last = None     # the last of them
    tail = None     # the plain read that finishes the follow
    pause = 0       # once told the task ended: see _next_frame
    idle = IDLE_CHECK_MIN
    try:
        while True:
            frame = _next_frame(follower.queue, idle, ended, pause)
            if frame is None or frame is _END:
                st = state()
                if st.status in (base.RUNNING, base.CREATED):
                    if frame is _END:
                        raise broken('log stream of service %s ended: %s'
                                     % (service_id, follower.error))
                    idle = min(idle * 2, IDLE_CHECK_MAX)
                    continue
                if st.status == base.EXITED and frame is None and \
                        not pause and ended is not None:
                    # Told it ended, nothing queued: finish from a plain
                    # read if it lines up with what was followed; if not,
                    # take the manager's backlog first, until it pauses.
                    try:
                        tail = _tail_after(api, service_id, seen, last)
                    except docker.errors.NotFound:
                        tail = iter(())     # removed: nothing more
                    if tail is None:
                        pause = IDLE_CHECK_MIN
                        continue
                break
            idle = IDLE_CHECK_MIN
            seen += 1
            last = frame
            yield frame
    finally:
        follower.close()
    if st.status == base.EXITED:
        try:
            if tail is None:
                tail = (frame for index, frame in enumerate(
                    read(api, service_id)) if index >= seen)
            yield from tail
        except docker.errors.NotFound:
            # Removed meanwhile (cleanup by another conductor): what was
            # followed is all there is.
            pass
