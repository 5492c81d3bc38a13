# SPDX-License-Identifier: Apache-2.0
"""The benchmark's same-sandbox loop (tools/bench/engine_loops.py) makes
the engine calls the docker driver makes for a step, with the same
arguments: if the driver changes how it runs a step, this fails until
the loop is changed with it.
"""

import functools
import importlib.util
import os
import socket
from unittest import mock

from docker.types import HostConfig
import fixtures
from oslo_config import fixture as config_fixture
from oslotest import base

from craton.conductor.drivers import base as driver_base
from craton.conductor.drivers import docker as docker_driver
from craton import conf

CONF = conf.CONF
LOOPS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..',
                     'tools', 'bench', 'engine_loops.py')
# Calls of the driver that are Craton's own, not the container's: find()
# lists the step's containers, _handle() asks the engine's name once.
DRIVER_ONLY = ('containers', 'info')
# Calls of the loop that the executor makes, not the driver's start() or
# cleanup().
EXECUTOR = ('wait', 'logs')


def load_loops():
    spec = importlib.util.spec_from_file_location('bench_engine_loops',
                                                  LOOPS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_engine():
    """A recording stand-in for docker.APIClient: every call lands in
    ``mock_calls``; a step's container is 'c1' and its payload volume is
    named as the driver names it.
    """
    api = mock.Mock(spec=['create_volume', 'create_container',
                          'put_archive', 'attach_socket', 'start', 'wait',
                          'logs', 'inspect_container', 'remove_container',
                          'remove_volume', 'containers', 'info'])
    api.containers.return_value = []
    api.info.return_value = {'Name': 'engine-1'}
    api.create_container.return_value = {'Id': 'c1'}
    api.wait.return_value = {'StatusCode': 0}
    api.logs.return_value = b''
    # Not an engine call: the SDK's own builder, not recorded.
    api.create_host_config = functools.partial(HostConfig, '1.41')

    def attach(*args, **kwargs):
        # An attached stream that ends at once.
        ours, theirs = socket.socketpair()
        theirs.close()
        return ours

    api.attach_socket.side_effect = attach
    return api


class TestSameSandboxLoop(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(CONF))
        self.loops = load_loops()
        self.spec = self.loops.step_spec('sha256:' + 'b' * 64,
                                         ['sh', '-c', 'echo step'], 3)
        name = driver_base.step_name(self.spec.job_uuid, 3)
        self.inspected = {'State': {'Status': 'exited', 'ExitCode': 0},
                          'Mounts': [{'Name': name,
                                      'Destination': '/run/craton'}]}

    def record_driver(self):
        api = fake_engine()
        api.inspect_container.return_value = self.inspected
        self.useFixture(fixtures.MockPatch(
            'craton.common.docker_client.get_client',
            return_value=mock.Mock(api=api)))
        driver = docker_driver.DockerDriver(CONF)
        handle = driver.start(self.spec)
        driver.cleanup(handle)
        return api.mock_calls

    def record_loop(self):
        api = fake_engine()
        api.inspect_container.return_value = self.inspected
        self.loops.sandbox_docker_step(api, CONF, self.spec)
        return api.mock_calls

    def test_same_calls_in_the_same_order(self):
        driver = [c[0] for c in self.record_driver()
                  if c[0] not in DRIVER_ONLY]
        loop = [c[0] for c in self.record_loop() if c[0] not in EXECUTOR]
        self.assertEqual(driver, loop)
        self.assertEqual([c for c in self.loops.DOCKER_SANDBOX_CALLS
                          if c not in EXECUTOR], loop)

    def test_same_container_and_volume(self):
        # Both build the HostConfig with the SDK's own class, so equal
        # arguments mean the same sandbox, mount, user, labels and env.
        driver = {c[0]: c for c in self.record_driver()}
        loop = {c[0]: c for c in self.record_loop()}
        for call in ('create_container', 'start', 'remove_container'):
            self.assertEqual(driver[call], loop[call], call)
        # The tar's mtime differs; where it goes and what it holds not.
        self.assertEqual(driver['put_archive'][1][:2],
                         loop['put_archive'][1][:2])
