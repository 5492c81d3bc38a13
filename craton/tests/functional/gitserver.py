# SPDX-License-Identifier: Apache-2.0
"""Real git servers on loopback, for build tests.

* :class:`GitRepos` makes bare repositories from dicts of files, with
  branches and tags, under one base directory.
* :class:`GitDaemon` serves that directory with ``git daemon`` (git://).
* :class:`GitHTTP` serves it over smart HTTP: ``git http-backend`` run as a
  CGI program behind a threaded ``http.server``, optionally behind HTTP
  basic auth; it records every request so tests can check what git sent.

All of them listen on 127.0.0.1 only and clean up after themselves.
"""

import base64
import http.server
import os
import shutil
import socket
import subprocess
import threading
import time

import fixtures

_GIT_ENV = {'GIT_AUTHOR_NAME': 'Craton Tests',
            'GIT_AUTHOR_EMAIL': 'tests@craton.invalid',
            'GIT_COMMITTER_NAME': 'Craton Tests',
            'GIT_COMMITTER_EMAIL': 'tests@craton.invalid',
            # Neither the machine's nor the user's git settings apply.
            'GIT_CONFIG_NOSYSTEM': '1', 'GIT_CONFIG_GLOBAL': os.devnull,
            'LC_ALL': 'C'}


def git(*args, cwd=None):
    """Run git for a test fixture; return its stripped stdout."""
    env = dict(os.environ, **_GIT_ENV)
    return subprocess.run(('git',) + args, cwd=cwd, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


class GitRepos(fixtures.Fixture):
    """A base directory of bare repositories made from dicts of files."""

    def _setUp(self):
        self.base = self.useFixture(fixtures.TempDir()).path
        self._work = self.useFixture(fixtures.TempDir()).path

    def create(self, name, commits):
        """Create bare repository ``name`` (e.g. ``tasks.git``).

        :param commits: a list of ``(branch, files, tag)`` applied in order;
            ``files`` maps paths to contents (``None`` deletes), a commit on
            a branch not seen before starts it from the previous commit;
            ``tag`` (or None) puts an annotated tag on the commit.
        :returns: the list of commit shas, in order.
        """
        work = os.path.join(self._work, name)
        git('init', '-q', '-b', commits[0][0], work)
        shas, branches, current = [], {commits[0][0]}, commits[0][0]
        for branch, files, tag in commits:
            if branch != current:
                git('checkout', '-q', *(() if branch in branches else
                                        ('-b',)), branch, cwd=work)
                branches.add(branch)
                current = branch
            for path, content in files.items():
                full = os.path.join(work, path)
                if content is None:
                    git('rm', '-q', path, cwd=work)
                    continue
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, 'w') as f:
                    f.write(content)
                git('add', path, cwd=work)
            git('commit', '-q', '--allow-empty', '-m',
                'commit %d' % len(shas), cwd=work)
            shas.append(git('rev-parse', 'HEAD', cwd=work))
            if tag:
                git('tag', '-a', '-m', tag, tag, cwd=work)
        bare = os.path.join(self.base, name)
        git('clone', '-q', '--bare', work, bare)
        # Serve the work tree's default branch as the bare repo's HEAD.
        git('symbolic-ref', 'HEAD', 'refs/heads/' + commits[0][0], cwd=bare)
        shutil.rmtree(work)
        return shas


def _wait_for_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('git daemon exited with %s' % proc.returncode)
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('nothing listens on 127.0.0.1:%d' % port)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class GitDaemon(fixtures.Fixture):
    """``git daemon`` exporting every repository below ``base``."""

    def __init__(self, base):
        super().__init__()
        self.base = base

    def _setUp(self):
        # The port is chosen before git binds it: retry if another process
        # took it in between.
        logdir = self.useFixture(fixtures.TempDir()).path
        for _attempt in range(5):
            self.port = free_port()
            self.log = open(os.path.join(logdir, 'daemon-%d.log'
                                         % self.port), 'wb')
            self.addCleanup(self.log.close)
            self.proc = subprocess.Popen(
                ['git', 'daemon', '--reuseaddr', '--export-all',
                 '--informative-errors', '--base-path=%s' % self.base,
                 '--listen=127.0.0.1', '--port=%d' % self.port, self.base],
                stdout=self.log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
            self.addCleanup(self._stop)
            try:
                _wait_for_port(self.port, self.proc)
                break
            except RuntimeError:
                continue
        else:
            raise RuntimeError('git daemon did not start')
        self.url = 'git://127.0.0.1:%d/' % self.port

    def _stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class _CGIHandler(http.server.BaseHTTPRequestHandler):
    """Runs ``git http-backend`` for each request (RFC 3875 CGI)."""

    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def log_message(self, fmt, *args):
        pass  # The recorded requests are what tests look at.

    def _read_body(self):
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            body = b''
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get('Content-Length') or 0))

    def _serve(self):
        server = self.server
        body = self._read_body()
        auth = self.headers.get('Authorization')
        server.requests.append((self.command, self.path, auth))
        if server.credentials is not None:
            expected = 'Basic ' + base64.b64encode(
                ('%s:%s' % server.credentials).encode()).decode()
            if auth != expected:
                self._reply(401, [('WWW-Authenticate',
                                   'Basic realm="craton-test"')],
                            b'authentication required\n')
                return
        path, _, query = self.path.partition('?')
        env = dict(os.environ, GIT_PROJECT_ROOT=server.base,
                   GIT_HTTP_EXPORT_ALL='1', GATEWAY_INTERFACE='CGI/1.1',
                   REQUEST_METHOD=self.command, PATH_INFO=path,
                   QUERY_STRING=query, REMOTE_ADDR=self.client_address[0],
                   CONTENT_TYPE=self.headers.get('Content-Type', ''),
                   CONTENT_LENGTH=str(len(body)),
                   SERVER_PROTOCOL='HTTP/1.1',
                   REMOTE_USER=(server.credentials or ('',))[0])
        for header, var in (('Git-Protocol', 'GIT_PROTOCOL'),
                            ('Content-Encoding', 'HTTP_CONTENT_ENCODING')):
            if self.headers.get(header):
                env[var] = self.headers[header]
        result = subprocess.run(['git', 'http-backend'], input=body, env=env,
                                capture_output=True)
        head, _, payload = result.stdout.partition(b'\r\n\r\n')
        if not _:
            head, _, payload = result.stdout.partition(b'\n\n')
        status, headers = 200, []
        for line in head.decode('latin-1').splitlines():
            name, _, value = line.partition(':')
            if name.lower() == 'status':
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self._reply(status, headers, payload)

    def _reply(self, status, headers, payload):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class GitHTTP(fixtures.Fixture):
    """Smart HTTP git server for ``base`` on 127.0.0.1, in a thread.

    With ``username``/``password`` every request needs HTTP basic auth;
    ``requests`` records ``(method, path, Authorization header)``.
    """

    def __init__(self, base, username=None, password=None):
        super().__init__()
        self.base = base
        self.credentials = (username, password) if username else None

    def _setUp(self):
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                 _CGIHandler)
        server.daemon_threads = True
        server.base, server.credentials = self.base, self.credentials
        server.requests = self.requests = []
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.1}, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.port = server.server_address[1]
        self.url = 'http://127.0.0.1:%d/' % self.port

    def url_with_credentials(self, username, password):
        """The server's base URL carrying ``username:password``."""
        return 'http://%s:%s@127.0.0.1:%d/' % (username, password, self.port)
