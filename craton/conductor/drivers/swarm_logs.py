"""Reading a step service's log from the Swarm manager.

The manager gathers a task's log from its node, which reads the
container's json-file log: measured on engine 20.10, a service's log is
the container's log byte for byte (stdout and stderr in the order the
file has them, lines longer than 16 KiB and a last line without newline
included, no prefixes when neither timestamps nor details are asked
for), the same on every read, followed or not. What differs is that a
*followed* service log never ends: Swarm keeps waiting for the service's
next task. So :func:`follow` reads in a thread and decides itself when
the step is over.
"""

import collections
import queue
import socket
import threading

import docker

from craton.conductor.drivers import base

# While the log is quiet, the task's state is looked at after this many
# seconds, doubling up to IDLE_CHECK_MAX: a short step ends promptly, a
# long quiet one costs the manager little.
IDLE_CHECK_MIN = 0.05
IDLE_CHECK_MAX = 2.0

_END = object()


class _Follower(threading.Thread):
    """Reads a followed log response into a queue until closed."""

    def __init__(self, api, response):
        super().__init__(name='craton-swarm-log', daemon=True)
        self.api = api
        self.response = response
        self.queue = queue.Queue()
        self.error = None

    def run(self):
        try:
            for data in self.api._multiplexed_response_stream_helper(
                    self.response):
                self.queue.put(data)
        except Exception as exc:   # closed by close(), or the engine broke
            self.error = exc
        finally:
            self.queue.put(_END)

    def close(self):
        """Stop reading: unblock the read, then release the connection."""
        try:
            raw = self.api._get_raw_response_socket(self.response)
            # A SocketIO over a unix socket; the socket itself over TLS.
            getattr(raw, '_sock', raw).shutdown(socket.SHUT_RDWR)
        except Exception:   # already closed
            pass
        self.join(5)
        if not self.is_alive():
            self.response.close()


def _request(api, service_id, follow, stderr=True):
    """The open response of GET /services/{id}/logs (NotFound if gone)."""
    res = api._get(api._url('/services/{0}/logs', service_id),
                   params={'stdout': 1, 'stderr': int(stderr),
                           'follow': int(follow)},
                   stream=True)
    api._raise_for_status(res)
    return res


def read(api, service_id, stderr=True):
    """Yield the service's log so far, without following it.

    :raises: docker.errors.NotFound if the service is gone.
    """
    res = _request(api, service_id, False, stderr)
    try:
        yield from api._multiplexed_response_stream_helper(res)
    finally:
        res.close()


def follow(api, service_id, state, skip_bytes, broken):
    """Yield the log as it arrives, from byte ``skip_bytes``, to its end.

    ``state()`` returns the step's StepState; ``broken(reason)`` returns
    the exception to raise when the stream breaks while the task runs
    (the executor then follows it again from what it stored). Once the
    task is final the follow stops and one plain read supplies whatever
    the follow had not delivered yet; for a task whose node is down (or a
    service that is gone) there is nothing more to read.

    :raises: docker.errors.NotFound if the service is gone at the start.
    """
    follower = _Follower(api, _request(api, service_id, True))
    follower.start()
    seen = 0     # bytes of the log that went by, skipped ones included
    idle = IDLE_CHECK_MIN
    try:
        while True:
            try:
                data = follower.queue.get(timeout=idle)
            except queue.Empty:
                data = None
            if data is None or data is _END:
                st = state()
                if st.status in (base.RUNNING, base.CREATED):
                    if data is _END:
                        raise broken('log stream of service %s ended: %s'
                                     % (service_id, follower.error))
                    idle = min(idle * 2, IDLE_CHECK_MAX)
                    continue
                break
            idle = IDLE_CHECK_MIN
            if seen + len(data) > skip_bytes:
                yield data[max(skip_bytes - seen, 0):]
            seen += len(data)
    finally:
        follower.close()
    if st.status == base.EXITED:
        rest = max(seen, skip_bytes)
        try:
            yield from base.skip_prefix(read(api, service_id), rest)
        except docker.errors.NotFound:
            # Removed meanwhile (cleanup by another conductor): what was
            # followed is all there is.
            pass


def tail(chunks, lines):
    """The last ``lines`` lines of a byte stream, as text.

    Reads it all with a rolling window, as the docker driver does (the
    engine's ``tail`` parameter counts 16 KiB entries, not lines).
    """
    window = collections.deque(maxlen=lines)
    pending = b''
    for chunk in chunks:
        pending += chunk
        *done, pending = pending.split(b'\n')
        window.extend(done)
    if pending:
        window.append(pending)
    return [line.decode('utf-8', 'replace') for line in window]
