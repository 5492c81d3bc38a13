# SPDX-License-Identifier: Apache-2.0
"""The interface between the job executor and whatever runs a step.

The executor never talks to Docker itself: it builds a :class:`StepSpec`,
asks a driver to start it, and from then on holds only a :class:`StepHandle`.
A handle is enough to reattach after a conductor restart, because drivers
find a step's container again by its job and step labels (see
architecture.rst, "Reattach, don't rerun").
"""

import abc
import dataclasses
import typing

from craton.conductor.drivers import output

# Status values of StepState.status, as the executor compares them.
RUNNING = 'running'
EXITED = 'exited'
GONE = 'gone'
CREATED = 'created'

# What a task's container receives (api-ref.rst), the same with every driver.
# Linux caps one argv string at 128 KiB (MAX_ARG_STRLEN), and an argument is
# visible in `docker inspect` and in Swarm's store; above this many bytes the
# task gets '@<payload file>' instead of the JSON itself.
MAX_INLINE_PAYLOAD = 64 * 1024
# Craton's own files live under /run/craton, a path Craton owns: nothing of
# the task's image is ever hidden or changed (a task that does
# `ADD . /craton` keeps its code there).
PAYLOAD_DIR = '/run/craton'
PAYLOAD_FILE = PAYLOAD_DIR + '/payload.json'
PAYLOAD_ENV = 'CRATON_PAYLOAD_FILE'
# Each secret a step receives is the file SECRETS_DIR/<secret name>, owned
# by the step's user, mode 0400 (api-ref.rst, "Secrets").
SECRETS_DIR = PAYLOAD_DIR + '/secrets'
# The step container's own /tmp, a private tmpfs; never a path of the host
# (which is what bandit's B108 warns about).
CONTAINER_TMP = '/tmp'  # nosec B108

# Labels on everything a driver creates for a step: how find() and
# cleanup_job() recognise it on any conductor.
LABEL_JOB = 'craton.job'
LABEL_STEP = 'craton.step'
LABEL_STEP_NAME = 'craton.step_name'
LABEL_MANAGED = 'craton.managed'
LABEL_TIMEOUT = 'craton.timeout'


@dataclasses.dataclass
class StepSpec:
    """Everything a driver needs to run one step of a job."""

    job_uuid: str
    step_index: int
    step_name: str
    image: str            # image to run: an image id 'sha256:...' or a ref
    command: list         # the task's command; the driver appends the payload
    payload: bytes        # the payload, compact JSON (may be many MiB)
    timeout: int          # seconds; the executor enforces it
    # The step's task: the swarm driver places the step on nodes whose
    # sync record says they hold the image.
    task_uuid: typing.Optional[str] = None
    # {secret name: value bytes}: each becomes the file
    # SECRETS_DIR/<name>. Never in a repr (log lines, tracebacks).
    secrets: dict = dataclasses.field(default_factory=dict, repr=False)


def secret_path(name):
    """The absolute path of secret ``name`` in a step's container."""
    return '%s/%s' % (SECRETS_DIR, name)


@dataclasses.dataclass
class StepHandle:
    """Where a started step lives."""

    id: str               # container id (swarm: service id)
    node: str             # engine host name: `docker info` Name (swarm:
                          # the host name of the task's node)


@dataclasses.dataclass
class StepState:
    """What the engine says about a step's container right now."""

    status: str           # 'running' | 'exited' | 'gone' | 'created'
    exit_code: typing.Optional[int]
    error: typing.Optional[str]   # engine's reason (e.g. OOMKilled), if any


class ExecutionDriver(abc.ABC):
    """Runs job steps as sandboxed containers.

    Drivers keep ``conf`` and read options when they are called, never at
    import or construction time, so a test fixture or a reload that changes
    an option takes effect.
    """

    #: The driver's name in ``[conductor] execution_driver``.
    NAME = None
    #: Whether the driver runs images from ``[docker] registry`` (its nodes
    #: pull them from there): a build without a registry is then an error.
    needs_registry = False
    #: Whether :meth:`prepare_image` takes time: the task is ``syncing``
    #: meanwhile. A single engine runs the image where it was built.
    distributes_images = False

    def __init__(self, conf):
        self.conf = conf

    # -- images ------------------------------------------------------------

    def prepare_image(self, task):
        """Make a task's just-built image runnable by this driver.

        Called after the build (and the push when ``needs_registry``),
        while the task is ``syncing``, only if :attr:`distributes_images`.
        Where the image went is recorded on the task (its nodes).

        :param task: the Task (``uuid``, ``image``, ``registry_digest``).
        :raises ImageNotDistributed: no place can run the image, with the
            reason a person can act on.
        """
        return None

    def remove_images(self, task_uuid, keep=(), client=None):
        """Remove a task's images from the places this driver put them,
        beyond the build engine and the registry (which the builds room
        cleans), except those ``keep`` names (image ids or manifest
        digests). Best effort: failures are logged, not raised.

        :param client: an engine client to use, else the driver opens one.
        """
        return None

    def periodic_tasks(self):
        """Work the conductor runs periodically for this driver.

        :returns: a list of ``(name, spacing, callable)``: ``spacing`` in
            seconds, read from config when called; ``callable`` takes no
            argument.
        """
        return []

    @abc.abstractmethod
    def find(self, job_uuid, step_index):
        """Return the handle of the step's container, or None if none exists.

        The container is found by its ``craton.job``/``craton.step`` labels,
        so any conductor can find what another one started.
        """

    @abc.abstractmethod
    def start(self, spec):
        """Start the step described by ``spec`` and return its handle.

        Idempotent: when the step already has a container it is reused (and
        started if it was only created), so a step never gets two.
        """

    @abc.abstractmethod
    def state(self, handle):
        """Return the :class:`StepState` of the step's container."""

    @abc.abstractmethod
    def log_frames(self, handle, follow=True):
        """Yield the step's logged messages as ``(stream, timestamp, data)``.

        From the first message on, as the engine's logs endpoint gives
        them with ``timestamps=1`` (see :mod:`.output`); with ``follow``
        until the container exits, else what is logged so far. Ends at
        once for a container that is gone or was never started.
        """

    def follow_output(self, handle, skip_bytes=0):
        """Yield ``(stream, bytes)`` of the step's output, following it
        until it exits, without the first ``skip_bytes`` bytes of the
        interleaved output: :meth:`stream_logs` with each piece's stream
        (``output.STDOUT`` or ``output.STDERR``) kept.
        """
        decoder = output.OutputDecoder()
        return output.skip_pairs(
            decoder.decode(self.log_frames(handle, follow=True)),
            skip_bytes)

    def stream_logs(self, handle, skip_bytes=0):
        """Yield the step's output as bytes, following it until it exits.

        stdout and stderr are interleaved as the engine logged them,
        exactly as written, without the first ``skip_bytes`` bytes, so a
        conductor that already stored N bytes resumes at exactly N. The
        end of this stream is not proof that every byte came: the
        executor reads the output once more with :meth:`read_output`
        after the container exited.
        """
        decoder = output.OutputDecoder()
        return output.skip_prefix(
            decoder.decode(self.log_frames(handle, follow=True)),
            skip_bytes)

    def read_output(self, handle, decoder):
        """Yield ``(stream, bytes)`` of all the step's output so far.

        For a container that exited: the whole output, from byte 0, with
        the end applied by ``decoder`` (an :class:`.output.OutputDecoder`,
        whose ``assumed`` then tells what could not be read back).
        """
        return decoder.decode(self.log_frames(handle, follow=False),
                              final=True,
                              ends=lambda: self.stream_ends(handle))

    def stream_ends(self, handle):
        """What the driver saw of how each output stream ended.

        ``{stream: True if the stream's last byte was a newline}`` for the
        streams it saw end (see :mod:`.output`: the engine's log cannot
        tell it for a last line of 16 KiB or more); ``{}`` by default.
        """
        return {}

    @abc.abstractmethod
    def wait(self, handle, timeout):
        """Return the exit code, or None if still running after ``timeout``."""

    def note_exited(self, handle):
        """The caller learned that the step's container exited (its
        :meth:`wait` returned). A driver whose followed log does not end by
        itself when the container exits ends it now; by default the
        stream ends by itself and there is nothing to do.
        """
        return None

    @abc.abstractmethod
    def kill(self, handle):
        """Stop the step now; no error if it is already exited or gone."""

    @abc.abstractmethod
    def cleanup(self, handle):
        """Remove the step's container and payload; no error if gone."""

    @abc.abstractmethod
    def cleanup_job(self, job_uuid):
        """Remove every container and volume belonging to the job."""

    @abc.abstractmethod
    def check(self):
        """Raise EngineUnavailable if the engine does not answer."""


def step_labels(spec):
    """The labels of a step's container (and of its payload storage)."""
    return {LABEL_JOB: spec.job_uuid,
            LABEL_STEP: str(spec.step_index),
            LABEL_STEP_NAME: spec.step_name,
            LABEL_MANAGED: 'true',
            LABEL_TIMEOUT: str(spec.timeout)}


def step_name(job_uuid, step_index):
    """Name of a step's container: unique per step on an engine."""
    return 'craton-%s-%s' % (job_uuid, step_index)


def build_command(command, payload):
    """The task's argv: its command plus the payload or '@<payload file>'.

    The limit counts bytes of the UTF-8 JSON, as the kernel does.
    """
    if len(payload) <= MAX_INLINE_PAYLOAD:
        return list(command) + [payload.decode('utf-8')]
    return list(command) + ['@' + PAYLOAD_FILE]
