# SPDX-License-Identifier: Apache-2.0
"""/v1/regions, /v1/cells and /v1/hosts."""

from craton.tests.unit.api import base


class TestRegions(base.APITestCase):

    def test_crud(self):
        resp = self.post('/regions', {'name': 'r1', 'description': 'east',
                                      'variables': {'ntp': 'a'}},
                         status=201)
        region = resp.json
        self.assertEqual({'ntp': 'a'}, region['variables'])
        self.assertEqual(region, self.get('/regions/r1').json)
        self.assertEqual([region], self.get('/regions').json['regions'])
        resp = self.patch('/regions/r1', [
            {'op': 'add', 'path': '/variables/dns', 'value': 'b'},
            {'op': 'replace', 'path': '/name', 'value': 'r-east'}])
        self.assertEqual({'ntp': 'a', 'dns': 'b'}, resp.json['variables'])
        self.assertEqual('r-east', resp.json['name'])
        self.delete('/regions/r-east')
        self.get('/regions/' + region['uuid'], status=404)

    def test_patch_rules(self):
        self.make_region('r1')
        for patch, text in (
                ([{'op': 'replace', 'path': '/uuid', 'value': 'x'}], '/uuid'),
                ([{'op': 'replace', 'path': '/variables', 'value': 1}],
                 'variables'),
                ([{'op': 'remove', 'path': '/name'}], 'name')):
            resp = self.patch('/regions/r1', patch, status=400)
            self.assertError(resp, 400, detail_contains=text)

    def test_delete_in_use(self):
        region = self.make_region('r1')
        self.make_cell('c1', region)
        resp = self.delete('/regions/r1', status=409)
        self.assertError(resp, 409, 'craton.in_use', 'c1')

    def test_tenancy(self):
        self.make_region('r1')
        self.get('/regions/r1', status=404, project='project-b')
        self.assertEqual([], self.get('/regions', project='project-b')
                         .json['regions'])


class TestCells(base.APITestCase):

    def test_crud(self):
        region = self.make_region('r1')
        resp = self.post('/cells', {'name': 'c1', 'region': 'r1'},
                         status=201)
        self.assertEqual('r1', resp.json['region'])
        self.assertEqual(region.uuid, resp.json['region_uuid'])
        self.assertEqual(resp.json, self.get('/cells/c1').json)
        self.make_region('r2')
        self.make_cell('c2', self.make_region('r3'))
        self.assertEqual(['c1'], [c['name'] for c in self.get(
            '/cells?region=r1').json['cells']])
        self.assertEqual([], self.get('/cells?region=nope').json['cells'])
        resp = self.patch('/cells/c1', [
            {'op': 'replace', 'path': '/description', 'value': 'x'}])
        self.assertEqual('x', resp.json['description'])
        resp = self.patch('/cells/c1', [
            {'op': 'replace', 'path': '/region', 'value': 'r2'}],
            status=400)
        self.assertError(resp, 400, detail_contains='/region')
        self.delete('/cells/c1')

    def test_unknown_region(self):
        resp = self.post('/cells', {'name': 'c1', 'region': 'nope'},
                         status=400)
        self.assertError(resp, 400, detail_contains="'nope'")
        self.make_region('theirs', project='project-b')
        resp = self.post('/cells', {'name': 'c1', 'region': 'theirs'},
                         status=400)
        self.assertError(resp, 400, detail_contains="'theirs'")


class TestHosts(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.r1 = self.make_region('r1', {'a': 'region', 'b': 'region'})
        self.r2 = self.make_region('r2')
        self.c1 = self.make_cell('c1', self.r1, {'b': 'cell', 'c': 'cell'})
        self.c2 = self.make_cell('c2', self.r2)

    def test_crud(self):
        resp = self.post('/hosts', {
            'name': 'compute-01', 'region': 'r1', 'cell': 'c1',
            'ip_address': '10.0.0.5', 'labels': ['compute', 'gpu'],
            'variables': {'c': 'host'}}, status=201)
        host = resp.json
        self.assertEqual(('r1', 'c1', ['compute', 'gpu']),
                         (host['region'], host['cell'], host['labels']))
        self.assertEqual(host, self.get('/hosts/compute-01').json)
        resp = self.patch('/hosts/compute-01', [
            {'op': 'add', 'path': '/labels/-', 'value': 'db'},
            {'op': 'replace', 'path': '/ip_address', 'value': 'fd00::1'}])
        self.assertEqual(['compute', 'db', 'gpu'], resp.json['labels'])
        self.assertEqual('fd00::1', resp.json['ip_address'])
        resp = self.patch('/hosts/compute-01', [
            {'op': 'replace', 'path': '/region', 'value': 'r2'},
            {'op': 'replace', 'path': '/cell', 'value': None}])
        self.assertEqual(('r2', None), (resp.json['region'],
                                        resp.json['cell']))
        self.delete('/hosts/compute-01')
        self.get('/hosts/compute-01', status=404)

    def test_resolved_variables(self):
        self.make_host('h1', self.r1, self.c1, variables={'c': 'host'})
        self.make_host('h2', self.r1, None, variables={'b': 'host'})
        self.assertEqual({'c': 'host'},
                         self.get('/hosts/h1').json['variables'])
        self.assertEqual({'a': 'region', 'b': 'cell', 'c': 'host'},
                         self.get('/hosts/h1?resolved=true')
                         .json['variables'])
        self.assertEqual({'a': 'region', 'b': 'host'},
                         self.get('/hosts/h2?resolved=true')
                         .json['variables'])
        self.get('/hosts/h1?resolved=maybe', status=400)

    def test_invalid(self):
        cases = [
            ({'region': 'nope'}, "'nope'"),
            ({'cell': 'c2'}, ("'c2'", "'r2'")),
            ({'cell': 'c9'}, "'c9'"),
            ({'ip_address': '10.0.0.300'}, 'ip_address'),
            ({'ip_address': 'example.org'}, 'ip_address'),
            ({'labels': 'compute'}, 'labels'),
            ({'labels': ['']}, 'labels'),
            ({'variables': []}, 'variables'),
        ]
        for change, text in cases:
            body = dict({'name': 'h', 'region': 'r1'}, **change)
            resp = self.post('/hosts', body, status=400)
            self.assertError(resp, 400, detail_contains=text)
        resp = self.post('/hosts', {'name': 'h'}, status=400)
        self.assertError(resp, 400, detail_contains='region')
        self.make_host('h1', self.r1)
        resp = self.patch('/hosts/h1', [
            {'op': 'replace', 'path': '/cell', 'value': 'c2'}], status=400)
        self.assertError(resp, 400, detail_contains='cell')

    def test_filters(self):
        self.make_host('a', self.r1, self.c1, ['compute', 'gpu'])
        self.make_host('b', self.r1, None, ['compute'])
        self.make_host('c', self.r2, self.c2, ['storage'])

        def names(query):
            return [h['name'] for h in
                    self.get('/hosts?' + query).json['hosts']]

        self.assertEqual(['a', 'b'], names('region=r1'))
        self.assertEqual(['c'], names('cell=c2'))
        self.assertEqual(['a', 'b'], names('label=compute'))
        self.assertEqual(['a'], names('label=compute&label=gpu'))
        self.assertEqual(['b'], names('name=b'))
        self.assertEqual([], names('region=nope'))
        self.assertEqual(['a', 'b'], names('sort_key=name&limit=2'))
        self.assertEqual(['c', 'b'], names('sort_key=name&sort_dir=desc'
                                           '&limit=2'))

    def test_delete_in_use(self):
        self.make_host('h1', self.r1, self.c1)
        resp = self.delete('/cells/c1', status=409)
        self.assertError(resp, 409, 'craton.in_use', 'h1')
