# SPDX-License-Identifier: Apache-2.0
"""The Swarm cluster the swarm-driver tests run on.

``tools/swarm-cluster.sh`` starts a real 3-node Swarm (one dockerd per
network namespace) and a registry; ``tools/swarm-cluster.sh env`` prints
where they are. The tests read the same variables:

* CRATON_SWARM_MANAGER_URL: the manager's engine (``[docker] url``);
* CRATON_SWARM_REGISTRY: the registry the nodes pull from;
* CRATON_SWARM_NODE<N>_URL: each node's own engine (tests only: to see
  the containers on a node and to stop its engine).

With none of them set, CRATON_SWARM=1 asks ``tools/swarm-cluster.sh env``
for them (the cluster must be running: a missing cluster is then a test
failure). With neither, the swarm tests skip, saying so.
"""

import functools
import os
import subprocess
import unittest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                   '..'))
CLUSTER = os.path.join(TOP, 'tools', 'swarm-cluster.sh')

SKIP_REASON = ('Swarm scenario: set CRATON_SWARM=1 (CI does) with '
               'tools/swarm-cluster.sh running, or the CRATON_SWARM_* '
               'variables of `tools/swarm-cluster.sh env`')


@functools.lru_cache()
def env():
    """{variable: value} of the cluster, or None when not asked for."""
    names = ('CRATON_SWARM_MANAGER_URL', 'CRATON_SWARM_REGISTRY')
    if all(os.environ.get(n) for n in names):
        return {k: v for k, v in os.environ.items()
                if k.startswith('CRATON_SWARM_')}
    if not os.environ.get('CRATON_SWARM'):
        return None
    out = subprocess.run(['bash', CLUSTER, 'env'], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    values = {}
    for line in out.splitlines():
        if line.startswith('export ') and '=' in line:
            key, _, value = line[len('export '):].partition('=')
            values[key] = value.strip().strip('"\'')
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise RuntimeError('tools/swarm-cluster.sh env gave no %s:\n%s'
                           % (', '.join(missing), out))
    return values


def requires_swarm(cls_or_func):
    """Skip (with the reason) unless a Swarm cluster was asked for."""
    return unittest.skipUnless(env() is not None, SKIP_REASON)(cls_or_func)


def manager_url():
    return env()['CRATON_SWARM_MANAGER_URL']


def registry():
    return env()['CRATON_SWARM_REGISTRY']


def node_urls():
    """{node number: engine URL} of every node the cluster named."""
    urls = {}
    for key, value in env().items():
        if key.startswith('CRATON_SWARM_NODE') and key.endswith('_URL'):
            number = key[len('CRATON_SWARM_NODE'):-len('_URL')]
            if number.isdigit():
                urls[int(number)] = value
    return urls


def node_number(hostname):
    """N of CRATON_SWARM_NODE<N>_URL for the node with that host name."""
    import docker
    for number, url in node_urls().items():
        if docker.APIClient(base_url=url).info()['Name'] == hostname:
            return number
    raise LookupError('no CRATON_SWARM_NODE<N>_URL for node %s' % hostname)


def cluster(*args, timeout=300):
    """Run ``tools/swarm-cluster.sh ARGS`` (stop-node N, start-node N)."""
    out = subprocess.run(['bash', CLUSTER] + [str(a) for a in args],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError('tools/swarm-cluster.sh %s failed (%d):\n%s%s'
                           % (' '.join(map(str, args)), out.returncode,
                              out.stdout, out.stderr))
    return out.stdout


def deployment_extra(extra=None):
    """Deployment sections that run steps on the cluster: the swarm
    driver against the manager, images pushed to the cluster's registry.
    """
    sections = {'docker': {'url': manager_url(), 'registry': registry()},
                'conductor': {'execution_driver': 'swarm'}}
    for section, values in (extra or {}).items():
        sections.setdefault(section, {}).update(values)
    return sections


class StepService:
    """A step's service, seen as the job tests see a container: its
    ``status`` ('running' or 'exited', from its task) and remove().
    """

    def __init__(self, api, service):
        self.api = api
        self.id = service['ID']
        self.name = service['Spec']['Name']
        tasks = api.tasks(filters={'service': self.id})
        state = tasks[0]['Status']['State'] if tasks else 'pending'
        self.status = {'complete': 'exited', 'failed': 'exited',
                       'shutdown': 'exited', 'rejected': 'exited'}.get(
                           state, state)

    def remove(self, force=True):
        self.api.remove_service(self.id)

    def __repr__(self):
        return '<service %s %s>' % (self.name, self.status)


def manager_api():
    import docker
    return docker.APIClient(base_url=manager_url(), version='auto')


def step_services(job_uuid):
    """The services of a job's steps on the manager."""
    api = manager_api()
    return [StepService(api, s) for s in api.services(
        filters={'label': ['craton.job=%s' % job_uuid]})]
