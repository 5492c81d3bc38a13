# SPDX-License-Identifier: Apache-2.0
"""The payload a step receives and the result it hands back."""

import json
import types

import testtools

from craton.conductor.jobs import payload


def _job(variables=None):
    return types.SimpleNamespace(uuid='job-uuid', project_id='project-a',
                                 user_id='user-a', variables=variables)


def _step(variables=None):
    return types.SimpleNamespace(index=2, name='disable-compute',
                                 task_uuid='task-uuid', variables=variables)



def parse_result(lines, max_bytes=1024 * 1024, max_depth=64):
    """A :class:`payload.ResultScanner` fed ``lines`` of stdout (str or
    bytes): its ``(result, note)``.
    """
    scanner = payload.ResultScanner(max_bytes, max_depth)
    for line in lines or ():
        if isinstance(line, str):
            line = line.encode('utf-8', 'surrogateescape')
        scanner.feed(line.rstrip(b'\r\n') + b'\n')
    return scanner.result()

class TestBuildPayload(testtools.TestCase):

    def test_shape_matches_the_contract(self):
        inventory = [{'uuid': 'h', 'name': 'compute-01',
                      'ip_address': '10.0.0.5', 'region': 'r1',
                      'cell': 'c1', 'labels': ['compute'],
                      'variables': {'a': 1}}]
        raw = payload.build_payload(
            _job({'ticket': 'OPS-42'}), _step({'reason': 'patching'}),
            inventory, {'first': {'ok': True}})
        self.assertIsInstance(raw, bytes)
        self.assertEqual({
            'job': {'uuid': 'job-uuid', 'project_id': 'project-a',
                    'user_id': 'user-a'},
            'step': {'index': 2, 'name': 'disable-compute',
                     'task': 'task-uuid'},
            'inventory': inventory,
            'variables': {'reason': 'patching', 'ticket': 'OPS-42'},
            'results': {'first': {'ok': True}},
            'secrets': {},
        }, json.loads(raw))

    def test_secrets_map_names_to_files_never_values(self):
        raw = payload.build_payload(_job(), _step(), [], {},
                                    ['cloud-admin', 'bmc'])
        self.assertEqual({'bmc': '/run/craton/secrets/bmc',
                          'cloud-admin': '/run/craton/secrets/cloud-admin'},
                         json.loads(raw)['secrets'])

    def test_compact(self):
        raw = payload.build_payload(_job({'a': [1, 2]}), _step(), [], {})
        self.assertNotIn(b' ', raw)
        self.assertTrue(raw.startswith(b'{"job":{"uuid":"job-uuid"'))

    def test_job_variables_override_step_variables_shallowly(self):
        raw = payload.build_payload(
            _job({'dry_run': True, 'nested': {'b': 2}}),
            _step({'dry_run': False, 'nested': {'a': 1}, 'keep': 'x'}),
            [], {})
        self.assertEqual({'dry_run': True, 'nested': {'b': 2}, 'keep': 'x'},
                         json.loads(raw)['variables'])

    def test_no_variables_at_all(self):
        raw = payload.build_payload(_job(None), _step(None), None, None)
        doc = json.loads(raw)
        self.assertEqual({}, doc['variables'])
        self.assertEqual([], doc['inventory'])
        self.assertEqual({}, doc['results'])

    def test_non_ascii_is_utf8(self):
        raw = payload.build_payload(_job({'who': 'Zoë'}), _step(), [], {})
        self.assertIn('Zoë'.encode('utf-8'), raw)
        self.assertEqual('Zoë', json.loads(raw)['variables']['who'])


class TestParseResult(testtools.TestCase):

    def test_no_marker(self):
        self.assertEqual((None, None),
                         parse_result(['hello', 'world']))
        self.assertEqual((None, None), parse_result([]))
        self.assertEqual((None, None), parse_result(None))

    def test_object_after_marker(self):
        self.assertEqual(({'a': 1}, None), parse_result(
            ['x', '::craton-result::{"a": 1}', 'y']))

    def test_spaces_after_marker_and_line_endings(self):
        self.assertEqual(({'a': 1}, None), parse_result(
            ['::craton-result::    {"a": 1}  \r\n']))

    def test_last_marker_line_wins(self):
        self.assertEqual(({'n': 2}, None), parse_result(
            ['::craton-result:: {"n": 1}', 'between',
             '::craton-result:: {"n": 2}', 'after']))

    def test_last_marker_line_wins_even_if_malformed(self):
        result, note = parse_result(
            ['::craton-result:: {"n": 1}', '::craton-result:: {oops'])
        self.assertIsNone(result)
        self.assertIn('not valid JSON', note)

    def test_marker_must_start_the_line(self):
        self.assertEqual((None, None), parse_result(
            ['echo ::craton-result:: {"a": 1}',
             ' ::craton-result:: {"a": 1}']))

    def test_non_object_is_ignored_with_a_note(self):
        for raw, kind in (('[1]', 'array'), ('"s"', 'string'),
                          ('3', 'number'), ('null', 'null'),
                          ('true', 'boolean')):
            result, note = parse_result(['::craton-result:: ' + raw])
            self.assertIsNone(result)
            self.assertIn(kind, note)
            self.assertIn('::craton-result::', note)

    def test_empty_after_marker(self):
        result, note = parse_result(['::craton-result::'])
        self.assertIsNone(result)
        self.assertIn('not valid JSON', note)

    def test_bytes_lines(self):
        self.assertEqual(({'ok': True}, None), parse_result(
            [b'::craton-result:: {"ok": true}\n']))


class TestResultScanner(testtools.TestCase):

    def scan(self, chunks, max_bytes=1024):
        scanner = payload.ResultScanner(max_bytes)
        for chunk in chunks:
            scanner.feed(chunk)
        return scanner.result()

    def test_marker_anywhere_in_stdout(self):
        out = b'::craton-result:: {"token": "R1"}\n' + b''.join(
            b'line %d\n' % i for i in range(120))
        self.assertEqual(({'token': 'R1'}, None), self.scan([out]))

    def test_last_marker_wins_across_chunks(self):
        out = b'::craton-result:: {"a": 1}\nx\n::craton-result:: {"a": 2}'
        chunks = [out[i:i + 3] for i in range(0, len(out), 3)]
        self.assertEqual(({'a': 2}, None), self.scan(chunks))

    def test_bytes_exact_utf8(self):
        value = 'x' + '\u00e9' * 30000
        line = ('::craton-result:: {"v": "%s"}\n' % value).encode()
        result, note = self.scan([line[:16384], line[16384:]],
                                 max_bytes=1 << 20)
        self.assertIsNone(note)
        self.assertEqual(value, result['v'])

    def test_too_long_result_is_ignored_with_a_note(self):
        line = b'::craton-result:: {"v": "' + b'a' * 5000 + b'"}\n'
        result, note = self.scan([line], max_bytes=1024)
        self.assertIsNone(result)
        self.assertIn('max_result_bytes', note)

    def test_invalid_utf8_and_lone_surrogates_are_noted(self):
        for raw in (b'{"v": "\xff"}', b'{"v": "\\ud83d"}'):
            result, note = self.scan([b'::craton-result:: ' + raw + b'\n'])
            self.assertIsNone(result)
            self.assertIsNotNone(note)

    def test_long_ordinary_lines_do_not_matter(self):
        out = b'y' * 50000 + b'\n::craton-result:: {"ok": true}\n'
        self.assertEqual(({'ok': True}, None), self.scan([out], 1024))

    def test_deep_results_are_ignored_before_they_recurse(self):
        for depth in (65, 960, 1500, 100000):
            raw = b'{"a": ' + b'[' * (depth - 1) + b']' * (depth - 1) + b'}'
            result, note = self.scan([b'::craton-result:: ' + raw + b'\n'],
                                     max_bytes=1 << 20)
            self.assertIsNone(result, depth)
            self.assertIn('max_json_depth', note)
        raw = b'{"a": ' + b'[' * 63 + b']' * 63 + b'}'     # depth 64
        result, _ = self.scan([b'::craton-result:: ' + raw + b'\n'])
        self.assertIsNotNone(result)

    def test_nan_and_infinity_are_not_json(self):
        for raw in (b'{"x": NaN}', b'{"x": -Infinity}', b'{"x": 1e400}'):
            result, note = self.scan([b'::craton-result:: ' + raw + b'\n'])
            self.assertIsNone(result, raw)
            self.assertIn('not valid JSON', note)

    def test_size_limit_counts_the_json_exactly(self):
        def line(size):
            body = b'{"v": "' + b'a' * (size - 9) + b'"}'
            self.assertEqual(size, len(body))
            return b'::craton-result::   ' + body + b'  \n'
        result, note = self.scan([line(1025)], max_bytes=1024)
        self.assertIsNone(result)
        self.assertIn('max_result_bytes', note)
        self.assertIsNotNone(self.scan([line(1024)], max_bytes=1024)[0])
