# SPDX-License-Identifier: Apache-2.0
"""Decoding the engine's logged messages back into the bytes written.

The frame shapes below are the ones engine 20.10 sent for the outputs
named in each test (measured with the ``local`` log driver and
``timestamps=1``; see craton/conductor/drivers/output.py).
"""

import io

import testtools

from craton.conductor.drivers import output
from craton.tests.unit.conductor import fake_logs

K16 = output.PART_BYTES


def decode(frames):
    decoder = output.OutputDecoder()
    pairs = list(decoder.decode(frames, final=True))
    return pairs, decoder.assumed


def joined(pairs, stream=None):
    return b''.join(d for s, d in pairs if stream in (None, s))


class TestDecoder(testtools.TestCase):

    def test_long_utf8_line_comes_back_whole(self):
        line = b'x' + '\u00e9'.encode() * 30000        # 60,001 bytes
        # Parts of 16 KiB (cut inside characters), the last without its
        # newline, then the next line.
        frames = [(1, b'T1', line[i:i + K16])
                  for i in range(0, len(line), K16)]
        frames.append((1, b'T2', b'next\n'))
        pairs, assumed = decode(frames)
        self.assertEqual(line + b'\nnext\n', joined(pairs))
        self.assertEqual([], assumed)

    def test_empty_last_part(self):
        # "y" * 16384 + "\n": one full part and an empty last part.
        pairs, _ = decode([(1, b'T1', b'y' * K16), (1, b'T1', b''),
                           (1, b'T2', b'q\n')])
        self.assertEqual(b'y' * K16 + b'\nq\n', joined(pairs))

    def test_exactly_16k_without_newline_at_the_end(self):
        pairs, assumed = decode([(1, b'T1', b'y' * K16)])
        self.assertEqual(b'y' * K16, joined(pairs))
        self.assertEqual([], assumed)

    def test_short_last_line_without_newline(self):
        pairs, assumed = decode([(1, b'T1', b'abc\n'), (1, b'T2', b'tail')])
        self.assertEqual(b'abc\ntail', joined(pairs))
        self.assertEqual([], assumed)

    def test_long_last_line_newline_is_assumed_and_said(self):
        pairs, assumed = decode([(1, b'T1', b'y' * K16), (1, b'T1', b'q')])
        self.assertEqual(b'y' * K16 + b'q\n', joined(pairs))
        self.assertEqual([output.STDOUT], assumed)

    def test_streams_are_kept_apart_and_in_order(self):
        frames = [(1, b'T1', b'o' * K16), (2, b'T2', b'e' * K16),
                  (2, b'T2', b'e'), (1, b'T1', b'o'), (2, b'T3', b'!\n'),
                  (1, b'T4', b'done\n')]
        pairs, assumed = decode(frames)
        self.assertEqual(b'o' * (K16 + 1) + b'\ndone\n',
                         joined(pairs, output.STDOUT))
        self.assertEqual(b'e' * (K16 + 1) + b'\n!\n',
                         joined(pairs, output.STDERR))
        self.assertEqual([], assumed)

    def test_a_complete_16k_line_is_not_a_part(self):
        # 16,383 bytes and its newline fill exactly one message.
        line = b'z' * (K16 - 1) + b'\n'
        pairs, _ = decode([(1, b'T1', line), (1, b'T2', b'a\n')])
        self.assertEqual(line + b'a\n', joined(pairs))

    def test_same_frames_same_bytes(self):
        frames = [(1, b'T1', b'y' * K16), (1, b'T1', b'q'),
                  (2, b'T2', b'err\n'), (1, b'T3', b'end')]
        self.assertEqual(decode(frames), decode(frames))


class TestReadFrames(testtools.TestCase):

    def test_round_trip_and_cut_frame(self):
        frames = [(1, b'T1', b'a\n'), (2, b'T2', b''), (1, b'T3', b'\xff')]
        wire = fake_logs.encode(frames)
        self.assertEqual(frames, list(output.read_frames(io.BytesIO(wire))))
        # A frame cut short by the end of the stream is not yielded.
        self.assertEqual(frames[:2], list(output.read_frames(
            io.BytesIO(wire[:-1]))))

    def test_log_options_hold_the_cap(self):
        # Room for the cap written as one-byte lines, in one file.
        opts = output.log_options(64 * 1024 * 1024)
        self.assertEqual({'max-size': '3073m', 'max-file': '1',
                          'compress': 'false'}, opts)
        self.assertEqual('2m', output.log_options(4096)['max-size'])


class TestStreamEnds(testtools.TestCase):
    """A driver that saw the raw end of a stream settles the one case the
    frames cannot.
    """

    FRAMES = [(1, b'T1', b'y' * K16), (1, b'T1', b'q')]

    def test_ended_without_newline(self):
        decoder = output.OutputDecoder()
        got = list(decoder.decode(self.FRAMES, final=True,
                                  ends=lambda: {output.STDOUT: False}))
        self.assertEqual(b'y' * K16 + b'q', joined(got))
        self.assertEqual([], decoder.assumed)

    def test_ended_with_newline(self):
        decoder = output.OutputDecoder()
        got = list(decoder.decode(self.FRAMES, final=True,
                                  ends=lambda: {output.STDOUT: True}))
        self.assertEqual(b'y' * K16 + b'q\n', joined(got))
        self.assertEqual([], decoder.assumed)

    def test_asked_only_when_needed(self):
        def ends():
            raise AssertionError('not needed')
        decoder = output.OutputDecoder()
        got = list(decoder.decode([(1, b'T1', b'a\n')], final=True,
                                  ends=ends))
        self.assertEqual(b'a\n', joined(got))

    def test_both_streams_end_in_long_lines_at_exit(self):
        # As measured for `printf L*40000end; printf E*20000 >&2`: both
        # streams' last parts are logged at exit, one after the other.
        # The other stream's frame says nothing about the newline.
        frames = [(1, b'T1', b'L' * K16), (1, b'T1', b'L' * K16),
                  (2, b'T2', b'E' * K16), (1, b'T1', b'L' * 7232 + b'end'),
                  (2, b'T2', b'E' * 3616)]
        decoder = output.OutputDecoder()
        got = list(decoder.decode(frames, final=True,
                                  ends=lambda: {output.STDOUT: False,
                                                output.STDERR: False}))
        self.assertEqual(b'L' * 40000 + b'end', joined(got, output.STDOUT))
        self.assertEqual(b'E' * 20000, joined(got, output.STDERR))
        self.assertEqual([], decoder.assumed)
        decoder = output.OutputDecoder()
        got = list(decoder.decode(frames, final=True))
        self.assertEqual(b'L' * 40000 + b'end\n',
                         joined(got, output.STDOUT))
        self.assertEqual([output.STDOUT, output.STDERR], decoder.assumed)
