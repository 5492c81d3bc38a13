# SPDX-License-Identifier: Apache-2.0
"""Storing step output in chunks, byte-exact."""

import threading

from oslo_utils import uuidutils
import testtools

from craton.conductor.jobs import logs
from craton.db import api as db_api
from craton.objects import job as job_obj
from craton.tests import base


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class TestStepLogWriter(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dbapi = db_api.get_instance()
        job = job_obj.Job.submit(
            self.context, {'project_id': 'project-a', 'status': 'pending'},
            [{'name': 'one', 'task_uuid': uuidutils.generate_uuid(),
              'timeout': 60}], [])
        self.step = job.steps[0]
        self.job_uuid = job.uuid
        self.clock = FakeClock()
        self.appends = []
        real_append = self.dbapi.append_step_log

        def append(step_id, offset, data, truncated=False):
            self.appends.append((offset, len(data)))
            return real_append(step_id, offset, data, truncated)
        self.append = append

    def writer(self, start=0, chunk=10, interval=1.0):
        dbapi = type('DB', (), {'append_step_log': staticmethod(self.append)})
        return logs.StepLogWriter(dbapi, self.step.id, start, chunk,
                                  interval, clock=self.clock)

    def stored(self, offset=0):
        return self.dbapi.get_step_log(self.step.id, offset, 1 << 20)

    def test_buffers_until_chunk_or_interval(self):
        w = self.writer()
        w.write(b'abc')
        self.assertEqual([], self.appends)
        self.assertEqual(3, w.position)
        self.assertEqual(0, w.offset)
        w.write(b'defghijklmn')      # 14 bytes: one full chunk goes
        self.assertEqual([(0, 10)], self.appends)
        self.assertEqual(b'abcdefghij', self.stored())
        self.clock.now += 1.0
        w.write(b'o')                # interval passed: the rest goes
        self.assertEqual([(0, 10), (10, 5)], self.appends)
        self.assertEqual(b'abcdefghijklmno', self.stored())

    def test_chunks_never_exceed_chunk_bytes(self):
        w = self.writer(chunk=4)
        w.write(b'0123456789')
        w.close()
        self.assertEqual([(0, 4), (4, 4), (8, 2)], self.appends)
        self.assertEqual(b'0123456789', self.stored())

    def test_flush_if_due_after_silence(self):
        w = self.writer()
        w.write(b'line\n')
        w.flush_if_due()
        self.assertEqual([], self.appends)
        self.clock.now += 0.5
        w.flush_if_due()
        self.assertEqual([], self.appends)
        self.clock.now += 0.5
        w.flush_if_due()
        self.assertEqual(b'line\n', self.stored())

    def test_flush_and_close(self):
        w = self.writer()
        w.write(b'a')
        w.flush()
        w.write(b'b')
        w.close()
        self.assertEqual(b'ab', self.stored())
        self.assertEqual(2, w.offset)
        self.assertRaises(logs.LogWriterClosed, w.write, b'c')
        w.close()       # twice is fine
        self.assertEqual(b'ab', self.stored())

    def test_empty_writes_store_nothing(self):
        w = self.writer()
        w.write(b'')
        w.close()
        self.assertEqual([], self.appends)

    def test_resume_at_stored_offset(self):
        self.assertTrue(self.dbapi.append_step_log(self.step.id, 0,
                                                   b'first '))
        w = self.writer(start=6)
        self.assertEqual(6, w.position)
        w.write(b'second')
        w.close()
        self.assertEqual(b'first second', self.stored())

    def test_another_writer_owns_the_log(self):
        w = self.writer()
        w.write(b'mine')
        self.assertTrue(self.dbapi.append_step_log(self.step.id, 0,
                                                   b'theirs'))
        self.assertRaises(logs.LogOwnershipLost, w.flush)
        self.assertTrue(w.lost)
        self.assertRaises(logs.LogOwnershipLost, w.write, b'more')
        self.assertRaises(logs.LogOwnershipLost, w.flush_if_due)
        self.assertRaises(logs.LogOwnershipLost, w.close)
        self.assertEqual(b'theirs', self.stored())

    def test_database_error_keeps_the_bytes(self):
        calls = []

        def flaky(step_id, offset, data, truncated=False):
            calls.append(offset)
            if len(calls) == 1:
                raise RuntimeError('database went away')
            return self.append(step_id, offset, data)
        dbapi = type('DB', (), {'append_step_log': staticmethod(flaky)})
        w = logs.StepLogWriter(dbapi, self.step.id, 0, 10, 1.0,
                               clock=self.clock)
        w.write(b'abc')
        self.assertRaises(RuntimeError, w.flush)
        w.close()
        self.assertEqual([0, 0], calls)
        self.assertEqual(b'abc', self.stored())

    def test_abandon_stores_nothing_more(self):
        w = self.writer()
        w.write(b'abc')
        w.abandon()
        self.assertRaises(logs.LogWriterClosed, w.write, b'd')
        self.assertEqual(b'', self.stored())

    def test_concurrent_writer_and_flusher_are_byte_exact(self):
        # Writes from a streaming thread while another thread flushes, as
        # the executor does; in-memory data, fake store, real clock.
        store = bytearray()
        lock = threading.Lock()

        def append(step_id, offset, data, truncated=False):
            with lock:
                if offset != len(store):
                    return False
                store.extend(data)
                return True
        dbapi = type('DB', (), {'append_step_log': staticmethod(append)})
        w = logs.StepLogWriter(dbapi, 1, 0, 1024, 0.001)
        expected = b''.join(b'line %05d\n' % i for i in range(5000))
        done = threading.Event()

        def flusher():
            while not done.is_set():
                w.flush_if_due()
        thread = threading.Thread(target=flusher)
        thread.start()
        for i in range(0, len(expected), 37):
            w.write(expected[i:i + 37])
        done.set()
        thread.join()
        w.close()
        self.assertEqual(expected, bytes(store))


class TestTimedStore(testtools.TestCase):
    """A writer with ``timed`` stores a line that is followed by silence,
    with nobody calling flush_if_due.
    """

    def writer(self, append, timed=True):
        dbapi = type('DB', (), {'append_step_log': staticmethod(append)})
        return logs.StepLogWriter(dbapi, 1, 0, 1024, 0.05, timed=timed)

    def test_a_quiet_line_is_stored_on_time(self):
        store = bytearray()
        stored = threading.Event()

        def append(step_id, offset, data, truncated=False):
            store.extend(data)
            stored.set()
            return True
        w = self.writer(append)
        w.write(b'first line\n')
        self.assertTrue(stored.wait(10))
        self.assertEqual(b'first line\n', bytes(store))
        self.assertEqual(11, w.offset)

    def test_untimed_waits_for_a_call(self):
        store = bytearray()

        def append(step_id, offset, data, truncated=False):
            store.extend(data)
            return True
        w = self.writer(append, timed=False)
        w.write(b'x\n')
        threading.Event().wait(0.2)
        self.assertEqual(b'', bytes(store))

    def test_a_failed_timed_store_is_tried_again(self):
        calls = []
        stored = threading.Event()

        def append(step_id, offset, data, truncated=False):
            calls.append(data)
            if len(calls) == 1:
                raise RuntimeError('database went away')
            stored.set()
            return True
        w = self.writer(append)
        w.write(b'x\n')
        self.assertTrue(stored.wait(10))
        self.assertEqual([b'x\n', b'x\n'], calls)

    def test_lost_ownership_is_left_for_the_owner(self):
        done = threading.Event()

        def append(step_id, offset, data, truncated=False):
            done.set()
            return False
        w = self.writer(append)
        w.write(b'x\n')
        self.assertTrue(done.wait(10))
        self.assertRaises(logs.LogOwnershipLost, w.flush_if_due)


class TestLogCap(TestStepLogWriter):

    def capped(self, max_bytes, start=0, cut=False):
        return logs.StepLogWriter(self.dbapi, self.step.id, start, 7, 1.0,
                                  clock=self.clock, max_bytes=max_bytes,
                                  cut=cut)

    def test_cut_at_the_cap_with_a_line_saying_so(self):
        w = self.capped(20)
        for _ in range(10):
            w.write(b'0123456789')
        w.close()
        self.assertTrue(w.cut)
        # The cut fell inside a line: the marker still has its own line.
        self.assertEqual(b'01234567890123456789\n' +
                         b'[craton] log cut at 20 bytes\n', self.stored())
        # The stream's position keeps counting what went by.
        self.assertEqual(100, w.position)
        self.assertTrue(self.truncated())

    def truncated(self):
        return job_obj.Job.get(self.context,
                               self.job_uuid).steps[0].log_truncated

    def test_cut_after_a_newline(self):
        w = self.capped(6)
        w.write(b'abcde\nfgh')
        w.close()
        self.assertEqual(b'abcde\n[craton] log cut at 6 bytes\n',
                         self.stored())
        self.assertTrue(self.truncated())

    def test_a_log_that_prints_the_marker_is_not_cut(self):
        w = self.capped(1000)
        w.write(b'hello\n[craton] log cut at 6 bytes\n')
        w.close()
        self.assertFalse(w.cut)
        self.assertFalse(self.truncated())

    def test_under_the_cap_is_untouched(self):
        w = self.capped(20)
        w.write(b'x' * 20)
        w.close()
        self.assertFalse(w.cut)
        self.assertEqual(b'x' * 20, self.stored())
        self.assertFalse(self.truncated())

    def test_a_cut_log_takes_nothing_more(self):
        w = self.capped(5)
        w.write(b'abcdefgh')
        w.close()
        stored = self.stored()
        again = self.capped(5, start=len(stored), cut=True)
        again.write(b'more')
        again.close()
        self.assertEqual(stored, self.stored())
