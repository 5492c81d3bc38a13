# SPDX-License-Identifier: Apache-2.0
"""The real ``openstack`` command, run in subprocesses, for the CLI's
functional tests.

:class:`CLI` runs ``openstack [GLOBAL OPTIONS] craton ARGS...`` with an
environment of its own: none of the caller's ``OS_*`` variables leak in,
only those of the connection it was made for (noauth headers or a
Keystone user). The executable is the one installed next to the running
Python, so the tests drive the plugin of the tree under test. stdout is
kept as bytes: logs must arrive exactly as stored.

:class:`Reader` collects a running command's stdout as it arrives, so a
test can tell whether bytes came before the command (or the step it
follows) ended.
"""

import json
import os
import shlex
import subprocess
import sys
import threading
import time

OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')

# What a command may take at most; `--wait` commands include a build or a
# whole job.
TIMEOUT = 300

def executable():
    """The ``openstack`` next to this Python; fails if it is not there."""
    if not os.access(OPENSTACK, os.X_OK):
        raise AssertionError(
            '%s is missing: install the project into this virtualenv '
            '(pip install -e .), which installs python-openstackclient and '
            "Craton's plugin" % OPENSTACK)
    return OPENSTACK


class Result:
    """What one command did: ``returncode``, ``stdout`` (bytes) and
    ``stderr`` (text).
    """

    def __init__(self, argv, returncode, stdout, stderr):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def text(self):
        return self.stdout.decode('utf-8', 'replace')

    def json(self):
        try:
            return json.loads(self.stdout)
        except ValueError:
            raise AssertionError('%s printed no JSON:\n%s' % (self, self.text))

    @property
    def error_lines(self):
        """The non-empty lines of stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    def __str__(self):
        return '`%s` (exit %s)\n--- stdout\n%s\n--- stderr\n%s' % (
            shlex.join(self.argv), self.returncode, self.text[-4000:],
            self.stderr[-4000:])


class CommandFailed(AssertionError):
    pass


def _clean_environ():
    """The test process's environment without any OpenStack settings."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith('OS_')}


class CLI:
    """``openstack … craton …`` for one connection.

    :param env: the ``OS_*`` variables of the connection.
    :param global_args: options given before ``craton`` (e.g.
        ``--os-auth-type none``).
    """

    def __init__(self, env=None, global_args=()):
        self.env = dict(env or {})
        self.global_args = list(global_args)

    @classmethod
    def noauth(cls, url, project='project-a', user='user-a',
               roles='admin,member,reader'):
        """The service's noauth mode, set through the environment."""
        return cls({'OS_AUTH_TYPE': 'none', 'OS_CRATON_URL': url,
                    'OS_CRATON_PROJECT': project, 'OS_CRATON_USER': user,
                    'OS_CRATON_ROLES': roles})

    @classmethod
    def keystone(cls, auth_url, user, password, project, craton_url=None,
                 region=None):
        """A Keystone user with a project-scoped password login, through
        the usual ``OS_*`` variables (as ``tools/keystone.sh env`` prints
        them); ``craton_url`` overrides the catalog.
        """
        env = {'OS_AUTH_URL': auth_url, 'OS_AUTH_TYPE': 'password',
               'OS_IDENTITY_API_VERSION': '3', 'OS_USERNAME': user,
               'OS_PASSWORD': password, 'OS_PROJECT_NAME': project,
               'OS_USER_DOMAIN_NAME': 'Default',
               'OS_PROJECT_DOMAIN_NAME': 'Default',
               'OS_INTERFACE': 'public'}
        if craton_url:
            env['OS_CRATON_URL'] = craton_url
        if region:
            env['OS_REGION_NAME'] = region
        return cls(env)

    def argv(self, args):
        return [executable()] + self.global_args + ['craton'] + [
            str(a) for a in args]

    def environ(self):
        env = _clean_environ()
        env.update(self.env)
        return env

    def run(self, *args, check=True, timeout=TIMEOUT, stdin=None):
        """Run one command to its end; a non-zero exit fails the test
        unless ``check`` is false.
        """
        result = self._run_once(args, timeout, stdin)
        if check and result.returncode:
            raise CommandFailed(str(result))
        return result

    __call__ = run

    def _run_once(self, args, timeout, stdin):
        argv = self.argv(args)
        try:
            out = subprocess.run(argv, env=self.environ(), input=stdin,
                                 capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise CommandFailed('`%s` still running after %s s; stdout so '
                                'far:\n%s\nstderr:\n%s' % (
                                    shlex.join(argv), timeout,
                                    (exc.stdout or b'')[-2000:],
                                    (exc.stderr or b'')[-2000:]))
        return Result(argv, out.returncode, out.stdout,
                      out.stderr.decode('utf-8', 'replace'))

    def json(self, *args, **kwargs):
        """Run with ``-f json`` and return the parsed output."""
        return self.run(*(args + ('-f', 'json')), **kwargs).json()

    def start(self, *args):
        """Start a command in the background; returns a :class:`Running`."""
        argv = self.argv(args)
        proc = subprocess.Popen(argv, env=self.environ(),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        return Running(argv, proc)

    def wait_job(self, ident, statuses, step=None, timeout=120):
        """Poll ``job show`` until the job (or step ``step``) has one of
        ``statuses``; returns the job.
        """
        deadline = time.monotonic() + timeout
        while True:
            job = self.json('job', 'show', ident)
            status = (job['status'] if step is None
                      else job['steps'][step]['status'])
            if status in statuses:
                return job
            if time.monotonic() > deadline:
                raise AssertionError('job %s%s not in %s after %s s: %s' % (
                    ident, '' if step is None else ' step %d' % step,
                    statuses, timeout, job))
            time.sleep(0.3)


class Reader:
    """Reads a pipe in a thread as bytes arrive; ``data`` is all of it so
    far.
    """

    def __init__(self, pipe):
        self.data = b''
        self._pipe = pipe
        self._cond = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        fd = self._pipe.fileno()
        while True:
            chunk = os.read(fd, 65536)
            with self._cond:
                if not chunk:
                    self._done = True
                    self._cond.notify_all()
                    self._pipe.close()
                    return
                self.data += chunk
                self._cond.notify_all()

    def wait_for(self, needle, timeout):
        """Wait until ``needle`` (bytes) has arrived; returns the time it
        took. Fails if the pipe closes or time runs out first.
        """
        start = time.monotonic()
        deadline = start + timeout
        with self._cond:
            while needle not in self.data:
                left = deadline - time.monotonic()
                if self._done or left <= 0:
                    raise AssertionError(
                        '%r did not arrive within %s s (pipe %s); got %r' % (
                            needle, timeout,
                            'closed' if self._done else 'open',
                            self.data[-2000:]))
                self._cond.wait(left)
        return time.monotonic() - start

    def finish(self, timeout=30):
        """Wait for the end of the stream; returns everything read."""
        self._thread.join(timeout)
        return self.data


class Running:
    """A command started by :meth:`CLI.start`: ``out`` and ``err`` read
    its stdout and stderr as they arrive (so neither pipe fills up).
    """

    def __init__(self, argv, proc):
        self.argv = argv
        self.proc = proc
        self.out = Reader(proc.stdout)
        self.err = Reader(proc.stderr)

    def running(self):
        return self.proc.poll() is None

    def wait(self, timeout=TIMEOUT):
        """Wait for the end; returns a :class:`Result`. Kills the command
        if it outlives ``timeout``.
        """
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise CommandFailed('`%s` still running after %s s; stdout:\n'
                                '%s\nstderr:\n%s' % (
                                    shlex.join(self.argv), timeout,
                                    self.out.data[-2000:],
                                    self.err.data[-2000:]))
        stdout, stderr = self.out.finish(), self.err.finish()
        return Result(self.argv, self.proc.returncode, stdout,
                      stderr.decode('utf-8', 'replace'))

    def stop(self):
        """Cleanup: end the command if it still runs."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
