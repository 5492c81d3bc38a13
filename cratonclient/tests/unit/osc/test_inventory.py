# SPDX-License-Identifier: Apache-2.0
"""``openstack craton region|cell|host …`` against a fake API."""

from cratonclient.tests.unit import base


class TestRegion(base.ShellTestCase):

    def test_create_sends_name_description_and_json_vars(self):
        self.api.post(self.url('/v1/regions'), status_code=201,
                      json=base.region(description='east',
                                       variables={'dry_run': False}))
        out = self.run_json('region', 'create', 'r1', '--description', 'east',
                            '--var', 'dry_run=false', '--var',
                            'ports=[22,80]', '--var', 'note=hello world',
                            '--var', 'quoted="7"', '--var', 'eq=a=b')
        self.assertEqual({'name': 'r1', 'description': 'east',
                          'variables': {'dry_run': False, 'ports': [22, 80],
                                        'note': 'hello world',
                                        'quoted': '7', 'eq': 'a=b'}},
                         self.sent())
        # -f json: structured fields are JSON values, not strings.
        self.assertEqual({'dry_run': False}, out['variables'])
        self.assertEqual('east', out['description'])
        self.assertEqual('application/json',
                         self.api.last_request.headers['Content-Type'])

    def test_var_values_json_refuses_is_kept_as_the_string(self):
        # Not JSON (RFC 8259): NaN, Infinity, and numbers that only fit as
        # infinity; each stays the string it was written as.
        self.api.post(self.url('/v1/regions'), status_code=201,
                      json=base.region())
        texts = ['NaN', 'Infinity', '-Infinity', '1e400', '-1e400',
                 '[1, NaN]', '{"a": 1e999}']
        argv = ['region', 'create', 'r1']
        for n, text in enumerate(texts):
            argv += ['--var', 'v%d=%s' % (n, text)]
        argv += ['--var', 'small=1e-400', '--var', 'big=123456789012345678901']
        self.run_json(*argv)
        expected = {'v%d' % n: text for n, text in enumerate(texts)}
        expected.update(small=0.0, big=123456789012345678901)
        self.assertEqual({'name': 'r1', 'variables': expected}, self.sent())
        # What went out is strict JSON.
        body = self.api.last_request.body.decode('utf-8')
        for constant in ('NaN', 'Infinity'):
            self.assertNotIn(': ' + constant, body)

    def test_nan_never_goes_out_as_json(self):
        from cratonclient import exceptions
        from cratonclient.v1 import client
        craton = client.Client.noauth(base.ENDPOINT)
        exc = self.assertRaises(exceptions.ClientException,
                                craton.regions.create,
                                {'name': 'r',
                                 'variables': {'x': float('nan')}})
        self.assertIn('JSON', str(exc))
        self.assertFalse(self.api.called)

    def test_create_minimal_sends_only_name(self):
        self.api.post(self.url('/v1/regions'), status_code=201,
                      json=base.region())
        self.run_json('region', 'create', 'r1')
        self.assertEqual({'name': 'r1'}, self.sent())

    def test_var_without_equals_is_a_usage_error(self):
        result = self.run_cli('region', 'create', 'r1', '--var', 'novalue')
        self.assertEqual(2, result.rc)
        self.assertIn('KEY=VALUE', result.stderr)
        self.assertFalse(self.api.called)

    def test_table_output_is_readable(self):
        self.api.get(self.url('/v1/regions/r1'),
                     json=base.region(variables={'ntp': '10.0.0.1'}))
        result = self.run_cli('region', 'show', 'r1')
        self.assertEqual(0, result.rc)
        self.assertIn("ntp='10.0.0.1'", result.stdout)
        self.assertIn('| name ', result.stdout)

    def test_show_every_field_named_as_the_api(self):
        self.api.get(self.url('/v1/regions/r1'), json=base.region())
        out = self.run_json('region', 'show', 'r1')
        self.assertEqual(base.region(), out)

    def test_show_column_value(self):
        self.api.get(self.url('/v1/regions/r1'), json=base.region())
        result = self.run_cli('region', 'show', 'r1', '-f', 'value',
                              '-c', 'uuid')
        self.assertEqual(base.region()['uuid'] + '\n', result.stdout)

    def test_value_and_csv_give_structured_fields_as_json_text(self):
        self.api.get(self.url('/v1/regions/r1'),
                     json=base.region(variables={'on': True, 'p': [22]}))
        result = self.run_cli('region', 'show', 'r1', '-f', 'value',
                              '-c', 'variables')
        self.assertEqual('{"on":true,"p":[22]}\n', result.stdout)
        self.api.get(self.url('/v1/regions'), json={'regions': [
            base.region(variables={'a': 'é'})]})
        result = self.run_cli('region', 'list', '-f', 'csv', '-c', 'name',
                              '-c', 'variables')
        self.assertEqual('"name","variables"\n"r1","{""a"":""é""}"\n',
                         result.stdout.replace('\r\n', '\n'))

    def test_show_yaml_structured(self):
        import yaml
        self.api.get(self.url('/v1/regions/r1'),
                     json=base.region(variables={'a': {'b': [1, 2]}}))
        result = self.run_cli('region', 'show', 'r1', '-f', 'yaml')
        self.assertEqual({'a': {'b': [1, 2]}},
                         yaml.safe_load(result.stdout)['variables'])

    def test_name_is_quoted_in_the_path(self):
        self.api.get(self.url('/v1/regions/east%20one'), json=base.region())
        self.run_json('region', 'show', 'east one')
        self.assertEqual('/v1/regions/east%20one',
                         self.api.last_request.path)

    def test_list_follows_next_and_shows_default_columns(self):
        first = base.region('r1', uuid='u-1', description='one')
        second = base.region('r2', uuid='u-2', description='two')
        self.api.get(self.url('/v1/regions'),
                     json={'regions': [first],
                           'next': self.url('/v1/regions?marker=u-1')})
        self.api.get(self.url('/v1/regions?marker=u-1'),
                     json={'regions': [second]})
        result = self.run_cli('region', 'list', '-f', 'value')
        self.assertEqual('u-1 r1 one\nu-2 r2 two\n', result.stdout)
        out = self.run_json('region', 'list')
        # json gives every field of every item.
        self.assertEqual([first, second], out)

    def test_list_long_and_columns(self):
        self.api.get(self.url('/v1/regions'),
                     json={'regions': [base.region(variables={'a': 1})]})
        result = self.run_cli('region', 'list', '--long')
        self.assertIn('variables', result.stdout)
        self.assertIn('project_id', result.stdout)
        result = self.run_cli('region', 'list', '-f', 'value', '-c', 'name',
                              '-c', 'project_id')
        self.assertEqual('r1 default\n', result.stdout)

    def test_columns_come_in_the_order_asked(self):
        region = base.region()
        self.api.get(self.url('/v1/regions'), json={'regions': [region]})
        result = self.run_cli('region', 'list', '-f', 'csv', '-c', 'name',
                              '-c', 'uuid')
        self.assertEqual(['"name","uuid"', '"r1","%s"' % region['uuid']],
                         result.stdout.splitlines())
        self.api.get(self.url('/v1/regions/r1'), json=region)
        result = self.run_cli('region', 'show', 'r1', '-f', 'value', '-c',
                              'project_id', '-c', 'uuid', '-c', 'name')
        self.assertEqual('default\n%s\nr1\n' % region['uuid'],
                         result.stdout)

    def test_list_name_filter_and_all_projects(self):
        self.api.get(self.url('/v1/regions'), json={'regions': []})
        self.run_json('region', 'list', '--name', 'r1', '--all-projects')
        self.assertEqual({'name': ['r1'], 'all_projects': ['true']},
                         self.api.last_request.qs)

    def test_set_patches_only_what_changed(self):
        current = base.region(variables={'keep': 1, 'old': 2, 'over': 3})
        self.api.get(self.url('/v1/regions/r1'), json=current)
        self.api.patch(self.url('/v1/regions/' + current['uuid']),
                       json=current)
        self.run_json('region', 'set', 'r1', '--description', 'd',
                      '--var', 'over=[1]', '--var', 'a/b~c=x',
                      '--unset-var', 'old', '--unset-var', 'absent')
        request = self.api.last_request
        self.assertEqual('PATCH', request.method)
        self.assertEqual('application/json-patch+json',
                         request.headers['Content-Type'])
        self.assertEqual([
            {'op': 'replace', 'path': '/description', 'value': 'd'},
            {'op': 'add', 'path': '/variables/over', 'value': [1]},
            {'op': 'add', 'path': '/variables/a~1b~0c', 'value': 'x'},
            {'op': 'remove', 'path': '/variables/old'},
        ], request.json())

    def test_set_nothing_prints_the_region(self):
        self.api.get(self.url('/v1/regions/r1'), json=base.region())
        out = self.run_json('region', 'set', 'r1')
        self.assertEqual('r1', out['name'])
        self.assertEqual(['GET'],
                         [r.method for r in self.api.request_history])

    def test_delete_several(self):
        self.api.delete(self.url('/v1/regions/r1'), status_code=204)
        self.api.delete(self.url('/v1/regions/r2'), status_code=204)
        result = self.run_cli('region', 'delete', 'r1', 'r2')
        self.assertEqual((0, '', ''), result[:3])
        self.assertEqual(['/v1/regions/r1', '/v1/regions/r2'],
                         [r.path for r in self.api.request_history])

    def test_delete_one_unknown_is_one_line(self):
        self.api.delete(self.url('/v1/regions/nope'), status_code=404,
                        json=base.error_body(
                            404, "Region 'nope' could not be found.",
                            request_id='req-7'))
        result = self.run_cli('region', 'delete', 'nope')
        self.assert_one_error_line(result, "Region 'nope' could not be found",
                                   '404', 'req-7')

    def test_delete_goes_on_after_a_failure(self):
        self.api.delete(self.url('/v1/regions/a'), status_code=409,
                        json=base.error_body(409, 'region a is in use'))
        self.api.delete(self.url('/v1/regions/b'), status_code=204)
        self.api.delete(self.url('/v1/regions/c'), status_code=404,
                        json=base.error_body(404, 'no region c'))
        result = self.run_cli('region', 'delete', 'a', 'b', 'c')
        self.assertEqual(1, result.rc)
        self.assertEqual(3, len(self.api.request_history))
        lines = result.stderr.splitlines()
        self.assertEqual(3, len(lines), result.stderr)
        self.assertIn('region a is in use (HTTP 409)', lines[0])
        self.assertIn('no region c (HTTP 404)', lines[1])
        self.assertIn('2 of 3 regions could not be deleted', lines[2])


class TestCell(base.ShellTestCase):

    def test_create_needs_region(self):
        result = self.run_cli('cell', 'create', 'c1')
        self.assertEqual(2, result.rc)
        self.assertIn('--region', result.stderr)

    def test_create(self):
        cell = dict(base.region('c1'), region='r1')
        self.api.post(self.url('/v1/cells'), status_code=201, json=cell)
        out = self.run_json('cell', 'create', 'c1', '--region', 'r1',
                            '--var', 'k=v')
        self.assertEqual({'name': 'c1', 'region': 'r1',
                          'variables': {'k': 'v'}}, self.sent())
        self.assertEqual('r1', out['region'])

    def test_list_filters(self):
        self.api.get(self.url('/v1/cells'), json={'cells': [
            dict(base.region('c1'), region='r1')]})
        result = self.run_cli('cell', 'list', '--region', 'r1', '-f',
                              'value')
        self.assertEqual({'region': ['r1']}, self.api.last_request.qs)
        self.assertIn('c1 r1', result.stdout)

    def test_set_and_show_and_delete(self):
        cell = dict(base.region('c1'), region='r1', variables=None)
        self.api.get(self.url('/v1/cells/c1'), json=cell)
        self.api.patch(self.url('/v1/cells/' + cell['uuid']), json=cell)
        self.run_json('cell', 'set', 'c1', '--name', 'c2', '--var', 'a=1')
        # A resource without variables gets the object first.
        self.assertEqual([
            {'op': 'replace', 'path': '/name', 'value': 'c2'},
            {'op': 'add', 'path': '/variables', 'value': {}},
            {'op': 'add', 'path': '/variables/a', 'value': 1},
        ], self.sent())
        self.assertEqual('c1', self.run_json('cell', 'show', 'c1')['name'])
        self.api.delete(self.url('/v1/cells/c1'), status_code=204)
        self.assertEqual(0, self.run_cli('cell', 'delete', 'c1').rc)


class TestHost(base.ShellTestCase):

    def test_create(self):
        self.api.post(self.url('/v1/hosts'), status_code=201,
                      json=base.host(labels=['web', 'db']))
        out = self.run_json('host', 'create', 'h1', '--region', 'r1',
                            '--cell', 'c1', '--ip-address', '10.0.0.5',
                            '--label', 'web', '--label', 'db', '--label',
                            'web', '--var', 'role=compute')
        self.assertEqual({'name': 'h1', 'region': 'r1', 'cell': 'c1',
                          'ip_address': '10.0.0.5', 'labels': ['web', 'db'],
                          'variables': {'role': 'compute'}}, self.sent())
        self.assertEqual(['web', 'db'], out['labels'])

    def test_list_filters_repeat_label(self):
        self.api.get(self.url('/v1/hosts'), json={'hosts': [
            base.host(labels=['a', 'b'])]})
        result = self.run_cli('host', 'list', '--region', 'r1', '--cell',
                              'c1', '--label', 'a', '--label', 'b',
                              '--name', 'h1')
        self.assertEqual({'region': ['r1'], 'cell': ['c1'],
                          'label': ['a', 'b'], 'name': ['h1']},
                         self.api.last_request.qs)
        self.assertIn('a, b', result.stdout)
        self.assertIn('ip_address', result.stdout)

    def test_show_resolved(self):
        self.api.get(self.url('/v1/hosts/h1'), json=base.host())
        self.run_json('host', 'show', 'h1', '--resolved')
        self.assertEqual({'resolved': ['true']}, self.api.last_request.qs)
        self.run_json('host', 'show', 'h1')
        self.assertEqual({}, self.api.last_request.qs)

    def test_set_labels_vars_and_fields(self):
        current = base.host(labels=['a', 'b'], variables={'x': 1})
        self.api.get(self.url('/v1/hosts/h1'), json=current)
        self.api.patch(self.url('/v1/hosts/' + current['uuid']),
                       json=current)
        self.run_json('host', 'set', 'h1', '--ip-address', '10.0.0.9',
                      '--cell', 'c2', '--label', 'c', '--label', 'a',
                      '--unset-label', 'b', '--var', 'y=true',
                      '--unset-var', 'x')
        self.assertEqual([
            {'op': 'replace', 'path': '/ip_address', 'value': '10.0.0.9'},
            {'op': 'replace', 'path': '/cell', 'value': 'c2'},
            {'op': 'replace', 'path': '/labels', 'value': ['a', 'c']},
            {'op': 'add', 'path': '/variables/y', 'value': True},
            {'op': 'remove', 'path': '/variables/x'},
        ], self.sent())

    def test_delete_several(self):
        self.api.delete(self.url('/v1/hosts/h1'), status_code=204)
        self.api.delete(self.url('/v1/hosts/h2'), status_code=204)
        self.assertEqual(0, self.run_cli('host', 'delete', 'h1', 'h2').rc)
        self.assertEqual(2, self.api.call_count)
