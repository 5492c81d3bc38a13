# SPDX-License-Identifier: Apache-2.0
"""The one way to open, use and close a client of the Docker engine.

Every module that talks to the engine named by ``[docker] url`` goes
through :func:`engine` (a client for one piece of work) or, when it keeps a
client for longer, :func:`get_client` plus :func:`transport_errors`. Both
map a failure to reach the engine — the connection refused or reset, the
socket missing, a read that timed out — to
:class:`~craton.common.exception.EngineUnavailable`; what the engine itself
answered (``docker.errors.APIError``: 404, 409, …) is left to the caller.
"""

import contextlib

import docker
from docker import tls as docker_tls
import requests
import urllib3

from craton.common import exception

# What the docker SDK lets through when the engine does not answer:
# requests' connection errors and timeouts and urllib3's protocol errors.
TRANSPORT_ERRORS = (requests.exceptions.ConnectionError,
                    requests.exceptions.Timeout,
                    urllib3.exceptions.HTTPError)


def get_client(conf):
    """Return a ``docker.DockerClient`` for the configured engine.

    Config is read at call time, so a test or a reloaded service that
    changes ``[docker] url`` gets a client for the new engine. The caller
    closes it (or uses :func:`engine`, which does).

    :raises EngineUnavailable: the engine did not answer the version
        negotiation, or the TLS files cannot be read.
    """
    tls_config = None
    if conf.docker.tls_cert or conf.docker.tls_ca_cert:
        client_cert = None
        if conf.docker.tls_cert:
            client_cert = (conf.docker.tls_cert, conf.docker.tls_key)
        tls_config = docker_tls.TLSConfig(
            client_cert=client_cert, ca_cert=conf.docker.tls_ca_cert,
            verify=bool(conf.docker.tls_ca_cert))
    try:
        return docker.DockerClient(base_url=conf.docker.url,
                                   version=conf.docker.api_version,
                                   timeout=conf.docker.timeout,
                                   tls=tls_config)
    except docker.errors.DockerException as exc:
        raise exception.EngineUnavailable(url=conf.docker.url,
                                          reason=str(exc))


@contextlib.contextmanager
def transport_errors(conf):
    """Turn a failure to reach the engine inside the block into
    :class:`~craton.common.exception.EngineUnavailable` naming ``[docker]
    url``; any other exception passes unchanged.
    """
    try:
        yield
    except TRANSPORT_ERRORS as exc:
        raise exception.EngineUnavailable(url=conf.docker.url,
                                          reason=str(exc))


@contextlib.contextmanager
def engine(conf, client=None):
    """A client for the block: ``with docker_client.engine(conf) as c:``.

    With ``client`` given (a caller that already holds one, e.g. a test's
    fake or a loop over many tasks) that client is used and left open;
    otherwise one is opened with :func:`get_client` and always closed.
    Transport failures inside the block raise EngineUnavailable (see
    :func:`transport_errors`).

    :raises EngineUnavailable: the engine cannot be reached.
    """
    own = client is None
    with transport_errors(conf):
        if own:
            client = get_client(conf)
        try:
            yield client
        finally:
            if own:
                client.close()
