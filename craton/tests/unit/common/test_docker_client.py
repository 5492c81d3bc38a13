# SPDX-License-Identifier: Apache-2.0
"""The one way to open and close an engine client, and the mapping of
transport failures to EngineUnavailable."""

from unittest import mock

import docker
import requests
import urllib3

from craton.common import docker_client
from craton.common import exception
from craton import conf
from craton.tests import base

CONF = conf.CONF


class FakeClient:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


class TestEngine(base.TestCase):

    def setUp(self):
        super().setUp()
        self.config(url='unix:///nowhere/docker.sock', group='docker')

    def test_opens_and_closes_its_own_client(self):
        client = FakeClient()
        with mock.patch.object(docker, 'DockerClient',
                               return_value=client) as make:
            with docker_client.engine(CONF) as engine:
                self.assertIs(client, engine)
                self.assertFalse(client.closed)
        self.assertTrue(client.closed)
        self.assertEqual('unix:///nowhere/docker.sock',
                         make.call_args.kwargs['base_url'])

    def test_closes_it_when_the_block_fails(self):
        client = FakeClient()
        with mock.patch.object(docker, 'DockerClient', return_value=client):
            self.assertRaises(KeyError, self._fail_inside, KeyError('x'))
        self.assertTrue(client.closed)

    def _fail_inside(self, exc, client=None):
        with docker_client.engine(CONF, client):
            raise exc

    def test_leaves_a_given_client_open(self):
        client = FakeClient()
        with docker_client.engine(CONF, client) as engine:
            self.assertIs(client, engine)
        self.assertFalse(client.closed)

    def test_transport_failures_become_engine_unavailable(self):
        for error in (requests.exceptions.ConnectionError('refused'),
                      requests.exceptions.ReadTimeout('slow'),
                      urllib3.exceptions.ProtocolError('reset')):
            exc = self.assertRaises(exception.EngineUnavailable,
                                    self._fail_inside, error, FakeClient())
            self.assertIn('unix:///nowhere/docker.sock', str(exc))
            self.assertIn(str(error), str(exc))

    def test_what_the_engine_said_passes_unchanged(self):
        error = docker.errors.NotFound('no such container')
        self.assertIs(error, self.assertRaises(
            docker.errors.NotFound, self._fail_inside, error, FakeClient()))

    def test_an_engine_that_cannot_be_reached_at_all(self):
        with mock.patch.object(
                docker, 'DockerClient',
                side_effect=docker.errors.DockerException('no socket')):
            exc = self.assertRaises(exception.EngineUnavailable,
                                    self._fail_inside, KeyError('x'))
        self.assertIn('no socket', str(exc))
