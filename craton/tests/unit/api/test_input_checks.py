# SPDX-License-Identifier: Apache-2.0
"""Input refused before any controller sees it (craton/api/input_checks.py):
strings that are not valid Unicode wherever they arrive, JSON nested deeper
than ``[api] max_json_depth``, and the JSON Patch media type.
"""

import json

from craton.api import input_checks
from craton.common import json_text
from craton.conductor.jobs import payload
from craton.objects import job as job_obj
from craton.tests.unit.api import base

GIT = {'type': 'git', 'url': 'https://git.example.org/ops/tasks.git',
       'ref': 'main'}

# How a bad string reaches the body: as a JSON escape of a lone surrogate,
# as the UTF-8 bytes of a surrogate (ED A0 80, which UTF-8 forbids) and as a
# byte that is not UTF-8 at all.
LONE = '\ud83d'


def encode(body, how):
    """``body`` as JSON bytes; ``how`` says how its lone surrogates (and
    ``\\udcff``, standing for a stray 0xFF byte) are written.
    """
    if how == 'escape':
        return json.dumps(body).encode('ascii')
    text = json.dumps(body, ensure_ascii=False)
    if how == 'utf8':
        return text.encode('utf-8', 'surrogatepass')
    assert how == 'byte'
    return text.replace(LONE, '\udcff').encode('utf-8', 'surrogateescape')


ENCODINGS = ('escape', 'utf8', 'byte')


def nest(levels):
    """JSON text of ``levels`` nested lists: nest(2) is ``[[]]``."""
    return '[' * levels + ']' * levels


def replace_op(path, value):
    return [{'op': 'replace', 'path': path, 'value': value}]


class InputCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.region = self.make_region('r1')
        self.cell = self.make_cell('c1', self.region)
        self.host = self.make_host('h1', self.region)
        self.task = self.make_task('patch-host')
        self.workflow = self.make_workflow('wf', [self.task])

    def send(self, method, path, raw, content_type='application/json'):
        if isinstance(raw, str):
            raw = raw.encode('utf-8')
        return self.app.request(
            '/v1' + path, method=method, body=raw, expect_errors=True,
            headers=dict(self.headers('admin'),
                         **{'Content-Type': content_type}))

    def counts(self):
        return {name: len(self.get('/' + name).json[name])
                for name in ('regions', 'cells', 'hosts', 'tasks',
                             'workflows', 'jobs')}


# Every endpoint that takes a JSON body: a valid body, and where a bad
# string can go in it (a function of the bad string giving the body, and
# the field the answer must name).
def _region(s='r-new'):
    return {'name': s, 'description': 'd',
            'variables': {'a': {'b': ['x', 'y']}}}


ENDPOINTS = [
    ('POST', '/regions', _region, [
        (lambda s: _region('r' + s), "'name'"),
        (lambda s: dict(_region(), description=s), "'description'"),
        (lambda s: dict(_region(), variables={'a': {'b': ['x', s]}}),
         "'variables.a.b[1]'"),
        (lambda s: dict(_region(), variables={'a' + s: 1}),
         "'variables': the key"),
        (lambda s: dict(_region(), variables={'a': {'k' + s: [1]}}),
         "'variables.a': the key"),
        (lambda s: {'name' + s: 'r-new'}, "'body': the key"),
    ]),
    ('POST', '/cells', lambda: {'name': 'c-new', 'region': 'r1',
                                'variables': {'v': [{'w': 'x'}]}}, [
        (lambda s: {'name': 'c' + s, 'region': 'r1'}, "'name'"),
        (lambda s: {'name': 'c-new', 'region': 'r' + s}, "'region'"),
        (lambda s: {'name': 'c-new', 'region': 'r1',
                    'variables': {'v': [{'w': s}]}}, "'variables.v[0].w'"),
        (lambda s: {'name': 'c-new', 'region': 'r1',
                    'variables': {'v': [{s: 1}]}}, "'variables.v[0]'"),
    ]),
    ('POST', '/hosts', lambda: {'name': 'h-new', 'region': 'r1',
                                'cell': 'c1', 'ip_address': '10.0.0.2',
                                'labels': ['a', 'b'],
                                'variables': {'v': 1}}, [
        (lambda s: {'name': 'bad' + s + 'name', 'region': 'r1'}, "'name'"),
        (lambda s: {'name': 'h-new', 'region': 'r1', 'cell': s}, "'cell'"),
        (lambda s: {'name': 'h-new', 'region': 'r1',
                    'ip_address': '10.0.0.2' + s}, "'ip_address'"),
        (lambda s: {'name': 'h-new', 'region': 'r1',
                    'labels': ['a', s]}, "'labels[1]'"),
        (lambda s: {'name': 'h-new', 'region': 'r1',
                    'variables': {'v': {s: s}}}, "'variables.v': the key"),
    ]),
    ('POST', '/tasks', lambda: {'name': 't-new', 'source': dict(GIT),
                                'command': ['python3', '/craton/t.py']}, [
        (lambda s: {'name': 't' + s, 'source': dict(GIT),
                    'command': ['x']}, "'name'"),
        (lambda s: {'name': 't-new', 'source': dict(GIT, ref=s),
                    'command': ['x']}, "'source.ref'"),
        (lambda s: {'name': 't-new', 'source': dict(GIT),
                    'command': ['python3', s]}, "'command[1]'"),
        (lambda s: {'name': 't-new', 'source': dict(GIT), 'command': ['x'],
                    'description': s}, "'description'"),
    ]),
    ('POST', '/workflows', lambda: {
        'name': 'wf-new', 'variables': {'a': 'b'},
        'steps': [{'name': 's1', 'task': 'patch-host',
                   'variables': {'x': ['y']}}]}, [
        (lambda s: {'name': 'bad' + s + 'name',
                    'steps': [{'task': 'patch-host'}]}, "'name'"),
        (lambda s: {'name': 'wf-new', 'steps': [{'task': 'patch-host',
                                                 'name': s}]},
         "'steps[0].name'"),
        (lambda s: {'name': 'wf-new', 'steps': [
            {'task': 'patch-host', 'name': 'a'},
            {'task': 'patch-host', 'variables': {'x': [s]}}]},
         "'steps[1].variables.x[0]'"),
        (lambda s: {'name': 'wf-new', 'variables': {s: 1},
                    'steps': [{'task': 'patch-host'}]}, "'variables'"),
    ]),
    ('PUT', '/workflows/wf', lambda: {
        'name': 'wf', 'steps': [{'task': 'patch-host',
                                 'variables': {'x': 'y'}}]}, [
        (lambda s: {'name': 'wf', 'description': s,
                    'steps': [{'task': 'patch-host'}]}, "'description'"),
        (lambda s: {'name': 'wf', 'steps': [{'task': 'patch-host' + s}]},
         "'steps[0].task'"),
    ]),
    ('POST', '/jobs', lambda: {'task': 'patch-host',
                               'inventory': {'hosts': ['h1']},
                               'variables': {'note': 'x'}}, [
        (lambda s: {'task': 'patch-host', 'inventory': {'hosts': ['h1']},
                    'variables': {'note': 'x ' + s}}, "'variables.note'"),
        (lambda s: {'task': 'patch-host', 'inventory': {'hosts': ['h1', s]}},
         "'inventory.hosts[1]'"),
        (lambda s: {'workflow': 'wf' + s, 'inventory': {'hosts': ['h1']}},
         "'workflow'"),
        (lambda s: {'task': 'patch-host', 'inventory': {'region': s}},
         "'inventory.region'"),
        (lambda s: {'task': 'patch-host', 'inventory': {'hosts': ['h1']},
                    'variables': {'deep': [[{'k': s}]]}},
         "'variables.deep[0][0].k'"),
    ]),
    ('POST', '/tasks/patch-host/reject', lambda: {'reason': 'no'}, [
        (lambda s: {'reason': s}, "'reason'"),
    ]),
]
for _kind, _field, _value in (
        ('regions/r1', '/description', 'd'), ('cells/c1', '/description', 'd'),
        ('hosts/h1', '/ip_address', '10.0.0.3'),
        ('tasks/patch-host', '/description', 'd')):
    ENDPOINTS.append(('PATCH', '/' + _kind,
                      lambda f=_field, v=_value: replace_op(f, v), [
                          (lambda s, f=_field: replace_op(f, 'd' + s),
                           "'body[0].value'"),
                          (lambda s, f=_field: replace_op(f + s, 'd'),
                           "'body[0].path'"),
                          (lambda s, f=_field: [{'op': 'replace' + s,
                                                 'path': f}],
                           "'body[0].op'"),
                      ]))
for _kind in ('regions/r1', 'cells/c1', 'hosts/h1'):
    ENDPOINTS.append(('PATCH', '/' + _kind,
                      lambda: replace_op('/variables', {'a': ['b']}), [
                          (lambda s: replace_op('/variables', {'a': [s]}),
                           "'body[0].value.a[0]'"),
                          (lambda s: replace_op('/variables', {s: 1}),
                           "'body[0].value': the key"),
                      ]))


class TestNotUnicode(InputCase):

    def test_every_body_every_position(self):
        before = self.counts()
        wrong = []
        for method, path, _valid, bad in ENDPOINTS:
            for make, field in bad:
                for how in ENCODINGS:
                    resp = self.send(method, path, encode(make(LONE), how))
                    detail = (resp.json['errors'][0]['detail']
                              if resp.status_int >= 400 else '')
                    if resp.status_int != 400 or \
                            "Invalid value for %s" % field not in detail or \
                            'not valid Unicode' not in detail:
                        wrong.append((method, path, field, how,
                                      resp.status_int, detail))
        self.assertEqual([], wrong)
        # Nothing was stored.
        self.assertEqual(before, self.counts())
        self.assertEqual('patch-host', self.get('/tasks/patch-host').json[
            'name'])
        self.assertEqual('approved', self.get('/tasks/patch-host').json[
            'approval'])

    def test_the_same_bodies_without_the_bad_string_are_accepted(self):
        # What makes the test above able to fail: each body is accepted
        # once the bad string is a good one.
        for method, path, valid, bad in ENDPOINTS:
            resp = self.send(method, path, encode(valid(), 'escape'))
            self.assertLess(resp.status_int, 300, (method, path, resp.body))
            if method == 'POST' and path == '/tasks/patch-host/reject':
                continue
            for make, _field in bad[:1]:
                # A good non-ASCII character (and a surrogate pair) in
                # the same place is fine too.
                resp = self.send(method, path,
                                 encode(make('\u00e9\U0001f600'), 'escape'))
                self.assertNotIn('not valid Unicode', resp.text)
                self.assertNotEqual(500, resp.status_int)

    def test_surrogate_pair_escapes_are_kept(self):
        raw = '{"name": "r-emoji", "variables": {"e": "\\ud83d\\ude00"}}'
        resp = self.send('POST', '/regions', raw)
        self.assertEqual(201, resp.status_int, resp.body)
        self.assertEqual('\U0001f600', self.get('/regions/r-emoji').json[
            'variables']['e'])

    def test_detail_says_what_is_wrong(self):
        body = {'name': 'r-x', 'variables': {'note': 'x ' + LONE}}
        resp = self.send('POST', '/regions', encode(body, 'escape'))
        self.assertError(resp, 400, detail_contains=(
            "Invalid value for 'variables.note'",
            'the lone surrogate \\ud83d'))
        resp = self.send('POST', '/regions', encode(body, 'byte'))
        self.assertError(resp, 400, detail_contains=(
            "Invalid value for 'variables.note'", 'the byte 0xFF'))
        resp = self.send('POST', '/regions', encode(body, 'utf8'))
        self.assertError(resp, 400, detail_contains=(
            "Invalid value for 'variables.note'", 'the byte 0xED'))

    def test_not_utf8_outside_strings(self):
        resp = self.send('POST', '/regions', b'{"name": "r"}\xff')
        self.assertError(resp, 400, 'craton.invalid_parameter',
                         ("Invalid value for 'body'", 'not UTF-8'))

    def test_lone_surrogate_in_form_body(self):
        resp = self.send('POST', '/regions', 'name=a%ED%A0%80',
                         content_type='application/x-www-form-urlencoded')
        self.assertError(resp, 400, 'craton.invalid_parameter',
                         "Invalid value for 'name'")


class TestPathAndQuery(InputCase):

    def test_path_segments_not_utf8(self):
        for method, path, segment in (
                ('GET', '/hosts/%ff', '%FF'),
                ('GET', '/tasks/%ed%a0%80', '%ED%A0%80'),
                ('GET', '/regions/r%C3', 'r%C3'),
                ('DELETE', '/cells/%80abc', '%80abc'),
                ('POST', '/tasks/%ed%b0%80/approve', '%ED%B0%80'),
                ('GET', '/jobs/x/steps/%ff/logs', '%FF'),
                ('PATCH', '/hosts/bad%ed%a0%80name', 'bad%ED%A0%80name'),
                ('GET', '/no-such-thing/%fe', '%FE'),
                # The upload route's own checks read the path first.
                ('PUT', '/tasks/%ff/source', '%FF')):
            resp = self.send(method, path, b'')
            self.assertError(resp, 400, 'craton.invalid_parameter',
                             ("Invalid value for 'path'",
                              'does not decode to UTF-8',
                              '(%s, after ' % segment))

    def test_good_utf8_in_path_is_a_name(self):
        self.make_region('r\u00e9gion')
        resp = self.send('GET', '/regions/r%C3%A9gion', b'')
        self.assertEqual(200, resp.status_int)

    def test_query_parameters_not_utf8(self):
        for path, field in (('/hosts?name=%ff', "'name'"),
                            ('/tasks?name=bad%ed%a0%80name', "'name'"),
                            ('/regions?limit=1&marker=%ed%b0%80',
                             "'marker'"),
                            ('/hosts?label=a&label=%C3', "'label'"),
                            ('/hosts/h1?resolved=%ff', "'resolved'"),
                            ('/jobs?%ff=1', "'query parameter 1'")):
            resp = self.send('GET', path, b'')
            self.assertError(resp, 400, 'craton.invalid_parameter',
                             ('Invalid value for ' + field,
                              'does not decode to UTF-8'))

    def test_good_utf8_in_query(self):
        self.make_region('r\u00e9gion')
        resp = self.send('GET', '/regions?name=r%C3%A9gion', b'')
        self.assertEqual(['r\u00e9gion'],
                         [r['name'] for r in resp.json['regions']])


class TestDepth(InputCase):

    # Each endpoint and a body of exactly ``depth`` levels; for tasks no
    # deep value is valid, so depth 64 reaches the controller's checks.
    def bodies(self, depth, name):
        return [
            ('POST', '/regions',
             '{"name": "%s", "variables": {"v": %s}}' % (name,
                                                          nest(depth - 2))),
            ('POST', '/hosts',
             '{"name": "%s", "region": "r1", "variables": {"v": %s}}'
             % (name, nest(depth - 2))),
            ('POST', '/cells',
             '{"name": "%s", "region": "r1", "variables": {"v": %s}}'
             % (name, nest(depth - 2))),
            ('POST', '/workflows',
             '{"name": "%s", "steps": [{"task": "patch-host", '
             '"variables": {"v": %s}}]}' % (name, nest(depth - 4))),
            ('POST', '/jobs',
             '{"task": "patch-host", "inventory": {"hosts": ["h1"]}, '
             '"variables": {"v": %s}}' % nest(depth - 2)),
            ('PUT', '/workflows/wf',
             '{"name": "wf", "variables": {"v": %s}, '
             '"steps": [{"task": "patch-host"}]}' % nest(depth - 2)),
            ('PATCH', '/regions/r1',
             '[{"op": "replace", "path": "/variables", "value": {"v": %s}}]'
             % nest(depth - 3)),
            ('PATCH', '/hosts/h1',
             '[{"op": "add", "path": "/variables/v", "value": %s}]'
             % nest(depth - 2)),
            ('PATCH', '/cells/c1',
             '[{"op": "replace", "path": "/variables", "value": {"v": %s}}]'
             % nest(depth - 3)),
            ('POST', '/tasks',
             '{"name": "%s", "command": ["x"], "source": {"type": "git", '
             '"url": "https://git.example.org/t.git", "v": %s}}'
             % (name, nest(depth - 2))),
            ('PATCH', '/tasks/patch-host',
             '[{"op": "replace", "path": "/source", "value": {"type": '
             '"git", "url": "https://git.example.org/t.git", "v": %s}}]'
             % nest(depth - 3)),
        ]

    def assertTooDeep(self, resp, limit=64):
        return self.assertError(resp, 400, 'craton.invalid_parameter',
                         ('nested deeper than %d levels' % limit,
                          '[api] max_json_depth'))

    def test_depth_limit_is_exact(self):
        for (method, path, raw), (_m, _p, deeper) in zip(
                self.bodies(64, 'at-limit'), self.bodies(65, 'over'),
                strict=True):
            self.assertEqual(64, json_text.depth(raw.encode()))
            self.assertEqual(65, json_text.depth(deeper.encode()))
            resp = self.send(method, path, raw)
            if path.startswith('/tasks'):
                # No deep value is a valid task source: the controller
                # says so, naming the unknown field.
                self.assertError(resp, 400,
                                 detail_contains='source.v')
            else:
                self.assertLess(resp.status_int, 300,
                                (method, path, resp.body))
            self.assertTooDeep(self.send(method, path, deeper))

    def test_value_at_the_limit_is_stored_whole(self):
        raw = self.bodies(64, 'deep-region')[0][2]
        self.assertEqual(201, self.send('POST', '/regions', raw).status_int)
        stored = self.get('/regions/deep-region').json['variables']['v']
        self.assertEqual(json.loads(nest(62)), stored)

    def test_twenty_thousand_levels(self):
        for method, path, raw in self.bodies(20000, 'very-deep'):
            self.assertGreater(len(raw), 40000)
            resp = self.send(method, path, raw)
            error = self.assertTooDeep(resp)
            self.assertIn("Invalid value for '", error['detail'])
        for raw in ('[' * 20000, '{"a":' * 20000, '[' * 20000 + ']' * 20000,
                    '[{"a": ' * 10000):
            self.assertTooDeep(self.send('POST', '/jobs', raw))

    def test_field_is_named(self):
        resp = self.send('POST', '/regions',
                         '{"name": "x", "variables": %s}' % nest(100))
        self.assertTooDeep(resp)
        self.assertIn("Invalid value for 'variables'",
                      resp.json['errors'][0]['detail'])
        resp = self.send('PATCH', '/regions/r1',
                         '[{"op": "add", "path": "/variables/a", "value": 1},'
                         ' {"op": "add", "path": "/variables/b", "value": '
                         '%s}]' % nest(100))
        self.assertTooDeep(resp)
        self.assertIn("Invalid value for 'body[1].value'",
                      resp.json['errors'][0]['detail'])

    def test_brackets_in_strings_do_not_count(self):
        text = '[' * 100 + '\\"' + '{' * 100
        raw = json.dumps({'name': 'brackets', 'variables': {'v': text}})
        resp = self.send('POST', '/regions', raw)
        self.assertEqual(201, resp.status_int, resp.body)
        self.assertEqual(text, self.get('/regions/brackets').json[
            'variables']['v'])

    def test_option(self):
        self.config(max_json_depth=5, group='api')
        ok = '{"name": "five", "variables": {"v": %s}}' % nest(3)
        self.assertEqual(201, self.send('POST', '/regions', ok).status_int)
        too_deep = '{"name": "six", "variables": {"v": %s}}' % nest(4)
        self.assertTooDeep(self.send('POST', '/regions', too_deep), limit=5)

    def test_largest_option_value_works_end_to_end(self):
        # The option's maximum keeps everything that walks a value (WSME,
        # the database, the payload of a step) below the recursion limit.
        self.config(max_json_depth=256, group='api')
        deep = json.loads(nest(254))
        resp = self.send('POST', '/jobs', json.dumps(
            {'task': 'patch-host', 'inventory': {'hosts': ['h1']},
             'variables': {'v': deep}}))
        self.assertEqual(202, resp.status_int, resp.body)
        job = self.get('/jobs/' + resp.json['uuid']).json
        self.assertEqual(deep, job['variables']['v'])
        stored = job_obj.Job.get(self.ctx(), job['uuid'])
        raw = payload.build_payload(stored, stored.steps[0], [], {})
        self.assertEqual(deep, json.loads(raw)['variables']['v'])
        self.assertTooDeep(self.send('POST', '/jobs', json.dumps(
            {'task': 'patch-host', 'inventory': {'hosts': ['h1']},
             'variables': {'v': [deep]}})), limit=256)


class TestJsonDepthScan(base.APITestCase):

    def test_depths(self):
        for raw, depth in ((b'1', 0), (b'"[{"', 0), (b'{}', 1), (b'[]', 1),
                           (b'[{"a": []}]', 3), (b'{"a": "]]]", "b": [[]]}',
                                                 3),
                           (b'["\\"[", [1]]', 2), (b'[[[ "open [[[[', 3),
                           (b'[1, [2, [3]], {"x": {"y": {}}}]', 4)):
            self.assertEqual(depth, json_text.depth(raw), raw)

    def test_where(self):
        self.assertIsNone(input_checks.too_deep(b'[[1]]', 2))
        self.assertEqual([0, 'a', 0], input_checks.too_deep(
            b'[{"a": [[1]]}]', 3))
        self.assertEqual(['b\u00e9', 2, 0], input_checks.too_deep(
            b'{"a": 1, "b\\u00e9": [1, "x,", [[[', 3))

    def test_field_name(self):
        self.assertEqual('variables["a b"][0]["x\\ud800"]',
                         input_checks.field_name(['variables', 'a b', 0,
                                                  'x\ud800']))
        self.assertEqual('body[0].value', input_checks.field_name(
            [0, 'value']))
        self.assertEqual('body', input_checks.field_name([]))


class TestJsonPatchMediaType(InputCase):

    def test_both_media_types_on_every_patch(self):
        for path, field in (('/regions/r1', 'description'),
                            ('/cells/c1', 'description'),
                            ('/hosts/h1', 'ip_address'),
                            ('/tasks/patch-host', 'description')):
            for n, content_type in enumerate((
                    'application/json', 'application/json-patch+json',
                    'application/json-patch+json; charset=utf-8')):
                value = '10.0.0.%d' % (n + 5) if field == 'ip_address' \
                    else 'text %d' % n
                resp = self.send('PATCH', path, json.dumps(
                    replace_op('/' + field, value)), content_type)
                self.assertEqual(200, resp.status_int, (path, content_type,
                                                        resp.body))
                self.assertEqual(value, resp.json[field])

    def test_json_patch_media_type_body_is_checked(self):
        resp = self.send('PATCH', '/regions/r1', json.dumps(
            replace_op('/description', 'x' + LONE)),
            'application/json-patch+json')
        self.assertError(resp, 400, detail_contains="'body[0].value'")
        resp = self.send('PATCH', '/regions/r1', '[' * 70 + ']' * 70,
                         'application/json-patch+json')
        self.assertError(resp, 400, detail_contains='max_json_depth')

    def test_only_patch_bodies_are_json_patch(self):
        resp = self.send('POST', '/regions', '{"name": "r2"}',
                         'application/json-patch+json')
        self.assertError(resp, 415)
        resp = self.send('PATCH', '/regions/r1', '[]', 'text/plain')
        self.assertError(resp, 415)


class TestMediaTypeCase(InputCase):
    """Media types are case-insensitive, with optional white space around
    their parameters (RFC 9110 8.3.1), wherever a body's type is checked.
    """

    JSON = ('APPLICATION/JSON', 'Application/Json; Charset=UTF-8',
            'application/json ; charset=utf-8', 'application/JSON\t;x=1')
    PATCH = JSON + ('Application/JSON-Patch+JSON',
                    'APPLICATION/JSON-PATCH+JSON; CHARSET=UTF-8',
                    'application/json-patch+JSON ;charset=utf-8')

    def test_json_bodies(self):
        for n, content_type in enumerate(self.JSON):
            resp = self.send('POST', '/regions', json.dumps(
                {'name': 'r-%d' % n}), content_type)
            self.assertEqual(201, resp.status_int, (content_type, resp.body))
            resp = self.send('PUT', '/workflows/wf', json.dumps(
                {'name': 'wf', 'description': content_type,
                 'steps': [{'task': 'patch-host'}]}), content_type)
            self.assertEqual(200, resp.status_int, (content_type, resp.body))
            self.assertEqual(content_type, resp.json['description'])

    def test_patch_bodies(self):
        for path in ('/regions/r1', '/cells/c1', '/hosts/h1',
                     '/tasks/patch-host'):
            for content_type in self.PATCH:
                resp = self.send('PATCH', path, json.dumps(
                    [{'op': 'add', 'path': '/labels/-' if 'hosts' in path
                      else '/description', 'value': content_type}]),
                    content_type)
                self.assertEqual(200, resp.status_int,
                                 (path, content_type, resp.body))

    def test_body_checks_whatever_the_case(self):
        for content_type in self.JSON:
            resp = self.send('POST', '/regions', encode(
                {'name': 'r-x', 'variables': {'note': LONE}}, 'escape'),
                content_type)
            self.assertError(resp, 400, 'craton.invalid_parameter',
                             "Invalid value for 'variables.note'")
            resp = self.send('POST', '/regions', '[' * 70 + ']' * 70,
                             content_type)
            self.assertError(resp, 400, detail_contains='max_json_depth')
        for content_type in self.PATCH[-3:]:
            resp = self.send('PATCH', '/regions/r1', json.dumps(
                replace_op('/description', LONE)), content_type)
            self.assertError(resp, 400, 'craton.invalid_parameter',
                             "Invalid value for 'body[0].value'")

    def test_other_types_still_refused(self):
        for method, path, content_type in (
                ('POST', '/regions', 'Application/JSON-Patch+JSON'),
                ('POST', '/regions', 'application/jsonx'),
                ('POST', '/regions', 'TEXT/PLAIN'),
                ('PATCH', '/regions/r1', 'application/json-patch'),
                ('PUT', '/workflows/wf', 'APPLICATION/GZIP')):
            resp = self.send(method, path, '{"name": "r-y"}', content_type)
            self.assertError(resp, 415, 'craton.unsupported_media_type')

    def test_canonical(self):
        from craton.api import media_types
        for value, media_type, canonical in (
                ('Application/JSON', 'application/json', 'application/json'),
                (' application/Gzip ; x=A ', 'application/gzip',
                 'application/gzip; x=A'),
                ('APPLICATION/JSON;', 'application/json', 'application/json'),
                ('', '', ''), (None, '', '')):
            self.assertEqual(media_type, media_types.of(value))
            self.assertEqual(canonical, media_types.canonical(value))


NUL = '\u0000'


class TestNul(InputCase):
    """The NUL character (U+0000), which PostgreSQL cannot store in a text
    column, is refused like a lone surrogate wherever it arrives.
    """

    def test_every_body_every_position(self):
        before = self.counts()
        wrong = []
        for method, path, _valid, bad in ENDPOINTS:
            for make, field in bad:
                for body in (make(NUL), make('a' + NUL + 'b')):
                    resp = self.send(method, path, encode(body, 'escape'))
                    detail = (resp.json['errors'][0]['detail']
                              if resp.status_int >= 400 else '')
                    if resp.status_int != 400 or \
                            "Invalid value for %s" % field not in detail or \
                            'NUL character' not in detail:
                        wrong.append((method, path, field, resp.status_int,
                                      detail))
        self.assertEqual([], wrong)
        self.assertEqual(before, self.counts())
        self.assertEqual('approved', self.get('/tasks/patch-host').json[
            'approval'])

    def test_detail(self):
        resp = self.send('POST', '/regions', json.dumps(
            {'name': 'r-x', 'variables': {'a': {'k\u0000': 1}}}))
        self.assertError(resp, 400, 'craton.invalid_parameter', (
            "Invalid value for 'variables.a': the key \"k\\u0000\" holds the "
            'NUL character (U+0000'))
        # A NUL after a lone surrogate: the first one found is named.
        resp = self.send('POST', '/regions', json.dumps(
            {'name': 'r-x', 'description': 'a\ud800b\u0000'}))
        self.assertError(resp, 400, 'craton.invalid_parameter', (
            "Invalid value for 'description'", 'lone surrogate'))

    def test_text_that_only_looks_like_a_nul_is_fine(self):
        # "\\u0000" is a backslash and five characters; U+0001 is no NUL.
        for text in ('\\u0000', 'a\u0001b', '\\\\u0000'):
            resp = self.send('POST', '/regions', json.dumps(
                {'name': 'r-ok', 'description': text}))
            self.assertEqual(201, resp.status_int, resp.body)
            self.assertEqual(text, resp.json['description'])
            self.delete('/regions/r-ok')

    def test_path_segments(self):
        for method, path, segment in (
                ('GET', '/regions/a%00b', 'a%00b'),
                ('GET', '/hosts/%00', '%00'),
                ('DELETE', '/cells/c1%00', 'c1%00'),
                ('PATCH', '/tasks/patch-host%00', 'patch-host%00'),
                ('GET', '/jobs/x/steps/0%00/logs', '0%00'),
                ('PUT', '/tasks/%00/source', '%00')):
            resp = self.send(method, path, b'')
            self.assertError(resp, 400, 'craton.invalid_parameter',
                             ("Invalid value for 'path'",
                              '(%s, after ' % segment, 'NUL character'))

    def test_query_parameters(self):
        for path, field in (('/hosts?name=a%00b', "'name'"),
                            ('/regions?limit=1&marker=%00', "'marker'"),
                            ('/hosts?label=a&label=%00', "'label'"),
                            ('/hosts/h1?resolved=true%00', "'resolved'"),
                            ('/jobs?a%00=1', "'query parameter 1'")):
            resp = self.send('GET', path, b'')
            self.assertError(resp, 400, 'craton.invalid_parameter',
                             ('Invalid value for ' + field,
                              'NUL character (%00)'))

    def test_form_body(self):
        resp = self.send('POST', '/regions', 'name=a%00b',
                         content_type='application/x-www-form-urlencoded')
        self.assertError(resp, 400, 'craton.invalid_parameter',
                         ("Invalid value for 'name'", 'NUL character'))
