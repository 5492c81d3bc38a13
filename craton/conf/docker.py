# SPDX-License-Identifier: Apache-2.0
from oslo_config import cfg

group = cfg.OptGroup('docker', title='Docker engine')

opts = [
    cfg.StrOpt('url', default='unix:///run/craton/docker.sock',
               help='Docker engine the conductor builds images on and, with '
                    'the docker execution driver, runs steps on: a unix '
                    'socket (unix:///path) or tcp://host:port.'),
    cfg.StrOpt('api_version', default='auto',
               help='Docker API version to use, or "auto".'),
    cfg.IntOpt('timeout', default=120, min=1,
               help='Seconds a single call to the Docker engine may take.'),
    cfg.StrOpt('registry',
               help='Registry (host:port) task images are pushed to after a '
                    'build, e.g. 127.0.0.1:5001. Jobs then run the image by '
                    'its registry digest. Required by the swarm execution '
                    'driver, whose nodes pull from it.'),
    cfg.StrOpt('tls_ca_cert', help='CA bundle for a tcp:// engine with TLS.'),
    cfg.StrOpt('tls_cert', help='Client certificate for a TLS engine.'),
    cfg.StrOpt('tls_key', help='Client key for a TLS engine.'),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(opts, group=group)


def list_opts():
    return opts
