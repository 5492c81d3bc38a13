# SPDX-License-Identifier: Apache-2.0
"""What the swarm driver does with task images: the driver's side of
:class:`craton.conductor.drivers.base.ExecutionDriver`'s image calls.

Swarm nodes pull task images from ``[docker] registry``: after a build,
:meth:`SwarmImages.prepare_image` makes the nodes hold the new image
(:mod:`.sync`); :meth:`SwarmImages.remove_images` removes a task's images
from them (:mod:`.cleanup`); the periodic resync (:mod:`.periodic`) brings
ready tasks' images to nodes that lack them.
"""

import docker
from oslo_log import log as logging
import requests

from craton.common import docker_client
from craton.common import exception
from craton.conductor.drivers.swarm import cleanup
from craton.conductor.drivers.swarm import periodic
from craton.conductor.drivers.swarm import sync

LOG = logging.getLogger(__name__)


class SwarmImages:
    """Image distribution for :class:`craton.conductor.drivers.swarm.
    SwarmDriver` (a mixin: it needs ``self.conf``).
    """

    needs_registry = True
    distributes_images = True

    def prepare_image(self, task):
        """Make the Swarm nodes hold the task's pushed image; see
        :func:`.sync.distribute`.

        :raises ImageNotDistributed: the image was never pushed to the
            registry (no ``registry_digest``), or no node holds it.
        """
        if not task.registry_digest:
            raise exception.ImageNotDistributed(
                reason='image %s of task %s is not in [docker] registry, '
                       'which Swarm nodes pull from; rebuild the task'
                       % (task.image, task.uuid))
        sync.distribute(task, self.conf)

    def remove_images(self, task_uuid, keep=(), client=None):
        """Remove the task's images but ``keep`` from every active, ready
        node (nothing without ``[docker] registry``, which the clean-up
        helper is pulled from). Failures are logged.
        """
        if not self.conf.docker.registry:
            return
        try:
            with docker_client.engine(self.conf, client) as engine:
                cleanup.clean_nodes(engine, self.conf, task_uuid, keep)
        except (exception.CratonException, docker.errors.APIError,
                requests.exceptions.RequestException, sync.SyncBusy) as exc:
            LOG.warning('Cannot remove the images of task %s from the Swarm '
                        'nodes: %s', task_uuid, exc)

    def periodic_tasks(self):
        """The resync of ready tasks' images, every ``[swarm]
        sync_interval`` seconds.
        """
        return [('swarm-sync', self.conf.swarm.sync_interval,
                 self.resync_images)]

    def resync_images(self):
        """One round of :func:`.periodic.resync`."""
        periodic.resync(self.conf)
