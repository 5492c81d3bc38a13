# SPDX-License-Identifier: Apache-2.0
"""Task images in the ``[docker] registry``: push, manifest digests, delete.

After a build the conductor tags the image
``REGISTRY/craton/task-<uuid>:<build>`` and pushes it through the engine
(the engine holds the layers; the registry answers with the manifest digest,
which becomes the task's ``registry_digest``). Jobs then run
``REGISTRY/craton/task-<uuid>@<registry_digest>``: a tag that moves later
cannot change what runs.

Deleting goes straight to the registry's HTTP API (``DELETE
/v2/<name>/manifests/<digest>``), which the registry accepts only with
``storage.delete.enabled: true``; it unlinks manifests and tags but frees no
disk space: the registry's own ``garbage-collect`` (run by the operator,
ideally with the registry read-only) does that.
"""

import re
import time

import docker
from oslo_log import log as logging
import requests

from craton.common import docker_client
from craton.common import exception

LOG = logging.getLogger(__name__)

# The manifest types an engine pushes (Docker schema 2; OCI from newer
# builders) and their lists; a HEAD must accept them all or the registry
# answers with (and digests) a converted schema 1 manifest.
MANIFEST_TYPES = ', '.join((
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json'))
DIGEST_HEADER = 'Docker-Content-Digest'
_DIGEST = re.compile(r'^sha256:[0-9a-f]{64}$')
# The engine's closing status line of a push, e.g.
# "3: digest: sha256:e820… size: 735" (older engines send no aux record).
_PUSHED = re.compile(r'digest: (sha256:[0-9a-f]{64}) size: \d+')


def repository(conf, task_uuid):
    """``REGISTRY/craton/task-<uuid>``: where a task's images are pushed."""
    return '%s/%s' % (registry_host(conf), repository_name(task_uuid))


def repository_name(task_uuid):
    """The repository's name inside the registry (``craton/task-<uuid>``)."""
    return 'craton/task-%s' % task_uuid


def registry_host(conf):
    """``[docker] registry`` without a scheme, as image references name it."""
    return re.sub(r'^https?://', '', conf.docker.registry or '').rstrip('/')


def pinned(image, digest):
    """``repo@digest`` for an image reference ``repo:tag``."""
    repo = image.rsplit('@', 1)[0]
    if ':' in repo.rsplit('/', 1)[-1]:
        repo = repo.rsplit(':', 1)[0]
    return '%s@%s' % (repo, digest)


def push(client, image_id, repo, tag, registry=None):
    """Tag ``image_id`` as ``repo:tag`` on the engine and push it.

    :param client: a ``docker.DockerClient`` (the engine holding the image).
    :param registry: how to name the registry in errors (default: from repo).
    :returns: the manifest digest the registry stored (``sha256:…``).
    :raises RegistryError: the engine refused, or the registry failed (the
        engine's message: unreachable, TLS to a plain-HTTP registry, …).
    :raises EngineUnavailable: the engine did not answer.
    """
    registry = registry or repo.split('/', 1)[0]
    digest = None
    try:
        client.api.tag(image_id, repo, tag)
        for chunk in client.api.push(repo, tag, stream=True, decode=True):
            if chunk.get('error'):
                message = (chunk.get('errorDetail') or {}).get(
                    'message') or chunk['error']
                raise exception.RegistryError(
                    registry=registry, reason='push of %s:%s failed: %s'
                    % (repo, tag, message))
            aux = chunk.get('aux') or {}
            if aux.get('Digest'):
                digest = aux['Digest']
            else:
                match = _PUSHED.search(chunk.get('status') or '')
                if match and digest is None:
                    digest = match.group(1)
    except docker_client.TRANSPORT_ERRORS as exc:
        raise exception.EngineUnavailable(url=client.api.base_url,
                                          reason=exc)
    except docker.errors.APIError as exc:
        raise exception.RegistryError(
            registry=registry, reason='the engine refused to push %s:%s: %s'
            % (repo, tag, exc.explanation or exc))
    if not digest or not _DIGEST.match(digest):
        raise exception.RegistryError(
            registry=registry, reason='the push of %s:%s reported no '
            'manifest digest' % (repo, tag))
    return digest


class RegistryClient:
    """The few calls of the registry HTTP API (v2) Craton needs.

    ``[docker] registry`` names ``host:port``; like the engine, the client
    tries HTTPS first and falls back to plain HTTP (registries on loopback
    or listed in the engines' ``insecure-registries``). A scheme written in
    the option (``http://…``) is used as it is.
    """

    def __init__(self, conf, session=None):
        self.conf = conf
        self.name = registry_host(conf)
        self.timeout = conf.docker.timeout
        self.session = session or requests.Session()
        given = re.match(r'^(https?)://', conf.docker.registry or '')
        self._base = ('%s://%s' % (given.group(1), self.name)
                      if given else None)

    def close(self):
        """Close the HTTP session's connections."""
        self.session.close()

    def _error(self, reason):
        return exception.RegistryError(registry=self.name, reason=reason)

    def base_url(self):
        """``https://REGISTRY``, or ``http://REGISTRY`` for a registry
        that answers only plain HTTP (tried in that order, once).

        :raises RegistryError: it answers neither.
        """
        if self._base is None:
            for scheme in ('https', 'http'):
                url = '%s://%s' % (scheme, self.name)
                try:
                    self.session.get(url + '/v2/', timeout=self.timeout)
                except requests.exceptions.RequestException as exc:
                    last = exc
                    continue
                self._base = url
                break
            else:
                raise self._error('does not answer: %s' % last)
        return self._base

    def _request(self, method, path, **kwargs):
        kwargs.setdefault('timeout', self.timeout)
        try:
            return self.session.request(method, self.base_url() + path,
                                        **kwargs)
        except requests.exceptions.RequestException as exc:
            raise self._error('%s %s failed: %s' % (method, path, exc))

    def tags(self, name):
        """Tags of repository ``name`` (empty if it does not exist)."""
        resp = self._request('GET', '/v2/%s/tags/list' % name)
        if resp.status_code == 404:
            return []
        if resp.status_code != 200:
            raise self._error('cannot list the tags of %s: HTTP %s %s'
                              % (name, resp.status_code, resp.text[:200]))
        return sorted((resp.json() or {}).get('tags') or [])

    def manifest_digest(self, name, reference):
        """The digest of manifest ``name:reference``, or None if absent."""
        resp = self._request('HEAD', '/v2/%s/manifests/%s' % (name,
                                                               reference),
                             headers={'Accept': MANIFEST_TYPES})
        if resp.status_code == 404:
            return None
        digest = resp.headers.get(DIGEST_HEADER)
        if resp.status_code != 200 or not digest:
            raise self._error('cannot read manifest %s:%s: HTTP %s'
                              % (name, reference, resp.status_code))
        return digest

    def delete_manifest(self, name, digest):
        """Delete manifest ``digest`` of ``name`` (and the tags naming it).

        Returns False if it was already gone.
        :raises RegistryError: deletes are disabled, or another failure.
        """
        resp = self._request('DELETE', '/v2/%s/manifests/%s' % (name,
                                                                 digest))
        if resp.status_code in (200, 202):
            return True
        if resp.status_code == 404:
            return False
        if resp.status_code == 405:
            raise self._error('refuses to delete manifests (HTTP 405): set '
                              '"storage: delete: enabled: true" in its '
                              'configuration')
        raise self._error('cannot delete manifest %s@%s: HTTP %s %s'
                          % (name, digest, resp.status_code,
                             resp.text[:200]))

    def digests(self, name):
        """``{digest: [tags]}`` of every tagged manifest of ``name``."""
        found = {}
        for tag in self.tags(name):
            digest = self.manifest_digest(name, tag)
            if digest:
                found.setdefault(digest, []).append(tag)
        return found

    def delete_task_manifests(self, task_uuid, keep=()):
        """Delete every manifest of a task's repository except ``keep``.

        Returns the digests deleted. Manifests no tag names any more are
        not found this way; the registry's garbage collection (with
        ``--delete-untagged``) is the operator's tool for those.
        """
        name = repository_name(task_uuid)
        deleted = []
        for digest in sorted(self.digests(name)):
            if digest in keep:
                continue
            if self.delete_manifest(name, digest):
                deleted.append(digest)
        if deleted:
            LOG.info('Deleted %d manifest(s) of task %s from registry %s: '
                     '%s', len(deleted), task_uuid, self.name,
                     ', '.join(deleted))
        return deleted


def push_task_image(client, conf, task_uuid, build_number, image_id):
    """Push a task's new build as ``REGISTRY/craton/task-<uuid>:<n>``.

    Returns ``(registry tag, manifest digest)``; raises as :func:`push`.
    """
    repo = repository(conf, task_uuid)
    tag = str(build_number)
    started = time.monotonic()
    digest = push(client, image_id, repo, tag, registry_host(conf))
    LOG.info('Pushed %s:%s (%s) in %.1f s', repo, tag, digest,
             time.monotonic() - started)
    return '%s:%s' % (repo, tag), digest
