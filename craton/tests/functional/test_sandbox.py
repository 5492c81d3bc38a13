# SPDX-License-Identifier: Apache-2.0
"""The sandbox of task containers, tried against a real Docker engine.

Each test lets a step misbehave, checks that the sandbox held, and then
checks that the engine still answers and still runs another step. Same
requirements as test_docker_driver (CRATON_FUNCTIONAL=1 and the images).
"""

import time

from craton.tests.functional import test_docker_driver as base

PIDS_LIMIT = 32


class TestSandbox(base.DriverFunctionalBase):

    def setUp(self):
        super().setUp()
        self.cfg.config(group='sandbox', pids_limit=PIDS_LIMIT,
                        memory='64m', tmpfs_size='16m', cpus=1.0)

    def tearDown(self):
        # Checked after every misbehaving step (a failure here names the
        # test whose step broke the engine).
        self.assert_engine_healthy()
        super().tearDown()

    def test_root_filesystem_is_read_only(self):
        code, out, _ = self.run_step(self.sh(
            'echo x > /evil; echo "root:$?"; echo x > /craton/evil; '
            'echo "craton:$?"; echo y > /tmp/ok && cat /tmp/ok'))
        self.assertEqual(0, code)
        self.assertIn(b'Read-only file system', out)
        self.assertIn(b'root:1\n', out)
        # The payload volume belongs to root: the task cannot write it.
        self.assertIn(b'craton:1\n', out)
        self.assertIn(b'\ny\n', out)   # /tmp is writable

    def test_tmp_is_noexec_but_python_runs(self):
        code, out, _ = self.run_step(self.sh(
            'cp /bin/busybox /tmp/bb && /tmp/bb echo ran; echo "exec:$?"'))
        self.assertEqual(0, code)
        self.assertNotIn(b'ran', out)
        self.assertIn(b'exec:126', out)
        # An interpreter reads its script from /tmp: noexec doesn't matter.
        code, out, _ = self.run_step(self.spec(
            ['sh', '-c', 'echo "import ctypes, ssl; print(6 * 7)" '
             '> /tmp/t.py && python3 /tmp/t.py'], image=base.PYTHON,
            index=1))
        self.assertEqual((0, b'42\n'), (code, out))

    def test_fork_bomb_is_contained(self):
        # Bounded: each child sleeps 20 s; without a limit this would reach
        # 400 processes. The shell dies when it cannot fork.
        start = time.monotonic()
        code, out, handle = self.run_step(self.sh(
            'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null; i=0; '
            'while [ $i -lt 400 ]; do sleep 20 & i=$((i+1)); done; '
            'echo "spawned $i"'), timeout=90)
        self.assertLess(time.monotonic() - start, 60)
        self.assertNotIn(b'spawned 400', out)
        self.assertIn(b"can't fork", out)
        self.assertNotEqual(0, code)
        # stdout (pids.max) and stderr (the shell's error) in either order.
        self.assertIn(b'%d' % PIDS_LIMIT, out.split(b'\n'))

    def test_memory_hog_is_oom_killed(self):
        start = time.monotonic()
        code, out, handle = self.run_step(self.spec(
            ['python3', '-c', 'b = b"x" * (1024 ** 3); print("survived")'],
            image=base.PYTHON), timeout=90)
        self.assertLess(time.monotonic() - start, 60)
        self.assertNotEqual(0, code)
        self.assertNotIn(b'survived', out)
        state = self.driver.state(handle)
        self.assertEqual(('exited', code), (state.status, state.exit_code))
        self.assertEqual(137, code)
        self.assertEqual('OOMKilled', state.error)

    def test_no_engine_socket_inside(self):
        # /run/craton inside is Craton's own payload volume; the host's
        # /run/craton (where the engine's socket is) must not show.
        code, out, _ = self.run_step(self.sh(
            'for p in /var/run/docker.sock /run/docker.sock '
            '/run/craton/docker.sock; do '
            '[ -e $p ] && echo "FOUND $p"; done; '
            'grep -i docker.sock /proc/mounts; echo done'))
        self.assertEqual((0, b'done\n'), (code, out))

    def test_not_root_and_no_capabilities(self):
        code, out, _ = self.run_step(self.sh(
            'id -u; id -g; grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):" '
            '/proc/self/status'))
        self.assertEqual(0, code)
        lines = out.decode().split('\n')
        self.assertEqual(['65534', '65534'], lines[:2])
        status = dict(ln.split(':\t') for ln in lines[2:] if ln)
        for cap in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'):
            self.assertEqual(0, int(status[cap], 16), cap)
        self.assertEqual('1', status['NoNewPrivs'])

    def test_no_network(self):
        # network_mode 'none' (set by the base): only loopback exists.
        code, out, _ = self.run_step(self.sh('ls /sys/class/net'))
        self.assertEqual((0, b'lo\n'), (code, out))
