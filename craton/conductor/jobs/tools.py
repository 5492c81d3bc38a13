# SPDX-License-Identifier: Apache-2.0
"""What a step of a job needs from the conductor running it.

The job runner (:mod:`craton.conductor.jobs.runner`) builds these and
hands them down to each :class:`craton.conductor.jobs.step.StepRun`, so
control only goes forward, from the job to its step: re-reading the job
and checking the claim (:func:`fresh_job`), calling the driver with
retries while the engine is away (:meth:`StepTools.engine_call`), and the
job's host snapshot, read once (:class:`Inventory`).
"""

import base64
import dataclasses
import json
import threading
import time
import typing

from oslo_log import log as logging
import tenacity

from craton.common import audit
from craton.common import context as craton_context
from craton.common import exception
from craton.common import secret_store
from craton.objects import job as job_obj
from craton.objects import secret as secret_obj

LOG = logging.getLogger(__name__)


class JobTakenOver(Exception):
    """The job is no longer ours: another conductor took it over.

    The runner stops quietly, touching neither its rows nor its containers.
    """


class StepChanged(Exception):
    """A step row changed under us although the job is still ours.

    For example a previous owner's late write. The job runner reloads the
    job and carries on from what the database says.
    """


def step_label(step):
    """How reasons name a step: ``step 'deploy' (index 1)``."""
    return "step '%s' (index %d)" % (step.name, step.index)


def fresh_job(job, host):
    """Re-read ``job``'s status and claim from the database (one row, not
    its steps: this runs a few times per step).

    :returns: a :class:`craton.objects.job.JobClaim` (uuid, status,
        conductor).
    :raises JobTakenOver: ``host`` no longer owns the job.
    :raises JobNotFound: the job was deleted.
    """
    fresh = job_obj.Job.get_claim(job.uuid)
    if fresh.conductor != host:
        raise JobTakenOver()
    return fresh


def _log_engine_retry(retry_state):
    LOG.warning('Docker engine unavailable, retrying: %s',
                retry_state.outcome.exception())


@dataclasses.dataclass(frozen=True)
class StepTools:
    """What running a step needs from the conductor that runs its job.

    The job runner hands these down (:meth:`craton.conductor.jobs.runner.
    JobRunner.step_tools`), so a step never calls back into the runner.
    Times are seconds.
    """

    conf: typing.Any          # the oslo.config object, read at call time
    driver: typing.Any        # the execution driver (drivers.base)
    dbapi: typing.Any         # where the step's log chunks go
    host: str                 # this conductor, the owner of the claim
    engine_grace: float       # an unreachable engine is retried this long
    poll_interval: float      # most between looks at a running step
    retry_interval: float     # between retries of the engine
    log_drain_timeout: float  # wait for a log stream to end after exit
    context: typing.Any = dataclasses.field(
        default_factory=craton_context.get_admin_context)
    # A Reaper that removes finished steps' containers in the background;
    # None: removed before the step returns.
    reaper: typing.Any = None

    def fresh_job(self, job):
        """:func:`fresh_job` with this conductor's host."""
        return fresh_job(job, self.host)

    def engine_call(self, func, *args):
        """Call a driver method, retrying EngineUnavailable for the grace.

        ``func(*args)`` is called again every ``retry_interval`` seconds
        while it raises EngineUnavailable, until ``engine_grace`` seconds
        have passed since the first call; any other exception is raised
        at once. Returns what ``func`` returns.

        :raises: EngineUnavailable (the last one) once the engine stayed
            away that long.
        """
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_delay(self.engine_grace),
            wait=tenacity.wait_fixed(self.retry_interval),
            retry=tenacity.retry_if_exception_type(
                exception.EngineUnavailable),
            before_sleep=_log_engine_retry, sleep=time.sleep, reraise=True)
        return retrying(func, *args)

    def step_secrets(self, job, step, delivering=False):
        """The secrets ``step`` of ``job`` receives, with their values as
        they are now: ``{secret name: value bytes}``.

        :param delivering: the values go into the step's container now:
            each is recorded as a ``read`` event of its secret, with
            ``detail`` ``{"job": <uuid>, "step": <index>}``, by the job's
            user (api-ref.rst, "Audit and notifications").
        :raises SecretNotFound: a secret the step names is gone.
        """
        values = {}
        for uuid in step.secrets or ():
            secret = secret_obj.Secret.get_by_uuid(uuid, self.context)
            values[secret.name] = secret.reveal()
            if delivering:
                audit.record(
                    'read', 'secret', secret.uuid, secret.project_id,
                    job.user_id, detail={'job': job.uuid,
                                         'step': step.index})
        return values

    def seal(self, job, step, values):
        """``values`` ({name: bytes}) encrypted by the configured secrets
        backend, as a dict for the step's ``secrets_sealed``: the values
        the container holds, for whoever redacts its output later.

        :raises SecretStoreUnavailable: the backend cannot store it.
        """
        bundle = json.dumps({name: base64.b64encode(value).decode('ascii')
                             for name, value in values.items()})
        store = secret_store.backend(self.conf)
        stored = store.store(bundle.encode('ascii'),
                             name='craton-job-%s-step-%d' % (job.uuid,
                                                             step.index))
        return {'backend': self.conf.secrets.backend,
                'ciphertext': (base64.b64encode(stored.ciphertext).decode(
                    'ascii') if stored.ciphertext else None),
                'key_ref': stored.key_ref}

    def unseal(self, sealed):
        """The ``{name: bytes}`` that :meth:`seal` made ``sealed``.

        :raises SecretStoreUnavailable: no key or key manager gives it.
        """
        stored = self._stored(sealed)
        bundle = secret_store.backend(self.conf, sealed['backend']).reveal(
            stored)
        return {name: base64.b64decode(value)
                for name, value in json.loads(bundle).items()}

    def forget_sealed(self, sealed):
        """Remove what :meth:`seal` kept outside the database (a key
        manager entry); best effort, a failure is logged.
        """
        try:
            secret_store.backend(self.conf, sealed['backend']).delete(
                self._stored(sealed))
        except Exception as exc:
            LOG.warning('Could not remove the sealed secrets %s: %s',
                        sealed.get('key_ref'), exc)

    @staticmethod
    def _stored(sealed):
        ciphertext = sealed.get('ciphertext')
        return secret_store.Stored(
            base64.b64decode(ciphertext) if ciphertext else None,
            sealed.get('key_ref'))


class Reaper:
    """Removes the containers of a job's finished steps in the background,
    so the next step starts without waiting for the engine to delete the
    last one; :meth:`wait` before the job is final, so a final job has no
    container left (best effort, as before).
    """

    def __init__(self):
        self._threads = []

    def submit(self, remove, container_id):
        """Call ``remove()`` (which must not raise) in a thread of its own.

        :param container_id: names the thread, for debugging.
        """
        thread = threading.Thread(target=remove, daemon=True,
                                  name='craton-rm-%s' % container_id[:12])
        thread.start()
        self._threads.append(thread)

    def wait(self):
        """Return once every removal submitted so far has ended."""
        while self._threads:
            self._threads.pop().join()


class Inventory:
    """A job's host snapshot, read once and only when a step needs it
    (it can hold thousands of hosts). Call it to get the list of dicts.
    """

    def __init__(self, job):
        self.job = job
        self._hosts = None

    def __call__(self):
        if self._hosts is None:
            self._hosts = self.job.inventory()
        return self._hosts
