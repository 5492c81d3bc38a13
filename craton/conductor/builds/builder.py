# SPDX-License-Identifier: Apache-2.0
"""Build a task's image: fetch its source, ``docker build``, record it.

The conductor runs :func:`build_task` in a builder worker; the task object
is the only record, so every outcome (ready or error, with a reason a person
can act on) is saved on it and nothing is raised for a failed build.
"""

import collections
import os
import re
import shutil
import tempfile
import time

import docker
from oslo_log import log as logging
import requests
import urllib3

from craton.common import docker_client
from craton.common import exception
from craton.common import fsm
from craton.common import states
from craton.common import task_sources
from craton.conductor.builds import fetch
from craton.conductor.builds import images
from craton.conductor.builds import registry

LOG = logging.getLogger(__name__)

BuildResult = collections.namedtuple('BuildResult', ['image_id', 'log'])

MAX_REASON_BYTES = 4096
# The log a build returns keeps its last MAX_LOG_CHARS; a build that prints
# without end must not exhaust the conductor's memory.
MAX_LOG_CHARS = 1 << 20
_STEP = re.compile(r'^Step \d+/\d+ : ')
# Lines the legacy builder prints for its own bookkeeping: no help to
# someone reading why a build failed.
_NOISE = re.compile(r'^( ---> |Removing intermediate container )')
_ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')


def build_image(client, context_dir, tag, timeout, reason_lines=20,
                engine_url=None):
    """Build ``context_dir`` on the engine and tag the image ``tag``.

    The build runs without network (``network_mode='none'``) and never pulls
    (base images must be on the engine); intermediate containers are always
    removed.

    :param client: a ``docker.DockerClient``.
    :param timeout: seconds the build may take.
    :param reason_lines: lines of output kept in a failure's reason.
    :param engine_url: how to name the engine in an EngineUnavailable.
    :returns: ``BuildResult(image_id, log)``; ``image_id`` is ``sha256:…``.
    :raises BuildError: the failing step, the last ``reason_lines`` lines of
        output and the engine's error; or the timeout.
    :raises EngineUnavailable: the engine did not answer.
    """
    deadline = time.monotonic() + timeout
    log, log_chars = collections.deque(), 0
    tail = collections.deque(maxlen=max(reason_lines, 1))
    partial, step, image_id, error = '', None, None, None
    try:
        # The HTTP timeout bounds each wait for output: a build silent for
        # `timeout` seconds has run too long anyway. Closing the connection
        # makes the engine cancel the build.
        stream = client.api.build(path=context_dir, tag=tag, rm=True,
                                  forcerm=True, decode=True, pull=False,
                                  network_mode='none', timeout=timeout)
        for chunk in stream:
            text = chunk.get('stream') or chunk.get('status') or ''
            if text:
                log.append(text)
                log_chars += len(text)
                while log_chars > MAX_LOG_CHARS and len(log) > 1:
                    log_chars -= len(log.popleft())
                *lines, partial = (partial + text).split('\n')
                for line in lines:
                    line = _ANSI.sub('', line).rstrip()
                    if _STEP.match(line):
                        step = line
                    if line and not _NOISE.match(line):
                        tail.append(line)
            if 'ID' in (chunk.get('aux') or {}):
                image_id = chunk['aux']['ID']
            if chunk.get('error'):
                error = (chunk.get('errorDetail') or {}).get(
                    'message') or chunk['error']
            if time.monotonic() > deadline:
                stream.close()
                raise _timed_out(timeout)
    except (requests.exceptions.ReadTimeout,
            urllib3.exceptions.ReadTimeoutError):
        raise _timed_out(timeout)
    except docker_client.TRANSPORT_ERRORS as exc:
        raise exception.EngineUnavailable(
            url=engine_url or client.api.base_url, reason=exc)
    except docker.errors.APIError as exc:
        # Refused before any step ran, e.g. a Dockerfile that does not parse.
        raise exception.BuildError(reason='the engine refused the build: %s'
                                   % (exc.explanation or exc))
    except (docker.errors.DockerException, OSError) as exc:
        raise exception.BuildError(reason='cannot send the build context: '
                                   '%s' % exc)
    if partial.strip():
        tail.append(_ANSI.sub('', partial).rstrip())
    if error is not None:
        # The engine's error is the last line `docker build` would print.
        lines = ([line for line in tail if line != error] +
                 [error])[-max(reason_lines, 1):]
        raise exception.BuildError(reason='image build failed at %s\n%s' % (
            step or 'the start', '\n'.join(lines)))
    if image_id is None:
        # Engines before API 1.30 send no aux ID: ask for the tag.
        image_id = client.api.inspect_image(tag)['Id']
    return BuildResult(image_id, ''.join(log))


def _timed_out(timeout):
    return exception.BuildError(reason='image build timed out after %d s '
                                '([builder] build_timeout)' % timeout)


def limit_reason(text, limit=MAX_REASON_BYTES):
    """Cut ``text`` to ``limit`` UTF-8 bytes, keeping its first line (what
    failed) and as much of its end (the actual error) as fits.
    """
    data = text.encode('utf-8')
    if len(data) <= limit:
        return text
    head = text.split('\n', 1)[0].encode('utf-8')[:limit // 4]
    marker = b'\n[...]\n'
    rest = data[-(limit - len(head) - len(marker)):]
    return (head + marker + rest).decode('utf-8', 'ignore')


def build_task(task, conf, driver, client=None, workdir=None, owner=None):
    """Build one task's image and record the outcome on the task.

    ``building`` (saved) → fetch the source into a fresh directory below
    ``workdir`` (default ``[DEFAULT] state_path``/builds, always removed
    afterwards), its modes made a git checkout's (:func:`fetch.fetch_source`)
    → ``build_number`` + 1 → build ``craton/task-<uuid>:<n>`` →
    ``image``, ``image_digest``. An approval given for another digest goes
    back to ``pending``: what an admin approved is no longer what would run.

    With ``[docker] registry`` the image is then pushed as
    ``REGISTRY/craton/task-<uuid>:<n>`` (``image``; ``registry_digest`` the
    manifest digest). Then :func:`distribute` hands it to ``driver`` (the
    conductor's execution driver) and the task ends ``ready`` or
    ``error``. Older images of the task are removed afterwards
    (:func:`craton.conductor.builds.images.remove_stale`).

    A failed build (BuildError, EngineUnavailable, RegistryError, or
    anything unexpected) leaves the task in ``error`` with
    ``status_reason`` saying why (at most 4 KiB, credentials scrubbed); the
    previous image, if any, is kept. Nothing is raised unless saving the
    task fails.

    Every status write goes through the task's state machine
    (:meth:`craton.objects.task.Task.transition`), conditional on the
    status read and, with ``owner`` (the conductor's host name), on that
    conductor still holding the build claim. When one loses a race (the
    task was rebuilt, given a new source or deleted meanwhile, or another
    conductor took the build over) the build stops without writing
    anything more: a rebuilt task is ``pending`` again, and once this
    build's claim is released the sweep builds it from its new state; the
    image of a build whose task was deleted meanwhile is removed.
    """
    if not task.start_build(owner=owner):
        LOG.info('Task %s changed before its build started; not building '
                 'it', task.uuid)
        return
    builddir = None
    try:
        workdir = workdir or os.path.join(conf.state_path, 'builds')
        os.makedirs(workdir, mode=0o700, exist_ok=True)
        builddir = tempfile.mkdtemp(prefix='task-%s-' % task.uuid,
                                    dir=workdir)
        context = fetch.fetch_source(task.source, builddir, conf,
                                     task_uuid=task.uuid)
        with docker_client.engine(conf, client) as engine:
            task.build_number = (task.build_number or 0) + 1
            tag = images.tag(task.uuid, task.build_number)
            started = time.monotonic()
            result = build_image(
                engine, context, tag, conf.builder.build_timeout,
                reason_lines=conf.builder.status_reason_lines,
                engine_url=conf.docker.url)
            LOG.info('Built image %s (%s) for task %s in %.1f s', tag,
                     result.image_id, task.uuid, time.monotonic() - started)
            pushed = _push(engine, conf, task, result.image_id, driver)
    except (exception.BuildError, exception.EngineUnavailable,
            exception.RegistryError) as exc:
        LOG.info('Build of task %s failed: %s', task.uuid, _scrub(task, exc))
        _set_error(task, str(exc), owner)
        return
    except Exception as exc:
        # A bug or the host (disk full, state_path not writable) must not
        # leave the task "building" for ever.
        LOG.exception('Unexpected error building task %s', task.uuid)
        _set_error(task, 'internal error while building: %s: %s'
                   % (type(exc).__name__, exc), owner)
        return
    finally:
        if builddir:
            remove_tree(builddir)
    _set_image(task, pushed or (tag, None), result.image_id)
    if not distribute(task, conf, driver, owner):
        _forget_if_deleted(task, conf, driver)
        return
    if pushed and task.build_number > 1:
        images.remove_stale(task, conf, driver)


def distribute(task, conf, driver, owner=None):
    """Make a built task's image runnable by ``driver``: ``ready``, or
    ``syncing`` while a driver that distributes images (Swarm) brings it
    to its nodes and then ``ready`` (it holds it somewhere) or ``error``
    (with the driver's reason). Also how a conductor finishes a task left
    ``syncing`` by one that died. The task's other unsaved changes (the
    new image) are written with the first status write.

    :returns: False when a status write lost a race (see
        :func:`build_task`: the caller stops), else True. Nothing is
        raised unless saving the task fails.
    """
    if not driver.distributes_images:
        return _move(task, fsm.TASK_DONE, owner)
    if task.status != states.TASK_SYNCING and \
            not _move(task, fsm.TASK_SYNC, owner):
        return False
    try:
        driver.prepare_image(task)
    except exception.ImageNotDistributed as exc:
        LOG.info('Image of task %s not distributed: %s', task.uuid, exc)
        return _set_error(task, str(exc), owner)
    except Exception as exc:
        # Nothing picks a task up again once it is "syncing" but the
        # sweep: never leave it there.
        LOG.exception('Unexpected error distributing the image of task %s',
                      task.uuid)
        return _set_error(task, 'internal error while syncing image %s: '
                          '%s: %s' % (task.image, type(exc).__name__, exc),
                          owner)
    return _move(task, fsm.TASK_DONE, owner)


def _set_image(task, reference, image_id):
    """Give the task its new image (not saved: the next status write
    carries it). ``reference`` is ``(image, registry_digest)``: a pushed
    image runs as ``REGISTRY/craton/task-<uuid>@<registry_digest>``. An
    approval of another image goes back to ``pending``.
    """
    task.image, task.registry_digest = reference
    task.image_digest = image_id
    if (task.approval == states.APPROVAL_APPROVED and
            task.approved_digest != task.image_digest):
        LOG.info('Task %s now builds %s, not the approved %s: approval is '
                 'pending again', task.uuid, task.image_digest,
                 task.approved_digest)
        task.reset_approval()


def _push(client, conf, task, image_id, driver):
    """Push the new image when ``[docker] registry`` is set: ``(registry
    tag, manifest digest)``, else None.
    """
    if not conf.docker.registry:
        if driver.needs_registry:
            raise exception.BuildError(
                reason='the %s execution driver needs [docker] registry, '
                       'which its nodes pull task images from'
                       % driver.NAME)
        return None
    return registry.push_task_image(client, conf, task.uuid,
                                    task.build_number, image_id)


def _scrub(task, text):
    source = task.source if isinstance(task.source, dict) else {}
    return task_sources.scrub(str(text),
                              task_sources.url_secrets(source.get('url')))


def _move(task, event, owner):
    """Move the task by ``event``; False (logged) when it lost a race."""
    if task.transition(event, owner=owner):
        return True
    _lost_race(task)
    return False


def _set_error(task, reason, owner):
    """Move the task to ``error`` with ``reason`` (cut, scrubbed); False
    (logged) when it lost a race.
    """
    if task.transition(fsm.TASK_FAIL, owner=owner,
                       reason=limit_reason(_scrub(task, reason))):
        return True
    _lost_race(task)
    return False


def _forget_if_deleted(task, conf, driver):
    """After a lost race: if the task was deleted meanwhile, remove the
    image this build made. The delete's own clean-up ran before the image
    existed. Best effort.
    """
    try:
        task.refresh_status()
    except exception.TaskNotFound:
        LOG.info('Task %s was deleted during its build; removing the image '
                 'the build made', task.uuid)
        try:
            images.remove_all(task.uuid, conf, driver)
        except exception.CratonException as exc:
            LOG.warning('Cannot remove the images of deleted task %s: %s',
                        task.uuid, exc)


def _lost_race(task):
    LOG.info('Task %s was rebuilt or deleted during its build; this build '
             'stops without recording its outcome', task.uuid)


def remove_tree(path):
    """Delete a build directory, even one a copied mode made read-only."""
    def _retry(func, failed, _exc):
        try:
            os.chmod(os.path.dirname(failed), 0o700)
            func(failed)
        except OSError:
            pass

    if os.path.lexists(path):
        shutil.rmtree(path, onerror=_retry)
