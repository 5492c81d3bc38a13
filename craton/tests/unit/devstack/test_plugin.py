# SPDX-License-Identifier: Apache-2.0
"""The DevStack plugin's phases, run with DevStack's real function libraries.

``harness.sh`` sources DevStack's ``functions`` and ``lib/{apache,database,
keystone,rpc_backend}``, stubs what would install packages or start
services, and runs ``devstack/plugin.sh`` through every phase stack.sh,
unstack.sh and clean.sh call. These tests check what the plugin wrote and
the calls it made: the configuration file, the uwsgi file, the Keystone
registrations, the database, the services.

DevStack comes from ``$DEVSTACK_DIR`` (a checkout), else from
``devstack.tar.gz`` in ``$CRATON_VENDOR_DIR`` or in ``../shared/vendor``
beside this repository; without either the tests skip and say so.
"""

import base64
import configparser
import importlib
import os
import shutil
import subprocess
import tarfile
import tempfile

from keystoneauth1 import loading as ks_loading
from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_log import log
import testtools

from craton.conf import opts as conf_opts

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..'))
HARNESS = os.path.join(HERE, 'harness.sh')
PHASES = ['stack pre-install', 'stack install', 'stack post-config',
          'stack extra', 'stack test-config', 'unstack', 'clean']


def _vendored_tarball():
    """The path of a vendored devstack.tar.gz, or None."""
    dirs = [os.environ.get('CRATON_VENDOR_DIR'),
            os.path.join(REPO, '..', 'shared', 'vendor')]
    for d in dirs:
        if d and os.path.isfile(os.path.join(d, 'devstack.tar.gz')):
            return os.path.join(d, 'devstack.tar.gz')
    return None


def _devstack_dir(workdir):
    """DevStack's top directory, unpacked into workdir if need be.

    :returns: (path, None), or (None, the reason there is none).
    """
    env_dir = os.environ.get('DEVSTACK_DIR')
    if env_dir:
        if os.path.isfile(os.path.join(env_dir, 'functions')):
            return env_dir, None
        return None, ('DEVSTACK_DIR=%s holds no DevStack (no "functions" '
                      'file)' % env_dir)
    tarball = _vendored_tarball()
    if tarball is None:
        return None, ('DevStack\'s function libraries are not available: '
                      'set DEVSTACK_DIR to a DevStack checkout, or '
                      'CRATON_VENDOR_DIR to a directory holding '
                      'devstack.tar.gz')
    dest = os.path.join(workdir, 'devstack-src')
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, 'data_filter'):
            tar.extractall(dest, filter='data')
        else:
            tar.extractall(dest)  # nosec B202 - our own vendored snapshot
    for root, _dirs, files in os.walk(dest):
        if 'functions' in files and 'stack.sh' in files:
            return root, None
    return None, '%s holds no DevStack tree' % tarball


def _calls(root):
    with open(os.path.join(root, 'calls.log')) as f:
        return [line.rstrip('\n').split('\t') for line in f]


def _ini(path):
    parser = configparser.RawConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


def _load_conf(path):
    """Craton's options (and keystonemiddleware's) as read from path."""
    conf = cfg.ConfigOpts()
    # Each group's module registers its options as the services do (oslo.db's
    # and oslo.messaging's included).
    for group, _opts in conf_opts.list_opts():
        importlib.import_module('craton.conf.%s' % group.lower()
                                ).register_opts(conf)
    # keystonemiddleware's, as craton.api.app.register_auth_opts does
    # (importing the API app here would pull in every controller).
    for group, opts in auth_token.list_opts():
        conf.register_opts(opts, group=group)
    ks_loading.register_auth_conf_options(conf, 'keystone_authtoken')
    log.register_options(conf)
    conf(['--config-file', path], project='craton', default_config_files=[],
         default_config_dirs=[])
    return conf


class TestDevStackPlugin(testtools.TestCase):
    """One run of every phase, shared by the checks below."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = tempfile.mkdtemp(prefix='craton-devstack-test-')
        cls.skip_reason = None
        devstack, reason = _devstack_dir(cls.work)
        if devstack is None:
            cls.skip_reason = reason
            return
        cls.root = os.path.join(cls.work, 'root')
        os.makedirs(cls.root)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('CRATON_', 'OS_'))}
        cls.harness_run = subprocess.run(
            ['bash', HARNESS, devstack, REPO, cls.root], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.skip_reason:
            self.skipTest(self.skip_reason)
        output = self.harness_run.stdout.decode('utf-8', 'replace')
        self.assertEqual(0, self.harness_run.returncode,
                         'harness.sh failed; its last lines:\n'
                         + '\n'.join(output.splitlines()[-40:]))
        self.calls = _calls(self.root)
        self.conf_file = os.path.join(self.root, 'etc', 'craton',
                                      'craton.conf')
        self.written = os.path.join(self.root, 'after-stack-extra')

    def _phase_calls(self, phase):
        """The stubbed calls made while plugin.sh ran PHASE."""
        out, current = [], None
        for call in self.calls:
            if call[0] == 'phase':
                current = call[1]
            elif current == phase:
                out.append(call)
        return out

    def _openstack(self, phase='stack post-config'):
        return [c[3:] for c in self._phase_calls(phase)
                if c[0] == 'openstack']

    def test_every_phase_ran(self):
        self.assertEqual(PHASES, [c[1] for c in self.calls
                                  if c[0] == 'phase'])
        self.assertEqual([], self._phase_calls('stack pre-install'))

    def test_install_installs_craton_and_its_packages(self):
        calls = self._phase_calls('stack install')
        self.assertIn(['setup_develop', REPO], calls)
        self.assertIn(['install_apache_uwsgi'], calls)
        packages = [c for c in calls if c[0] == 'install_package'][0][1:]
        for pkg in ('docker.io', 'busybox-static', 'debootstrap'):
            self.assertIn(pkg, packages)

    def test_keystone_service_user(self):
        calls = self._openstack()
        self.assertIn(['user', 'create', 'craton', '--password',
                       'service-pw', '--domain=Default', '--or-show',
                       '-f', 'value', '-c', 'id'], calls)
        self.assertIn(['role', 'add', 'service', '--user', 'craton',
                       '--project', 'service', '--user-domain', 'Default',
                       '--project-domain', 'Default'], calls)

    def test_keystone_service_and_endpoint(self):
        calls = self._openstack()
        self.assertIn(['service', 'create', 'craton-workflow', '--name',
                       'craton', '--description=Craton workflow engine',
                       '-f', 'value', '-c', 'id'], calls)
        endpoints = [c for c in calls if c[:2] == ['endpoint', 'create']]
        self.assertEqual([['endpoint', 'create', 'craton-workflow',
                           'public', 'http://127.0.0.1:7780', '--region',
                           'RegionOne', '-f', 'value', '-c', 'id']],
                         endpoints)
        # Nothing is registered in any other phase.
        for phase in PHASES:
            if phase != 'stack post-config':
                self.assertEqual([], self._openstack(phase), phase)

    def test_config_file(self):
        conf = _load_conf(os.path.join(self.written, 'craton.conf'))
        self.assertEqual('rabbit://stackrabbit:rabbit-pw@127.0.0.1:5672/',
                         conf.transport_url)
        self.assertEqual('oslo', conf.rpc_transport)
        self.assertTrue(conf.debug)
        self.assertEqual(
            os.path.join(self.root, 'opt', 'stack', 'data', 'craton'),
            conf.state_path)
        self.assertEqual(
            'mysql+pymysql://root:database-pw@127.0.0.1/craton?charset=utf8',
            conf.database.connection)
        self.assertEqual('keystone', conf.api.auth_strategy)
        self.assertEqual('http://127.0.0.1:7780', conf.api.public_endpoint)
        self.assertEqual('docker', conf.conductor.execution_driver)
        self.assertEqual('unix://%s/run/craton-devstack/docker.sock'
                         % self.root, conf.docker.url)

    def test_keystonemiddleware_settings(self):
        conf = _load_conf(os.path.join(self.written, 'craton.conf'))
        auth = conf.keystone_authtoken
        self.assertEqual('http://127.0.0.1/identity',
                         auth.www_authenticate_uri)
        self.assertEqual('craton-workflow', auth.service_type)
        self.assertEqual('password', auth.auth_type)
        raw = _ini(os.path.join(self.written, 'craton.conf'))
        section = dict(raw.items('keystone_authtoken'))
        self.assertEqual('http://127.0.0.1/identity', section['auth_url'])
        self.assertEqual('craton', section['username'])
        self.assertEqual('service-pw', section['password'])
        self.assertEqual('service', section['project_name'])
        self.assertEqual('Default', section['user_domain_name'])
        self.assertEqual('Default', section['project_domain_name'])

    def test_secrets_key_is_a_fernet_key(self):
        raw = _ini(os.path.join(self.written, 'craton.conf'))
        keys = raw.get('secrets', 'encryption_keys').split(',')
        self.assertEqual(1, len(keys))
        self.assertEqual(32, len(base64.urlsafe_b64decode(keys[0])))
        from cryptography import fernet
        token = fernet.Fernet(keys[0]).encrypt(b'x')
        self.assertEqual(b'x', fernet.Fernet(keys[0]).decrypt(token))

    def test_config_file_is_not_world_readable(self):
        # It holds the service password and the secrets key.
        mode = os.stat(os.path.join(self.written, 'craton.conf')).st_mode
        self.assertEqual(0, mode & 0o007)

    def test_uwsgi_file(self):
        uwsgi = dict(_ini(os.path.join(self.written,
                                       'craton-api-uwsgi.ini')).items('uwsgi'))
        self.assertEqual('craton.api.wsgi:application', uwsgi['module'])
        self.assertEqual('127.0.0.1:7780', uwsgi['http'])
        self.assertEqual('CRATON_CONFIG_FILE=%s' % self.conf_file,
                         uwsgi['env'])
        self.assertEqual('2', uwsgi['processes'])

    def test_database_recreated_then_migrated(self):
        calls = self._phase_calls('stack extra')
        sql = [c[-1] for c in calls if c[0] == 'mysql']
        self.assertEqual(['DROP DATABASE IF EXISTS craton;',
                          'CREATE DATABASE craton CHARACTER SET utf8;'], sql)
        dbsync = [c for c in calls if c[0] == 'craton-dbsync']
        self.assertEqual([['craton-dbsync', '--config-file', self.conf_file,
                           'upgrade']], dbsync)
        names = [c[0] for c in calls]
        self.assertLess(names.index('mysql'), names.index('craton-dbsync'))

    def test_services_started(self):
        calls = self._phase_calls('stack extra')
        started = {c[1]: c[2:] for c in calls if c[0] == 'run_process'}
        self.assertEqual({'craton-docker', 'craton-api', 'craton-conductor'},
                         set(started))
        api = started['craton-api'][0].split()
        self.assertEqual(['--procname-prefix', 'craton', '--ini',
                          os.path.join(self.root, 'etc', 'craton',
                                       'craton-api-uwsgi.ini')], api[1:])
        self.assertEqual('uwsgi', os.path.basename(api[0]))
        conductor = started['craton-conductor'][0].split()
        self.assertEqual(['--config-file', self.conf_file], conductor[1:])
        self.assertEqual(os.path.join(self.root, 'venv', 'bin',
                                      'craton-conductor'), conductor[0])
        # The engine runs as root; everything else as the stack user.
        self.assertEqual(['', 'root'], started['craton-docker'][1:])
        self.assertEqual(1, len(started['craton-api']))

    def test_own_docker_engine(self):
        calls = self._phase_calls('stack extra')
        engine = [c for c in calls
                  if c[:2] == ['run_process', 'craton-docker']]
        argv = engine[0][2].split()
        run = os.path.join(self.root, 'run', 'craton-devstack')
        for flag, value in [
                ('--host', 'unix://%s/docker.sock' % run),
                ('--exec-root', '%s/exec' % run),
                ('--pidfile', '%s/dockerd.pid' % run),
                ('--data-root', os.path.join(self.root, 'opt', 'stack',
                                             'data', 'craton', 'docker')),
                ('--containerd-namespace', 'craton-devstack'),
                ('--bridge', 'craton-ds0')]:
            self.assertEqual(value, argv[argv.index(flag) + 1], flag)
        self.assertIn('--iptables=false', argv)
        # Its bridge is made first, and the engine is asked before use.
        self.assertLess(calls.index(['sudo', 'ip', 'link', 'add', 'craton-ds0',
                                     'type', 'bridge']),
                        calls.index(engine[0]))
        self.assertIn(['curl', '-sf --unix-socket %s/docker.sock '
                       'http://engine/_ping' % run],
                      [[c[0], ' '.join(c[1:])] for c in calls])

    def test_base_images_built_by_the_project_script(self):
        calls = self._phase_calls('stack extra')
        builds = [c for c in calls if c[:2] == ['sudo', 'env']]
        self.assertEqual(
            [['sudo', 'env',
              'CRATON_DOCKER_URL=unix://%s/run/craton-devstack/docker.sock'
              % self.root, 'bash',
              os.path.join(REPO, 'tools', 'build-base-images.sh'),
              'busybox', 'python3']], builds)

    def test_api_and_conductor_checked_after_start(self):
        calls = self._phase_calls('stack extra')
        # GET / must be 200 (uwsgi alone answers 500 without the app) ...
        self.assertEqual(['curl', '-s', '-o', '/dev/null', '-w',
                          '%{http_code}', '--max-time', '5',
                          'http://127.0.0.1:7780/'], calls[-2])
        # ... and the conductor must still run.
        self.assertEqual(['systemctl', 'is-active', '--quiet',
                          'devstack@craton-conductor.service'], calls[-1])

    def test_unstack_stops_every_service(self):
        stopped = [c[1] for c in self._phase_calls('unstack')
                   if c[0] == 'stop_process']
        self.assertEqual(['craton-api', 'craton-conductor', 'craton-docker'],
                         stopped)

    def test_clean_removes_what_stack_made(self):
        self.assertFalse(os.path.exists(os.path.join(self.root, 'etc',
                                                     'craton')))
        self.assertFalse(os.path.exists(os.path.join(
            self.root, 'opt', 'stack', 'data', 'craton')))
        self.assertFalse(os.path.exists(os.path.join(
            self.root, 'run', 'craton-devstack')))
        self.assertEqual([], os.listdir(os.path.join(self.root,
                                                     'after-clean')))

    def test_services_enabled_by_settings(self):
        enabled = [c for c in self.calls if c[0] == 'enabled_services']
        self.assertEqual(['key', 'mysql', 'rabbit', 'craton-api',
                          'craton-conductor', 'craton-docker'],
                         enabled[0][1].split(','))
