# SPDX-License-Identifier: Apache-2.0
"""Real Craton processes for functional tests.

A :class:`Deployment` writes a config file, migrates the database with
``craton-dbsync`` and starts ``craton-all`` or ``craton-api`` plus any number
of ``craton-conductor`` processes, each a real process that can be killed
with SIGKILL and started again. Nothing here is faked: the processes talk to
the real Docker engine, broker and database the test chose.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

from cryptography import fernet
import fixtures
import requests
import testtools

from craton.tests.functional import api_client

DOCKER_URL = os.environ.get('CRATON_TEST_DOCKER_URL',
                            'unix:///run/craton/docker.sock')
RABBIT_URL = os.environ.get('CRATON_TEST_RABBIT_URL',
                            'rabbit://craton:craton@127.0.0.1:5672/')
MYSQL_URL = os.environ.get('CRATON_TEST_MYSQL_URL',
                           'mysql+pymysql://craton:craton@127.0.0.1/')
# The Keystone tools/keystone.sh runs, and the service user it creates.
KEYSTONE_URL = os.environ.get('CRATON_TEST_KEYSTONE_URL',
                              'http://127.0.0.1:5000/v3')


def keystone_config(url=KEYSTONE_URL):
    """The ``extra`` config of a Deployment that authenticates with the
    real Keystone at ``url`` (keystonemiddleware with the service user).
    """
    return {
        'api': {'auth_strategy': 'keystone'},
        'keystone_authtoken': {
            'www_authenticate_uri': url,
            'auth_url': url,
            'auth_type': 'password',
            'username': 'craton',
            'password': 'craton-service',
            'project_name': 'service',
            'user_domain_name': 'Default',
            'project_domain_name': 'Default',
        }}


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Deployment(fixtures.Fixture):
    """Config, database and processes of one Craton deployment.

    ``mode`` is ``all`` (craton-all, in-process RPC unless a transport_url
    is given) or ``split`` (craton-api + ``conductors`` craton-conductor
    processes over oslo.messaging).
    """

    def __init__(self, mode='all', db_url=None, transport_url=None,
                 conductors=1, source_roots=(), extra=None):
        super().__init__()
        self.mode = mode
        self.db_url = db_url
        self.transport_url = transport_url
        self.conductor_count = conductors
        self.source_roots = list(source_roots)
        self.extra = extra or {}
        self.procs = {}

    def _setUp(self):
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.port = free_port()
        db_url = self.db_url or 'sqlite:///%s/craton.sqlite' % self.dir
        local = self.mode == 'all' and not self.transport_url
        sections = {
            'DEFAULT': {
                'rpc_transport': 'local' if local else 'oslo',
                'state_path': self.dir,
                'debug': 'true',
            },
            'database': {'connection': db_url, 'max_retries': '3',
                         'retry_interval': '1'},
            'api': {'host_ip': '127.0.0.1', 'port': str(self.port),
                    'auth_strategy': 'noauth'},
            'docker': {'url': DOCKER_URL},
            'builder': {'local_source_roots': ','.join(self.source_roots)},
            'conductor': {'sweep_interval': '1', 'heartbeat_interval': '1',
                          'heartbeat_timeout': '6'},
            'sandbox': {'network_mode': 'none'},
            # A test-only key, made for this deployment.
            'secrets': {'encryption_keys':
                        fernet.Fernet.generate_key().decode()},
        }
        if self.transport_url:
            sections['DEFAULT']['transport_url'] = self.transport_url
        for section, values in self.extra.items():
            sections.setdefault(section, {}).update(values)
        self.config_file = os.path.join(self.dir, 'craton.conf')
        with open(self.config_file, 'w') as f:
            for section, values in sections.items():
                f.write('[%s]\n' % section)
                for key, value in values.items():
                    f.write('%s = %s\n' % (key, value))
        self.run_command('dbsync', 'upgrade')
        self.addCleanup(self.stop_all)
        if self.mode == 'all':
            self.start('all', host='craton-all-1')
        else:
            self.start('api')
            for i in range(self.conductor_count):
                self.start('conductor', host='conductor-%d' % (i + 1))
        self.wait_api()
        self.client = api_client.Client('http://127.0.0.1:%d' % self.port)

    def run_command(self, command, *args):
        out = subprocess.run(
            [sys.executable, '-m', 'craton.cmd.%s' % command,
             '--config-file', self.config_file] + list(args),
            capture_output=True, text=True, timeout=300)
        if out.returncode:
            raise RuntimeError('craton-%s %s failed: %s%s' % (
                command, ' '.join(args), out.stdout, out.stderr))
        return out.stdout

    def start(self, command, host=None):
        """Start (or start again) one process; returns its name."""
        name = host or command
        extra_conf = os.path.join(self.dir, '%s.conf' % name)
        with open(extra_conf, 'w') as f:
            f.write('[DEFAULT]\nhost = %s\n' % name)
        log = open(os.path.join(self.dir, '%s.log' % name), 'ab')
        proc = subprocess.Popen(
            [sys.executable, '-m', 'craton.cmd.%s' % command,
             '--config-file', self.config_file, '--config-file', extra_conf],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[name] = (command, proc)
        return name

    def wait_api(self, timeout=60):
        deadline = time.monotonic() + timeout
        url = 'http://127.0.0.1:%d/healthcheck' % self.port
        while time.monotonic() < deadline:
            for name, (_, proc) in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError('%s exited early:\n%s' % (
                        name, self.log(name)[-4000:]))
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError('API did not answer within %s s' % timeout)

    def kill(self, name, sig=signal.SIGKILL):
        _, proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(timeout=30)

    def restart(self, name):
        command, _ = self.procs[name]
        self.start(command, host=name)
        if command in ('all', 'api'):
            self.wait_api()

    def stop_all(self):
        for _, proc in list(self.procs.values()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in list(self.procs.values()):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log(self, name):
        with open(os.path.join(self.dir, '%s.log' % name), 'rb') as f:
            return f.read().decode('utf-8', 'replace')


def task_dir(parent, name, script=None, dockerfile=None):
    """Write a task directory (Dockerfile + optional script) under
    ``parent`` and return its path. The default Dockerfile adds the
    directory at /craton, as the seed's tasks do: the script runs as
    ``python3 /craton/task.py`` (whatever its mode here: the build gives
    the context a git checkout's modes).
    """
    path = os.path.join(parent, name)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, 'Dockerfile'), 'w') as f:
        f.write(textwrap.dedent(dockerfile or '''\
            FROM craton/python3:bookworm
            ADD . /craton
            '''))
    if script is not None:
        with open(os.path.join(path, 'task.py'), 'w') as f:
            f.write(textwrap.dedent(script))
    return path


def source_root():
    """A directory for task sources that the conductor's user can read."""
    path = tempfile.mkdtemp(prefix='craton-tasks-')
    os.chmod(path, 0o755)
    return path


class DeployedTestCase(testtools.TestCase):
    """Tests that share one craton-all for their class.

    ``cls.root`` is a local-source root the service accepts, ``cls.deploy``
    the :class:`Deployment`, ``cls.api`` its client. Subclasses choose the
    execution driver with :meth:`deployment_extra` and add what they share
    in :meth:`setUpClass` after calling this one.
    """

    @classmethod
    def deployment_extra(cls):
        """Config sections that choose the execution driver."""
        return None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = source_root()
        cls.deploy = Deployment(source_roots=[cls.root],
                                extra=cls.deployment_extra())
        cls.deploy.setUp()
        cls.api = cls.deploy.client

    @classmethod
    def tearDownClass(cls):
        cls.deploy.cleanUp()
        super().tearDownClass()
