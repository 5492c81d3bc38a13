# SPDX-License-Identifier: Apache-2.0
"""The Docker engine's HTTP API, for what the docker SDK has no public call.

The SDK's ``docker.APIClient`` is a ``requests.Session`` whose engine
address (``base_url``), negotiated API version (``api_version``) and
timeout (``timeout``) are public. Two things the drivers need have no
public SDK method: reading a log endpoint with each frame's stream and
timestamp kept (the SDK's ``logs()`` merges them; see :mod:`.output`),
and creating Swarm secrets, networks and services from a body of our own
(the SDK's builders know fewer fields than API 1.41). Those requests go
through this module, over the session's public ``get`` and ``post``; an
error answer becomes the SDK's own exception
(``docker.errors.APIError`` and its subclasses, as
``docker.errors.create_api_error_from_http_exception`` builds them), so
callers handle both paths alike. requirements.txt pins the SDK range
these attributes were checked against.

Transport failures (the engine not answering) are left to the caller's
``craton.common.docker_client.transport_errors``.
"""

import urllib.parse

import docker
import requests


def url(api, path, *args):
    """The versioned URL of an endpoint of ``api``'s engine.

    :param api: a ``docker.APIClient``.
    :param path: a format string such as ``'/services/{}/logs'``.
    :param args: strings put into ``path``, quoted so that an id cannot
        add path segments.
    :returns: e.g. ``'http+docker://localhost/v1.41/services/ab12/logs'``.
    """
    quoted = [urllib.parse.quote(arg, safe='') for arg in args]
    return '%s/v%s%s' % (api.base_url, api.api_version, path.format(*quoted))


def check(response):
    """Return ``response`` if the engine answered 2xx; else close it and
    raise what the SDK raises for that answer.

    :raises docker.errors.APIError: ``NotFound`` (404, or
        ``ImageNotFound`` when the engine names a missing image) and
        ``APIError`` with ``status_code``/``explanation`` otherwise.
    """
    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as exc:
        try:
            # The SDK's function raises the error itself (docker 7); it
            # reads the engine's message from the short body of the
            # answer, so the response is closed only afterwards.
            raise docker.errors.create_api_error_from_http_exception(exc)
        finally:
            response.close()
    return response


def stream(api, path, *args, params=None):
    """GET a streamed endpoint (a log) and return the open response.

    No timeout: a followed log is silent for as long as its task is. The
    caller reads the body as the engine sent it from ``response.raw`` and
    closes the response; another thread may stop a blocked read with
    ``response.raw.shutdown()`` (urllib3 >= 2.3, pinned).

    :param params: the query (dict).
    :raises docker.errors.APIError: the engine refused (``NotFound``: no
        such container or service); the response is closed.
    """
    return check(api.get(url(api, path, *args), params=params, stream=True))


def post_json(api, path, body):
    """POST ``body`` as JSON to ``path`` and return the decoded answer.

    The request has the client's timeout (``[docker] timeout``), as the
    SDK's own calls do.

    :param body: a dict, sent as it is.
    :returns: the engine's answer (a dict, e.g. ``{'ID': ...}``).
    :raises docker.errors.APIError: the engine refused (e.g. 409 for a
        name in use).
    """
    response = api.post(url(api, path), json=body, timeout=api.timeout)
    return check(response).json()
