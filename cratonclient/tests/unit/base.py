# SPDX-License-Identifier: Apache-2.0
"""Run ``openstack craton …`` in-process through OSC's real shell, against
a fake HTTP layer (requests-mock), and capture what it prints.
"""

import collections
import io
import json
import logging
import os
import sys

import fixtures
from osc_lib import clientmanager
from openstackclient import shell
from requests_mock.contrib import fixture as rm_fixture
import testtools

from cratonclient.osc import plugin

ENDPOINT = 'http://craton.test:7780'

Result = collections.namedtuple('Result', 'rc stdout stderr stdout_bytes')


class TTYStringIO(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self):
        return True


def error_body(status, detail, code='craton.error', request_id='req-42'):
    return {'errors': [{'status': status, 'code': code, 'title': 'Error',
                        'detail': detail, 'request_id': request_id}]}


def region(name='r1', uuid='11111111-1111-4111-8111-111111111111', **kw):
    out = {'uuid': uuid, 'name': name, 'project_id': 'default',
           'description': None, 'variables': {},
           'created_at': '2026-11-26T18:00:00+00:00', 'updated_at': None,
           'links': [{'rel': 'self', 'href': ENDPOINT + '/v1/regions/' +
                      uuid}]}
    out.update(kw)
    return out


def host(name='h1', uuid='22222222-2222-4222-8222-222222222222', **kw):
    out = {'uuid': uuid, 'name': name, 'project_id': 'default',
           'ip_address': '127.0.0.1', 'region': 'r1', 'region_uuid': 'r-u',
           'cell': None, 'cell_uuid': None, 'labels': [], 'variables': {},
           'created_at': '2026-11-26T18:00:00+00:00', 'updated_at': None,
           'links': []}
    out.update(kw)
    return out


def task(name='audit', uuid='33333333-3333-4333-8333-333333333333', **kw):
    out = {'uuid': uuid, 'name': name, 'description': None,
           'project_id': 'default', 'user_id': 'admin',
           'source': {'type': 'upload'},
           'command': ['python3', '/craton/task.py'], 'timeout': 3600,
           'status': 'pending', 'status_reason': None, 'image': None,
           'image_digest': None, 'registry_digest': None,
           'approval': 'pending', 'approved_by': None, 'approved_at': None,
           'visibility': 'private', 'shared_roles': [],
           'created_at': '2026-11-26T18:00:00+00:00', 'updated_at': None,
           'links': []}
    out.update(kw)
    return out


def step(index, name, status='pending', **kw):
    out = {'index': index, 'name': name, 'task_uuid': 't-u',
           'image_digest': 'sha256:0', 'status': status, 'exit_code': None,
           'status_reason': None, 'node': None, 'started_at': None,
           'finished_at': None, 'result': None}
    out.update(kw)
    return out


def job(status='pending', steps=(),
        uuid='44444444-4444-4444-8444-444444444444', **kw):
    out = {'uuid': uuid, 'workflow_uuid': 'w-u', 'task_uuid': None,
           'project_id': 'default', 'user_id': 'admin', 'status': status,
           'status_reason': None, 'variables': {}, 'host_count': 1,
           'steps': list(steps), 'created_at': '2026-11-26T18:00:00+00:00',
           'updated_at': None, 'started_at': None, 'finished_at': None,
           'links': []}
    out.update(kw)
    return out


class ShellTestCase(testtools.TestCase):
    """Each test runs ``openstack`` commands with ``--os-auth-type none``
    against ``ENDPOINT``, answered by ``self.api`` (requests-mock; real
    HTTP when ``fake_http`` is False).
    """

    fake_http = True

    def setUp(self):
        super().setUp()
        for name in list(os.environ):
            if name.startswith('OS_'):
                self.useFixture(fixtures.EnvironmentVariable(name))
        # No clouds.yaml of the machine's may change what a test sees.
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', os.devnull))
        self.useFixture(fixtures.EnvironmentVariable('OS_AUTH_TYPE', 'none'))
        self.useFixture(fixtures.EnvironmentVariable('OS_CRATON_URL',
                                                     ENDPOINT))
        if self.fake_http:
            self.api = self.useFixture(rm_fixture.Fixture())
        self.useFixture(fixtures.MockPatch(
            'cratonclient.osc.v1.progress.POLL_INTERVAL', 0))

    def url(self, path):
        return ENDPOINT + path

    def run_cli(self, *argv, tty=False):
        """``openstack craton ARGV…``: exit code and what it printed."""
        # OSC caches each plugin's client on the ClientManager class, for
        # the life of the process; every run here is a new process.
        setattr(clientmanager.ClientManager, plugin.API_NAME,
                clientmanager.ClientCache(plugin.make_client))
        stdout = io.TextIOWrapper(io.BytesIO(), encoding='utf-8')
        stderr = TTYStringIO() if tty else io.StringIO()
        root = logging.getLogger()
        handlers = list(root.handlers)
        level = root.level
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = stdout, stderr
        try:
            try:
                rc = shell.main(['craton'] + list(argv))
            except SystemExit as exc:
                # argparse's usage errors, as the real command exits.
                rc = exc.code
        finally:
            sys.stdout, sys.stderr = saved
            # OSC adds its console handler to the root logger on each run.
            for handler in root.handlers[:]:
                if handler not in handlers:
                    root.removeHandler(handler)
            root.setLevel(level)
        stdout.flush()
        raw = stdout.buffer.getvalue()
        return Result(rc, raw.decode('utf-8', 'replace'), stderr.getvalue(),
                      raw)

    def run_json(self, *argv):
        """Run with ``-f json``; the parsed output (asserts exit 0)."""
        result = self.run_cli(*(argv + ('-f', 'json')))
        self.assertEqual(0, result.rc, result.stderr)
        return json.loads(result.stdout)

    def sent(self, index=-1):
        """The JSON body of a request the command sent."""
        return self.api.request_history[index].json()

    def assert_one_error_line(self, result, *parts):
        """Exit 1 and exactly one line on stderr holding every part."""
        self.assertEqual(1, result.rc, result)
        lines = result.stderr.splitlines()
        self.assertEqual(1, len(lines), result.stderr)
        for part in parts:
            self.assertIn(part, lines[0])
        self.assertNotIn('Traceback', result.stderr)
