# SPDX-License-Identifier: Apache-2.0
"""Secret values cut out of a step's output (API.md, "Secrets")."""

import random
import re

import testtools

from craton.conductor.drivers import output
from craton.conductor.jobs import redact

OUT, ERR = output.STDOUT, output.STDERR


def _joined(pieces, stream=None):
    return b''.join(d for s, d in pieces if stream in (None, s))


def _whole(values, data):
    """What redacting ``data`` at once gives: every stretch covered by
    overlapping occurrences of values becomes one ``***``.
    """
    spans = sorted((m.start(), m.start() + len(v)) for v in set(values)
                   for m in re.finditer(b'(?=%s)' % re.escape(v), data))
    merged = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out += [data[pos:start], b'***']
        pos = end
    return b''.join(out + [data[pos:]])


def _cut(data, cuts):
    out, prev = [], 0
    for cut in sorted(cuts) + [len(data)]:
        out.append(data[prev:cut])
        prev = cut
    return out


class TestRedacted(testtools.TestCase):

    def test_value_in_one_piece(self):
        got = list(redact.redacted([(OUT, b'pw=hunter22\n')], [b'hunter22']))
        self.assertEqual(b'pw=***\n', _joined(got))

    def test_value_split_across_pieces(self):
        pieces = [(OUT, b'token: s3c'), (OUT, b'r'), (OUT, b'et-value ok\n')]
        got = list(redact.redacted(pieces, [b's3cret-value']))
        self.assertEqual(b'token: *** ok\n', _joined(got))

    def test_value_across_the_engines_16k_line_cut(self):
        # The engine cuts a long line into 16 KiB entries; a value may
        # straddle the cut.
        value = b'ABCDEFGH-secret'
        line = b'x' * (16 * 1024 - 5) + value + b'y' * 10 + b'\n'
        pieces = [(OUT, line[:16 * 1024]), (OUT, line[16 * 1024:])]
        got = _joined(redact.redacted(pieces, [value]))
        self.assertEqual(b'x' * (16 * 1024 - 5) + b'***' + b'y' * 10 + b'\n',
                         got)
        self.assertNotIn(value, got)

    def test_streams_are_redacted_apart(self):
        # A value written to stdout in two writes with stderr in between.
        pieces = [(OUT, b'pass'), (ERR, b'warning\n'), (OUT, b'word1\n')]
        got = list(redact.redacted(pieces, [b'password1']))
        self.assertEqual(b'***\n', _joined(got, OUT))
        self.assertEqual(b'warning\n', _joined(got, ERR))

    def test_longest_value_wins(self):
        got = _joined(redact.redacted([(OUT, b'abcd'), (OUT, b'efgh\n')],
                                      [b'abcd', b'abcdefgh']))
        self.assertEqual(b'***\n', got)

    def test_overlapping_values_hidden_whole(self):
        # One value's end is the other's beginning: neither shows.
        for pieces in ([(OUT, b'abcd1234wxyz\n')],
                       [(OUT, b'abcd1234'), (OUT, b'wxyz\n')],
                       [(OUT, b'abcd12'), (OUT, b'34wx'), (OUT, b'yz\n')]):
            got = _joined(redact.redacted(pieces,
                                          [b'abcd1234', b'1234wxyz']))
            self.assertEqual(b'***\n', got)

    def test_shorter_value_when_longer_does_not_complete(self):
        got = _joined(redact.redacted([(OUT, b'abcd'), (OUT, b'efXX\n')],
                                      [b'abcd', b'abcdefgh']))
        self.assertEqual(b'***efXX\n', got)

    def test_only_a_possible_value_start_is_held_back(self):
        # A running step's lines stay readable: nothing that cannot start
        # a value waits for more output.
        redactor = redact.Redactor([b'secret-1'])
        self.assertEqual(b'line one\n', redactor.feed(OUT, b'line one\n'))
        self.assertEqual(b'partial ', redactor.feed(OUT, b'partial secr'))
        self.assertEqual(b'***\n', redactor.feed(OUT, b'et-1\n'))
        self.assertEqual([], redactor.finish())

    def test_held_back_start_comes_out_at_the_end(self):
        got = list(redact.redacted([(OUT, b'no newline: secr')],
                                   [b'secret-1']))
        self.assertEqual(b'no newline: secr', _joined(got))

    def test_no_values_passes_through(self):
        pieces = [(OUT, b'a'), (ERR, b'b')]
        self.assertEqual(pieces, list(redact.redacted(pieces, [])))

    def test_skip_counts_redacted_bytes(self):
        pieces = [(OUT, b'one hunter22 two\n'), (OUT, b'three\n')]
        whole = _joined(redact.redacted(pieces, [b'hunter22']))
        self.assertEqual(b'one *** two\nthree\n', whole)
        for skip in range(len(whole) + 1):
            self.assertEqual(whole[skip:], _joined(
                redact.redacted(pieces, [b'hunter22'], skip=skip)))

    def test_any_cutting_gives_the_whole_redaction(self):
        # However the output is cut into pieces, the stored bytes equal
        # redacting the whole output at once, and resuming from any
        # stored length gives the rest.
        rng = random.Random(20261130)
        for trial in range(2000):
            alphabet = b'ab' if trial % 2 else b'abc\n'
            values = [bytes(rng.choice(alphabet)
                            for _ in range(rng.randint(4, 9)))
                      for _ in range(rng.randint(1, 3))]
            data = bytes(rng.choice(alphabet)
                         for _ in range(rng.randint(0, 200)))
            cuts = rng.sample(range(len(data) + 1),
                              min(len(data) + 1, rng.randint(0, 20)))
            pieces = [(OUT, p) for p in _cut(data, cuts)]
            got = _joined(redact.redacted(pieces, values))
            self.assertEqual(_whole(values, data), got,
                             (values, data, cuts))
            skip = rng.randint(0, len(got))
            self.assertEqual(got[skip:], _joined(
                redact.redacted(pieces, values, skip=skip)))


class TestForms(testtools.TestCase):

    def test_json_and_stripped_spellings(self):
        value = 'pa"ss\\wo\té\u2603\n'.encode('utf-8')
        got = redact.forms([value])
        self.assertIn(value, got)
        self.assertIn(b'pa\\"ss\\\\wo\\t\\u00e9\\u2603\\n', got)
        self.assertIn('pa\\"ss\\\\wo\\té\u2603\\n'.encode(), got)
        self.assertIn('pa"ss\\wo\té\u2603'.encode(), got)

    def test_short_forms_left_out_bytes_kept(self):
        self.assertEqual({b' ab \n', b' ab \\n'},
                         redact.forms([b' ab \n']))
        self.assertEqual({b'\xff\xfe\x00\x01'},
                         redact.forms([b'\xff\xfe\x00\x01']))

    def test_a_value_printed_as_json_is_hidden(self):
        import json
        value = 'pa"ss\\wo/rd\té\u2603'
        for ensure_ascii in (True, False):
            line = ('::craton-result:: ' + json.dumps(
                {'v': value}, ensure_ascii=ensure_ascii) + '\n').encode()
            got = _joined(redact.redacted(
                [(OUT, line)], redact.forms([value.encode()])))
            self.assertEqual(b'::craton-result:: {"v": "***"}\n', got)


class TestScrub(testtools.TestCase):

    def test_any_spelling_once_parsed(self):
        values = redact.forms([b'hunter22'])
        # "\u0068unter22" is the value once parsed.
        doc = {'pw': 'hunter22', 'nested': [{'x': 'a hunter22 b'}],
               'hunter22': 1, 'n': 5, 'ok': None}
        self.assertEqual({'pw': '***', 'nested': [{'x': 'a *** b'}],
                          '***': 1, 'n': 5, 'ok': None},
                         redact.scrub(doc, values))

    def test_no_values_no_change(self):
        doc = {'a': 'b'}
        self.assertIs(doc, redact.scrub(doc, ()))
        self.assertIsNone(redact.scrub(None, redact.forms([b'abcd'])))
