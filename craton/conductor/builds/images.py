# SPDX-License-Identifier: Apache-2.0
"""A task's images once built: what is still in use, and removing the rest.

A task's images have three homes: the build engine (``[docker] url``), the
registry (``[docker] registry``, when set) and whatever the execution
driver placed them on (Swarm nodes; nothing more for a single engine).
After a rebuild every image but the new one and those unfinished jobs
still pin goes (:func:`remove_stale`); after a delete everything goes
(:func:`remove_all`). The build engine and the registry are handled here;
the driver's places by ``driver.remove_images``.
"""

import re

import docker
from oslo_log import log as logging
import requests

from craton.common import context as craton_context
from craton.common import docker_client
from craton.common import exception
from craton.common import states
from craton.conductor.builds import registry
from craton.objects import job as job_obj

LOG = logging.getLogger(__name__)



def tag(task_uuid, build_number):
    """``craton/task-<uuid>:<n>``: a build's tag on the build engine."""
    return '%s:%d' % (registry.repository_name(task_uuid), build_number)


def task_references(image, task_uuid):
    """The references (tags and digests) naming ``task_uuid``'s repository
    among those of one image of the engine's ``/images/json`` list, with or
    without a registry prefix; ``<none>`` references are left out.
    """
    names = re.compile(r'(^|/)%s[:@]'
                       % re.escape(registry.repository_name(task_uuid)))
    refs = [r for r in (image.get('RepoTags') or []) +
            (image.get('RepoDigests') or []) if '<none>' not in r]
    return [r for r in refs if names.search(r)]


def _kept(image, keep):
    """Whether ``keep`` (image ids and manifest digests) names ``image``."""
    if image.get('Id') in keep:
        return True
    return any(r.rsplit('@', 1)[-1] in keep
               for r in image.get('RepoDigests') or () if '@' in r)


def remove_engine_images(client, task_uuid, keep=()):
    """Remove the task's images from one engine, except those ``keep``
    names (image ids or manifest digests).

    By reference, never by id: an image that is also another image's (a
    Dockerfile of a bare ``FROM``) only loses the task's names. ``force``,
    so stopped step containers do not keep a deleted task's image alive; a
    reference already gone is fine and one the engine refuses is logged.

    :param client: a ``docker.DockerClient``.
    :returns: the references removed, in the engine's order.
    :raises EngineUnavailable: the engine did not answer (with ``client``
        from :func:`craton.common.docker_client.engine`).
    """
    removed = []
    for image in client.api.images():
        refs = task_references(image, task_uuid)
        if not refs or _kept(image, keep):
            continue
        for ref in refs:
            try:
                client.api.remove_image(ref, force=True)
                removed.append(ref)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                LOG.warning('Cannot remove image %s of task %s: %s', ref,
                            task_uuid, exc.explanation or exc)
    return removed


def images_in_use(task_uuid):
    """Manifest digests and image ids of the task that unfinished jobs
    still pin (their later steps run them), as a set of strings.
    """
    context = craton_context.get_admin_context()
    pinned = set()
    for status in sorted(states.JOB_UNFINISHED):
        for job in job_obj.Job.list_all(context, {'status': status}):
            for step in job.steps:
                if step.task_uuid != task_uuid:
                    continue
                if step.image and '@' in step.image:
                    pinned.add(step.image.rsplit('@', 1)[1])
                if step.image_digest:
                    pinned.add(step.image_digest)
    return pinned


def _remove_manifests(conf, task_uuid, keep):
    if not conf.docker.registry:
        return
    reg = registry.RegistryClient(conf)
    try:
        reg.delete_task_manifests(task_uuid, keep)
    except exception.RegistryError as exc:
        LOG.warning('Cannot delete stale manifests of task %s: %s',
                    task_uuid, exc)
    finally:
        reg.close()


def remove_stale(task, conf, driver, client=None):
    """After a build: remove the task's other images from the registry,
    the build engine and the driver's places, except what unfinished jobs
    pin. Best effort: failures are logged, nothing is raised.

    :param task: the Task just built (``uuid``, ``image_digest``,
        ``registry_digest``).
    :param driver: the conductor's execution driver.
    :param client: an engine client to use, else one is opened.
    """
    keep = {task.registry_digest, task.image_digest}
    try:
        keep |= images_in_use(task.uuid)
    except Exception:
        # Without knowing what jobs pin, remove nothing.
        LOG.exception('Cannot list the images jobs of task %s use; stale '
                      'images are kept', task.uuid)
        return
    keep.discard(None)
    _remove_manifests(conf, task.uuid, keep)
    try:
        with docker_client.engine(conf, client) as engine:
            remove_engine_images(engine, task.uuid, keep)
            driver.remove_images(task.uuid, keep, client=engine)
    except (exception.CratonException, docker.errors.APIError,
            requests.exceptions.RequestException) as exc:
        LOG.warning('Cannot remove stale images of task %s: %s', task.uuid,
                    exc)


def remove_all(task_uuid, conf, driver, client=None):
    """After a delete: every image of the task, from the build engine, the
    registry and the driver's places. The registry and the driver's places
    are cleaned even when the build engine does not answer.

    :returns: the references removed from the build engine.
    :raises EngineUnavailable: the build engine did not answer.
    """
    try:
        with docker_client.engine(conf, client) as engine:
            return remove_engine_images(engine, task_uuid)
    finally:
        _remove_manifests(conf, task_uuid, ())
        try:
            driver.remove_images(task_uuid, (), client=client)
        except (exception.CratonException, docker.errors.APIError,
                requests.exceptions.RequestException) as exc:
            LOG.warning('Cannot remove the images of task %s: %s',
                        task_uuid, exc)
