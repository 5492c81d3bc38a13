"""Connections to the Docker engine named by ``[docker] url``."""

import docker
from docker import tls as docker_tls

from craton.common import exception


def get_client(conf):
    """Return a docker SDK client for the configured engine.

    Config is read at call time, so a test or a reloaded service that
    changes ``[docker] url`` gets a client for the new engine.
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
