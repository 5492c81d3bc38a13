# SPDX-License-Identifier: Apache-2.0
"""JSON Patch (RFC 6902) on every PATCH endpoint: all six operations,
RFC 6902's own examples, read-only fields and secrets.
"""

import copy

from craton.objects import task as task_obj
from craton.tests.unit.api import base

# RFC 6902 appendix A, each example's document put under a region's
# "variables" and its paths under "/variables": (section, document, patch,
# the document after it, or None when the patch must fail). A.13 (an
# operation with two "op" members) is a matter of the JSON parser, not of
# the patch, and is left out.
APPENDIX_A = [
    ('A.1', {'foo': 'bar'},
     [{'op': 'add', 'path': '/baz', 'value': 'qux'}],
     {'baz': 'qux', 'foo': 'bar'}),
    ('A.2', {'foo': ['bar', 'baz']},
     [{'op': 'add', 'path': '/foo/1', 'value': 'qux'}],
     {'foo': ['bar', 'qux', 'baz']}),
    ('A.3', {'baz': 'qux', 'foo': 'bar'},
     [{'op': 'remove', 'path': '/baz'}],
     {'foo': 'bar'}),
    ('A.4', {'foo': ['bar', 'qux', 'baz']},
     [{'op': 'remove', 'path': '/foo/1'}],
     {'foo': ['bar', 'baz']}),
    ('A.5', {'baz': 'qux', 'foo': 'bar'},
     [{'op': 'replace', 'path': '/baz', 'value': 'boo'}],
     {'baz': 'boo', 'foo': 'bar'}),
    ('A.6', {'foo': {'bar': 'baz', 'waldo': 'fred'},
             'qux': {'corge': 'grault'}},
     [{'op': 'move', 'from': '/foo/waldo', 'path': '/qux/thud'}],
     {'foo': {'bar': 'baz'}, 'qux': {'corge': 'grault', 'thud': 'fred'}}),
    ('A.7', {'foo': ['all', 'grass', 'cows', 'eat']},
     [{'op': 'move', 'from': '/foo/1', 'path': '/foo/3'}],
     {'foo': ['all', 'cows', 'eat', 'grass']}),
    ('A.8', {'baz': 'qux', 'foo': ['a', 2, 'c']},
     [{'op': 'test', 'path': '/baz', 'value': 'qux'},
      {'op': 'test', 'path': '/foo/1', 'value': 2}],
     {'baz': 'qux', 'foo': ['a', 2, 'c']}),
    ('A.9', {'baz': 'qux'},
     [{'op': 'test', 'path': '/baz', 'value': 'bar'}],
     None),
    ('A.10', {'foo': 'bar'},
     [{'op': 'add', 'path': '/child', 'value': {'grandchild': {}}}],
     {'foo': 'bar', 'child': {'grandchild': {}}}),
    ('A.11', {'foo': 'bar'},
     [{'op': 'add', 'path': '/baz', 'value': 'qux', 'xyz': 123}],
     {'foo': 'bar', 'baz': 'qux'}),
    ('A.12', {'foo': 'bar'},
     [{'op': 'add', 'path': '/baz/bat', 'value': 'qux'}],
     None),
    ('A.14', {'/': 9, '~1': 10},
     [{'op': 'test', 'path': '/~01', 'value': 10}],
     {'/': 9, '~1': 10}),
    ('A.15', {'/': 9, '~1': 10},
     [{'op': 'test', 'path': '/~01', 'value': '10'}],
     None),
    ('A.16', {'foo': ['bar']},
     [{'op': 'add', 'path': '/foo/-', 'value': ['abc', 'def']}],
     {'foo': ['bar', ['abc', 'def']]}),
]


def under(prefix, patch):
    """``patch`` with its paths (and froms) moved below ``prefix``."""
    out = []
    for op in copy.deepcopy(patch):
        for member in ('path', 'from'):
            if member in op:
                op[member] = prefix + op[member]
        out.append(op)
    return out


class PatchCase(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.region = self.make_region('r1', variables={'ntp': 'a'})
        self.cell = self.make_cell('c1', self.region)
        self.host = self.make_host('h1', self.region, cell=self.cell,
                                   labels=['a', 'b'],
                                   variables={'x': [1, 2]})
        self.task = self.make_task('patch-host')


class TestAppendixA(PatchCase):

    def test_rfc6902_examples(self):
        for n, (section, doc, patch, expected) in enumerate(APPENDIX_A):
            name = 'rfc-%d' % n
            self.make_region(name, variables=copy.deepcopy(doc))
            status = 200 if expected is not None else 400
            resp = self.patch('/regions/' + name,
                              under('/variables', patch), status=status)
            after = self.get('/regions/' + name).json['variables']
            if expected is None:
                self.assertEqual(doc, after, section)
                continue
            self.assertEqual(expected, resp.json['variables'], section)
            self.assertEqual(expected, after, section)

    def test_failed_tests_name_their_path(self):
        for section, path in (('A.9', '/variables/baz'),
                              ('A.15', '/variables/~01')):
            doc, patch = next((d, p) for s, d, p, _ in APPENDIX_A
                              if s == section)
            self.make_region(section, variables=doc)
            resp = self.patch('/regions/' + section,
                              under('/variables', patch), status=400)
            self.assertError(resp, 400, 'craton.patch_test_failed',
                             ("JSON Patch test failed at '%s'" % path,
                              'nothing was changed'))

    def test_a_failed_operation_names_its_path(self):
        self.make_region('a12', variables={'foo': 'bar'})
        resp = self.patch('/regions/a12', [
            {'op': 'add', 'path': '/variables/baz/bat', 'value': 'qux'}],
            status=400)
        self.assertError(resp, 400, 'craton.invalid_parameter',
                         "Invalid value for '/variables/baz/bat'")


class TestEveryOperation(PatchCase):
    """Each operation on each PATCH endpoint, through the top-level fields
    and inside them.
    """

    CASES = [
        ('/cells/c1', [
            {'op': 'test', 'path': '/variables', 'value': {}},
            {'op': 'copy', 'from': '/name', 'path': '/variables/was'},
            {'op': 'move', 'from': '/variables/was',
             'path': '/description'},
            {'op': 'test', 'path': '/description', 'value': 'c1'}],
         {'name': 'c1', 'description': 'c1', 'variables': {}}),
        ('/hosts/h1', [
            {'op': 'test', 'path': '/labels', 'value': ['a', 'b']},
            {'op': 'test', 'path': '/region', 'value': 'r1'},
            {'op': 'move', 'from': '/labels/0', 'path': '/labels/-'},
            {'op': 'copy', 'from': '/variables/x', 'path': '/variables/y'},
            {'op': 'move', 'from': '/cell', 'path': '/variables/cell'},
            {'op': 'replace', 'path': '/ip_address', 'value': '10.0.0.9'}],
         {'labels': ['a', 'b'], 'cell': None, 'ip_address': '10.0.0.9',
          'variables': {'x': [1, 2], 'y': [1, 2], 'cell': 'c1'}}),
        ('/tasks/patch-host', [
            {'op': 'test', 'path': '/timeout', 'value': 600},
            {'op': 'test', 'path': '/shared_roles', 'value': []},
            {'op': 'copy', 'from': '/command/0', 'path': '/command/-'},
            {'op': 'copy', 'from': '/source/url', 'path': '/description'},
            {'op': 'move', 'from': '/timeout', 'path': '/timeout'}],
         {'command': ['python3', '/craton/task.py', 'python3'],
          'description': 'https://git.example.org/t.git', 'timeout': 600}),
        # Last: it renames the region the others belong to.
        ('/regions/r1', [
            {'op': 'copy', 'from': '/name', 'path': '/description'},
            {'op': 'test', 'path': '/description', 'value': 'r1'},
            {'op': 'move', 'from': '/variables/ntp',
             'path': '/variables/time'},
            {'op': 'add', 'path': '/variables/list', 'value': [1]},
            {'op': 'copy', 'from': '/variables/list/0',
             'path': '/variables/list/-'},
            {'op': 'replace', 'path': '/name', 'value': 'r1b'},
            {'op': 'remove', 'path': '/variables/list/0'}],
         {'name': 'r1b', 'description': 'r1',
          'variables': {'time': 'a', 'list': [1]}}),
    ]

    def test_all_six_operations(self):
        for path, patch, expected in self.CASES:
            resp = self.patch(path, patch)
            shown = self.get('/%s/%s' % (path.split('/')[1],
                                         resp.json['uuid'])).json
            for field, value in expected.items():
                self.assertEqual(value, resp.json[field], (path, field))
                self.assertEqual(value, shown[field], (path, field))

    def test_both_media_types_take_every_operation(self):
        for content_type in ('application/json-patch+json',
                             'application/json'):
            resp = self.app.patch_json(
                '/v1/regions/r1', [
                    {'op': 'test', 'path': '/name', 'value': 'r1'},
                    {'op': 'copy', 'from': '/name', 'path': '/description'},
                ], headers=dict(self.headers(),
                                **{'Content-Type': content_type}))
            self.assertEqual('r1', resp.json['description'])

    def test_malformed_operations(self):
        for op, field in (
                ({'op': 'move', 'path': '/description'}, 'body[0].from'),
                ({'op': 'copy', 'from': 3, 'path': '/description'},
                 'body[0].from'),
                ({'op': 'copy', 'from': 'name', 'path': '/description'},
                 'body[0].from'),
                ({'op': 'test', 'path': '/name'}, 'body[0].value'),
                ({'op': 'move', 'from': '/variables',
                  'path': '/variables/inner'}, '/variables/inner'),
                ({'op': 'copy', 'from': '/variables/none',
                  'path': '/description'}, '/variables/none'),
                ({'op': 'move', 'from': '/variables/none',
                  'path': '/description'}, '/variables/none'),
                ({'op': 'copy', 'from': '/variables/ntp',
                  'path': '/variables/a/b'}, '/variables/a/b'),
                ({'op': 'Copy', 'from': '/name', 'path': '/description'},
                 'body[0].op')):
            resp = self.patch('/regions/r1', [op], status=400)
            self.assertError(resp, 400, 'craton.invalid_parameter',
                             "Invalid value for '%s'" % field)
        self.assertEqual({'ntp': 'a'},
                         self.get('/regions/r1').json['variables'])

    def test_failed_test_changes_nothing(self):
        for path, patch in (
                ('/regions/r1', [
                    {'op': 'replace', 'path': '/description', 'value': 'x'},
                    {'op': 'test', 'path': '/name', 'value': 'r2'}]),
                ('/hosts/h1', [
                    {'op': 'add', 'path': '/labels/-', 'value': 'c'},
                    {'op': 'test', 'path': '/labels', 'value': ['a', 'b']}]),
                ('/tasks/patch-host', [
                    {'op': 'replace', 'path': '/timeout', 'value': 5},
                    {'op': 'test', 'path': '/timeout', 'value': 600}])):
            before = self.get(path).json
            test = patch[-1]['path']
            resp = self.patch(path, patch, status=400)
            self.assertError(resp, 400, 'craton.patch_test_failed',
                             "JSON Patch test failed at '%s'" % test)
            self.assertEqual(before, self.get(path).json)

    def test_test_compares_as_json_does(self):
        # RFC 6902 4.6: true is not 1, "600" is not 600, 1 is 1.0.
        self.make_region('typed', variables={'flag': True, 'n': 1})
        for value, status in ((1, 400), ('True', 400), (True, 200)):
            resp = self.patch('/regions/typed', [
                {'op': 'test', 'path': '/variables/flag', 'value': value}],
                status=status)
        resp = self.patch('/regions/typed', [
            {'op': 'test', 'path': '/variables/n', 'value': 1.0}])
        self.assertEqual(200, resp.status_int)
        self.patch('/tasks/patch-host', [
            {'op': 'test', 'path': '/timeout', 'value': '600'}], status=400)

    def test_test_sees_what_get_shows(self):
        # A region and a host whose variables and labels were never set
        # show {} and []; a test of those values passes.
        self.make_region('bare')
        self.patch('/regions/bare', [
            {'op': 'test', 'path': '/variables', 'value': {}},
            {'op': 'test', 'path': '/description', 'value': None}])
        self.make_host('bare-host', self.region, ip=None)
        self.patch('/hosts/bare-host', [
            {'op': 'test', 'path': '/labels', 'value': []},
            {'op': 'test', 'path': '/cell', 'value': None}])


class TestReadOnlyFields(PatchCase):
    """Moving or copying into or out of a field a patch may not change is
    refused as a replace of that field is, naming it.
    """

    READ_ONLY = {
        '/regions/r1': ('/uuid', '/project_id', '/created_at',
                        '/updated_at', '/links'),
        '/cells/c1': ('/uuid', '/region', '/region_uuid', '/project_id'),
        '/hosts/h1': ('/uuid', '/region_uuid', '/cell_uuid',
                      '/project_id'),
        '/tasks/patch-host': ('/uuid', '/name', '/status', '/approval',
                              '/approved_by', '/image_digest',
                              '/project_id', '/nodes'),
    }
    WRITABLE = {'/regions/r1': '/description', '/cells/c1': '/description',
                '/hosts/h1': '/variables/v', '/tasks/patch-host':
                '/description'}

    def test_move_and_copy_refused(self):
        for path, fields in self.READ_ONLY.items():
            writable = self.WRITABLE[path]
            before = self.get(path).json
            for field in fields:
                for op in ('move', 'copy'):
                    for patch in (
                            {'op': op, 'from': field, 'path': writable},
                            {'op': op, 'from': writable, 'path': field},
                            {'op': op, 'from': field + '/x',
                             'path': writable}):
                        bad = patch['from'] if patch['path'] == writable \
                            else patch['path']
                        resp = self.patch(path, [patch], status=400)
                        self.assertError(
                            resp, 400, 'craton.invalid_parameter',
                            "Invalid value for '%s'" % bad)
                replace = self.patch(path, [
                    {'op': 'replace', 'path': field, 'value': 'x'}],
                    status=400)
                self.assertEqual(400, replace.status_int)
            self.assertEqual(before, self.get(path).json)

    def test_test_of_a_read_only_field_refused(self):
        resp = self.patch('/tasks/patch-host', [
            {'op': 'test', 'path': '/status', 'value': 'ready'}], status=400)
        self.assertError(resp, 400, 'craton.invalid_parameter',
                         "Invalid value for '/status'")


class TestSecrets(base.APITestCase):
    """A task's git URL credentials are never shown: no operation can read
    them back, and a patch that leaves the shown URL alone keeps them.
    """

    URL = 'https://bob:s3cret@git.example.org/ops/tasks.git'
    SHOWN = 'https://***@git.example.org/ops/tasks.git'

    def setUp(self):
        super().setUp()
        self.make_task(source={'type': 'git', 'url': self.URL})

    def stored(self):
        return task_obj.Task.get(self.ctx(), 'patch-host').source

    def test_test_cannot_probe_credentials(self):
        resp = self.patch('/tasks/patch-host', [
            {'op': 'test', 'path': '/source/url', 'value': self.URL}],
            status=400)
        self.assertError(resp, 400, 'craton.patch_test_failed',
                         '/source/url')
        self.assertNotIn('s3cret', resp.text)
        resp = self.patch('/tasks/patch-host', [
            {'op': 'test', 'path': '/source', 'value': {
                'type': 'git', 'url': self.URL}}], status=400)
        self.assertNotIn('s3cret', resp.text)
        # The value GET shows is the one a test compares with.
        resp = self.patch('/tasks/patch-host', [
            {'op': 'test', 'path': '/source/url', 'value': self.SHOWN}])
        self.assertEqual('approved', resp.json['approval'])
        self.assertEqual(self.URL, self.stored()['url'])

    def test_copy_and_move_cannot_read_credentials(self):
        resp = self.patch('/tasks/patch-host', [
            {'op': 'copy', 'from': '/source/url', 'path': '/description'}])
        self.assertEqual(self.SHOWN, resp.json['description'])
        for patch in (
                [{'op': 'copy', 'from': '/source/url',
                  'path': '/source/ref'}],
                [{'op': 'copy', 'from': '/source', 'path': '/command'}],
                [{'op': 'move', 'from': '/source/url',
                  'path': '/command/0'}]):
            resp = self.patch('/tasks/patch-host', patch, status=400)
            self.assertNotIn('s3cret', resp.text)
        self.assertNotIn('s3cret', str(self.get('/tasks/patch-host').json))
        self.assertEqual(self.URL, self.stored()['url'])

    def test_patch_of_other_fields_keeps_credentials(self):
        resp = self.patch('/tasks/patch-host', [
            {'op': 'add', 'path': '/source/ref', 'value': 'v2'},
            {'op': 'copy', 'from': '/source/ref', 'path': '/description'}])
        self.assertEqual(self.SHOWN, resp.json['source']['url'])
        self.assertEqual({'type': 'git', 'url': self.URL, 'ref': 'v2'},
                         self.stored())
        # A new URL replaces the credentials with its own (or none).
        resp = self.patch('/tasks/patch-host', [
            {'op': 'replace', 'path': '/source/url',
             'value': 'https://git.example.org/other.git'}])
        self.assertEqual('https://git.example.org/other.git',
                         self.stored()['url'])
