# SPDX-License-Identifier: Apache-2.0
"""``openstack craton workflow …`` against a fake API."""

import json
import os

import fixtures

from cratonclient.tests.unit import base


def workflow(name='maint', **kw):
    out = {'uuid': '55555555-5555-4555-8555-555555555555', 'name': name,
           'description': None, 'project_id': 'default', 'user_id': 'admin',
           'variables': {'dry_run': True},
           'steps': [{'name': 'check', 'task': 't-1', 'task_name': 'audit',
                      'variables': {'a': 1}, 'timeout': 300}],
           'created_at': '2026-11-26T18:00:00+00:00', 'updated_at': None,
           'links': []}
    out.update(kw)
    return out


class TestWorkflow(base.ShellTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.api.post(self.url('/v1/workflows'), status_code=201,
                      json=workflow())

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_create_from_steps(self):
        out = self.run_json('workflow', 'create', 'maint', '--step', 'audit',
                            '--step', 'patch=patch-now', '--description',
                            'd', '--var', 'dry_run=true')
        self.assertEqual({'name': 'maint', 'description': 'd',
                          'variables': {'dry_run': True},
                          'steps': [{'task': 'audit'},
                                    {'task': 'patch', 'name': 'patch-now'}]},
                         self.sent())
        # -f json: steps and variables are JSON values.
        self.assertEqual(workflow()['steps'], out['steps'])
        self.assertEqual({'dry_run': True}, out['variables'])

    def test_table_lists_steps_readably(self):
        result = self.run_cli('workflow', 'create', 'maint', '--step', 'a')
        self.assertIn('check: task audit (t-1), timeout 300s, a=',
                      result.stdout)

    def test_bad_step(self):
        result = self.run_cli('workflow', 'create', 'maint', '--step',
                              'audit=')
        self.assert_one_error_line(result, 'TASK=STEP_NAME')
        self.assertFalse(self.api.called)

    def test_steps_or_file(self):
        self.assertEqual(2, self.run_cli('workflow', 'create', 'm').rc)
        path = self.write('w.json', '{}')
        self.assertEqual(2, self.run_cli('workflow', 'create', 'm', '--step',
                                         'a', '--file', path).rc)

    def test_file_yaml_name_wins_options_override(self):
        path = self.write('w.yaml', """
name: from-file
description: file's
variables: {dry_run: false, keep: 1}
steps:
  - task: audit
    timeout: 60
    variables: {ports: [22]}
  - {task: patch, name: p}
""")
        self.run_json('workflow', 'create', 'maint', '--file', path,
                      '--description', 'cli', '--var', 'dry_run=true')
        self.assertEqual({
            'name': 'maint', 'description': 'cli',
            'variables': {'dry_run': True, 'keep': 1},
            'steps': [{'task': 'audit', 'timeout': 60,
                       'variables': {'ports': [22]}},
                      {'task': 'patch', 'name': 'p'}]}, self.sent())

    def test_file_json(self):
        body = {'description': 'x', 'steps': [{'task': 'audit'}]}
        path = self.write('w.json', json.dumps(body))
        self.run_json('workflow', 'create', 'maint', '--file', path)
        self.assertEqual(dict(body, name='maint'), self.sent())

    def test_bad_files(self):
        for text, words in (('- a\n- b\n', 'workflow object'),
                            ('a: [b\n', 'neither JSON nor YAML')):
            path = self.write('bad', text)
            result = self.run_cli('workflow', 'create', 'm', '--file', path)
            self.assert_one_error_line(result, path, words)
        result = self.run_cli('workflow', 'create', 'm', '--file',
                              os.path.join(self.tmp, 'missing'))
        self.assert_one_error_line(result, 'cannot read')
        self.assertFalse(self.api.called)

    def test_yaml_dates_and_times_stay_as_written(self):
        path = self.write('w.yaml', """
variables:
  when: 2024-01-01
  at: 2024-01-01 10:00:00
  iso: 2024-01-01T10:00:00Z
  window: 12:30
  sexa: 1:30.5
  quoted: '2024-01-01'
  n: 42
  f: 1.5
  hex: 0x10
steps: [{task: audit}]
""")
        self.run_json('workflow', 'create', 'm', '--file', path)
        self.assertEqual({'when': '2024-01-01', 'at': '2024-01-01 10:00:00',
                          'iso': '2024-01-01T10:00:00Z', 'window': '12:30',
                          'sexa': '1:30.5', 'quoted': '2024-01-01', 'n': 42,
                          'f': 1.5, 'hex': 16},
                         self.sent()['variables'])

    def test_files_that_do_not_make_json_are_one_line(self):
        for text in ('a: &x [*x]\n',
                     'variables: {s: !!set {a, b}}\n',
                     'variables: {b: !!binary aGVsbG8=}\n',
                     'variables: {d: !!timestamp 2024-01-01}\n',
                     'variables: {x: .inf}\n',
                     'variables: {x: .nan}\n',
                     '{"variables": {"x": NaN}}',
                     '[' * 5000 + ']' * 5000):
            path = self.write('bad.yaml', text)
            result = self.run_cli('workflow', 'create', 'm', '--file', path)
            self.assert_one_error_line(result, path)
            self.assertNotIn('Circular', result.stderr)
        self.assertFalse(self.api.called)

    def test_unknown_task_is_the_api_400(self):
        self.api.post(self.url('/v1/workflows'), status_code=400,
                      json=base.error_body(
                          400, "Invalid value for 'steps[0].task': task "
                               "'nope' does not exist", request_id='req-s'))
        result = self.run_cli('workflow', 'create', 'm', '--step', 'nope')
        self.assert_one_error_line(result, "task 'nope' does not exist",
                                   '400', 'req-s')

    def test_set_replaces_from_file_keeping_the_name(self):
        self.api.get(self.url('/v1/workflows/maint'), json=workflow())
        self.api.put(self.url('/v1/workflows/maint'), json=workflow())
        path = self.write('w.yaml', 'steps: [{task: audit}]\n')
        self.run_json('workflow', 'set', 'maint', '--file', path, '--var',
                      'x=1')
        put = self.api.last_request
        self.assertEqual('PUT', put.method)
        self.assertEqual({'name': 'maint', 'variables': {'x': 1},
                          'steps': [{'task': 'audit'}]}, put.json())
        path = self.write('w2.yaml', 'name: other\nsteps: [{task: a}]\n')
        # The file's name does not rename the workflow.
        self.run_json('workflow', 'set', 'maint', '--file', path)
        self.assertEqual('maint', self.sent()['name'])
        self.run_json('workflow', 'set', 'maint', '--file', path, '--name',
                      'third')
        self.assertEqual('third', self.sent()['name'])

    def test_set_by_uuid_keeps_the_current_name_over_the_files(self):
        uuid = workflow()['uuid']
        self.api.get(self.url('/v1/workflows/' + uuid), json=workflow())
        self.api.put(self.url('/v1/workflows/' + uuid), json=workflow())
        path = self.write('w.json', json.dumps(
            {'name': 'renamed', 'steps': [{'task': 'audit'}]}))
        self.run_json('workflow', 'set', uuid, '--file', path)
        self.assertEqual({'name': 'maint', 'steps': [{'task': 'audit'}]},
                         self.sent())

    def test_list_show_delete(self):
        self.api.get(self.url('/v1/workflows'),
                     json={'workflows': [workflow()]})
        result = self.run_cli('workflow', 'list', '-f', 'value')
        self.assertEqual('%s maint None\n' % workflow()['uuid'],
                         result.stdout)
        self.api.get(self.url('/v1/workflows/maint'), json=workflow())
        self.assertEqual('maint', self.run_json('workflow', 'show',
                                                'maint')['name'])
        self.api.delete(self.url('/v1/workflows/maint'), status_code=204)
        self.assertEqual(0, self.run_cli('workflow', 'delete', 'maint').rc)


class TestWorkflowSecrets(base.ShellTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.shown = workflow(secrets=['cloud-admin', 'bmc'], steps=[
            {'name': 'check', 'task': 't-1', 'task_name': 'audit',
             'secrets': ['ipmi']}])
        self.api.post(self.url('/v1/workflows'), status_code=201,
                      json=self.shown)

    def test_secret_options_make_the_top_level_list(self):
        out = self.run_json('workflow', 'create', 'maint', '--step',
                            'audit', '--secret', 'cloud-admin', '--secret',
                            'bmc')
        self.assertEqual({'name': 'maint', 'steps': [{'task': 'audit'}],
                          'secrets': ['cloud-admin', 'bmc']}, self.sent())
        # -f json: the API's secrets list as a JSON value.
        self.assertEqual(['cloud-admin', 'bmc'], out['secrets'])
        self.assertEqual(['ipmi'], out['steps'][0]['secrets'])

    def test_no_secret_option_sends_none(self):
        self.run_json('workflow', 'create', 'maint', '--step', 'audit')
        self.assertNotIn('secrets', self.sent())

    def test_secret_options_add_to_the_files(self):
        path = os.path.join(self.tmp, 'w.yaml')
        with open(path, 'w') as f:
            f.write('secrets: [cloud-admin]\n'
                    'steps: [{task: audit, secrets: [ipmi]}]\n')
        self.run_json('workflow', 'create', 'maint', '--file', path,
                      '--secret', 'bmc', '--secret', 'cloud-admin')
        self.assertEqual({'name': 'maint',
                          'secrets': ['cloud-admin', 'bmc'],
                          'steps': [{'task': 'audit',
                                     'secrets': ['ipmi']}]}, self.sent())
        # Without --secret the file's list goes as it is.
        self.run_json('workflow', 'create', 'maint', '--file', path)
        self.assertEqual(['cloud-admin'], self.sent()['secrets'])

    def test_set_takes_secret_options_too(self):
        self.api.put(self.url('/v1/workflows/maint'), json=self.shown)
        path = os.path.join(self.tmp, 'w.json')
        with open(path, 'w') as f:
            json.dump({'steps': [{'task': 'audit'}]}, f)
        self.run_json('workflow', 'set', 'maint', '--file', path, '--name',
                      'maint', '--secret', 'bmc')
        self.assertEqual({'name': 'maint', 'steps': [{'task': 'audit'}],
                          'secrets': ['bmc']}, self.sent())

    def test_show_displays_secrets(self):
        self.api.get(self.url('/v1/workflows/maint'), json=self.shown)
        table = self.run_cli('workflow', 'show', 'maint').stdout
        self.assertIn('cloud-admin, bmc', table)
        self.assertIn('check: task audit (t-1), secrets ipmi', table)
        value = self.run_cli('workflow', 'show', 'maint', '-f', 'value',
                             '-c', 'secrets').stdout
        self.assertEqual('["cloud-admin","bmc"]\n', value)
