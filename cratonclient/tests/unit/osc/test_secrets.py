# SPDX-License-Identifier: Apache-2.0
"""``openstack craton secret …`` against a fake API: values go out as
given, and never come back out (output, errors, ``--debug``).
"""

import io
import json
import logging
import os

import fixtures

from cratonclient.tests.unit import base

UUID = '66666666-6666-4666-8666-666666666666'
# What no output may ever hold.
VALUE = 'p@ss-Wörd\twith "quotes" and a newline\n'
METADATA = ('uuid', 'name', 'description', 'project_id', 'user_id',
            'created_at', 'updated_at')


def secret(name='cloud-admin', **kw):
    out = {'uuid': UUID, 'name': name, 'description': None,
           'project_id': 'default', 'user_id': 'admin',
           'created_at': '2026-11-26T18:00:00+00:00', 'updated_at': None,
           'links': [{'rel': 'self',
                      'href': base.ENDPOINT + '/v1/secrets/' + UUID}]}
    out.update(kw)
    return out


class SecretTestCase(base.ShellTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def value_file(self, data, name='value'):
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def stdin(self, data):
        """The next command's standard input holds ``data`` (bytes)."""
        self.useFixture(fixtures.MonkeyPatch(
            'sys.stdin', io.TextIOWrapper(io.BytesIO(data),
                                          encoding='utf-8')))

    def assert_no_value(self, result, value=VALUE):
        for text in (result.stdout, result.stderr):
            self.assertNotIn(value, text)
            self.assertNotIn(json.dumps(value), text)
            self.assertNotIn(json.dumps(value)[1:-1], text)


class TestCreate(SecretTestCase):

    def setUp(self):
        super().setUp()
        self.api.post(self.url('/v1/secrets'), status_code=201,
                      json=secret(description='admin of the cloud'))

    def test_value_file_bytes_as_they_are(self):
        path = self.value_file(VALUE.encode('utf-8'))
        out = self.run_json('secret', 'create', 'cloud-admin',
                            '--value-file', path, '--description',
                            'admin of the cloud')
        # The final newline is part of the value.
        self.assertEqual({'name': 'cloud-admin', 'value': VALUE,
                          'description': 'admin of the cloud'}, self.sent())
        self.assertEqual('application/json',
                         self.api.last_request.headers['Content-Type'])
        self.assertEqual(UUID, out['uuid'])
        self.assertNotIn('value', out)

    def test_value_stdin(self):
        self.stdin(b'  token with spaces  \r\n\n')
        result = self.run_cli('secret', 'create', 'tok', '--value-stdin')
        self.assertEqual(0, result.rc, result.stderr)
        self.assertEqual({'name': 'tok',
                          'value': '  token with spaces  \r\n\n'},
                         self.sent())
        self.assertNotIn('token with spaces', result.stdout)

    def test_prints_metadata_only(self):
        # Even a service that (wrongly) answered with the value: not shown.
        self.api.post(self.url('/v1/secrets'), status_code=201,
                      json=secret(value=VALUE))
        path = self.value_file(VALUE.encode('utf-8'))
        for fmt in ('table', 'json', 'yaml', 'value', 'shell'):
            result = self.run_cli('secret', 'create', 'cloud-admin',
                                  '--value-file', path, '-f', fmt)
            self.assertEqual(0, result.rc, result.stderr)
            self.assertIn('cloud-admin', result.stdout)
            self.assert_no_value(result)
        out = self.run_json('secret', 'create', 'cloud-admin',
                            '--value-file', path)
        self.assertEqual(set(METADATA) | {'links'}, set(out))

    def test_one_source_required(self):
        path = self.value_file(b'abcd')
        self.assertEqual(2, self.run_cli('secret', 'create', 's').rc)
        self.assertEqual(2, self.run_cli('secret', 'create', 's',
                                         '--value-file', path,
                                         '--value-stdin').rc)
        # No --value option: a value is never a command-line argument.
        self.assertEqual(2, self.run_cli('secret', 'create', 's',
                                         '--value', 'abcd').rc)
        self.assertFalse(self.api.called)

    def test_bytes_that_are_not_utf8_are_refused_before_sending(self):
        path = self.value_file(b'abc\xff\xfedef')
        result = self.run_cli('secret', 'create', 's', '--value-file', path)
        self.assert_one_error_line(result, path, 'not UTF-8', 'offset 3')
        self.assertNotIn('abc', result.stderr)
        self.assertNotIn('\\xff', result.stderr)
        self.stdin(b'\xc3(')
        result = self.run_cli('secret', 'create', 's', '--value-stdin')
        self.assert_one_error_line(result, 'standard input', 'not UTF-8',
                                   'offset 0')
        self.assertFalse(self.api.called)

    def test_unreadable_file(self):
        result = self.run_cli('secret', 'create', 's', '--value-file',
                              os.path.join(self.tmp, 'missing'))
        self.assert_one_error_line(result, 'cannot read', 'missing')
        self.assertFalse(self.api.called)

    def test_api_refusal_is_one_line_without_the_value(self):
        self.api.post(self.url('/v1/secrets'), status_code=409,
                      json=base.error_body(
                          409, "secret 'cloud-admin' already exists",
                          request_id='req-dup'))
        path = self.value_file(VALUE.encode('utf-8'))
        result = self.run_cli('secret', 'create', 'cloud-admin',
                              '--value-file', path)
        self.assert_one_error_line(result, 'already exists', '409',
                                   'req-dup')
        self.assert_no_value(result)

    def test_debug_masks_the_value(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        path = self.value_file(VALUE.encode('utf-8'))
        result = self.run_cli('--debug', 'secret', 'create', 'cloud-admin',
                              '--value-file', path)
        self.assertEqual(0, result.rc, result.stderr)
        self.assert_no_value(result)
        for text in (logs.output, result.stderr):
            self.assertNotIn(json.dumps(VALUE)[1:-1], text)
            self.assertNotIn('Wörd', text)
            self.assertNotIn('W\\u00f6rd', text)
        # The request is logged, with the value masked.
        self.assertIn('REQ: POST %s' % self.url('/v1/secrets'),
                      result.stderr)
        self.assertIn('"value": "***"', result.stderr)
        self.assertIn('"name": "cloud-admin"', result.stderr)
        self.assertIn('RESP: [201]', result.stderr)


class TestOthers(SecretTestCase):

    def test_list_shows_metadata(self):
        other = secret('bmc', uuid='77777777-7777-4777-8777-777777777777',
                       description='BMC password')
        self.api.get(self.url('/v1/secrets'),
                     json={'secrets': [secret(), other]})
        result = self.run_cli('secret', 'list', '-f', 'value')
        self.assertEqual('%s cloud-admin None\n%s bmc BMC password\n' % (
            UUID, other['uuid']), result.stdout)
        out = self.run_json('secret', 'list', '--long')
        self.assertEqual(['cloud-admin', 'bmc'], [s['name'] for s in out])
        for item in out:
            self.assertTrue(set(METADATA) <= set(item))
            self.assertNotIn('value', item)
        self.run_json('secret', 'list', '--all-projects')
        self.assertEqual({'all_projects': ['true']},
                         self.api.last_request.qs)

    def test_list_drops_a_value_the_service_sent(self):
        self.api.get(self.url('/v1/secrets'),
                     json={'secrets': [secret(value=VALUE)]})
        for fmt in ('json', 'value', 'csv', 'yaml'):
            result = self.run_cli('secret', 'list', '--long', '-f', fmt)
            self.assertEqual(0, result.rc, result.stderr)
            self.assert_no_value(result)

    def test_show(self):
        self.api.get(self.url('/v1/secrets/cloud-admin'),
                     json=secret(value=VALUE))
        out = self.run_json('secret', 'show', 'cloud-admin')
        self.assertEqual(set(METADATA) | {'links'}, set(out))
        result = self.run_cli('secret', 'show', 'cloud-admin')
        self.assertIn('cloud-admin', result.stdout)
        self.assert_no_value(result)

    def test_show_unknown_is_one_line(self):
        self.api.get(self.url('/v1/secrets/nope'), status_code=404,
                     json=base.error_body(404, "Secret 'nope' could not be "
                                               "found.", request_id='req-n'))
        result = self.run_cli('secret', 'show', 'nope')
        self.assert_one_error_line(result, "Secret 'nope'", '404', 'req-n')

    def test_set_puts_the_new_value(self):
        self.api.put(self.url('/v1/secrets/cloud-admin'),
                     json=secret(updated_at='2026-11-27T08:00:00+00:00'))
        path = self.value_file(b'rotated value\n')
        out = self.run_json('secret', 'set', 'cloud-admin', '--value-file',
                            path)
        self.assertEqual('PUT', self.api.last_request.method)
        self.assertEqual({'value': 'rotated value\n'}, self.sent())
        self.assertEqual('2026-11-27T08:00:00+00:00', out['updated_at'])
        self.assertNotIn('value', out)
        self.stdin(b'from stdin')
        self.run_json('secret', 'set', 'cloud-admin', '--value-stdin')
        self.assertEqual({'value': 'from stdin'}, self.sent())
        self.assertEqual(2, self.run_cli('secret', 'set', 'cloud-admin').rc)

    def test_set_answered_without_a_body_shows_the_secret(self):
        self.api.put(self.url('/v1/secrets/cloud-admin'), status_code=204)
        self.api.get(self.url('/v1/secrets/cloud-admin'), json=secret())
        path = self.value_file(b'rotated')
        out = self.run_json('secret', 'set', 'cloud-admin', '--value-file',
                            path)
        self.assertEqual(UUID, out['uuid'])
        self.assertEqual(['PUT', 'GET'],
                         [r.method for r in self.api.request_history])

    def test_set_debug_masks_the_value(self):
        self.api.put(self.url('/v1/secrets/cloud-admin'), json=secret())
        self.stdin(VALUE.encode('utf-8'))
        logs = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        result = self.run_cli('--debug', 'secret', 'set', 'cloud-admin',
                              '--value-stdin')
        self.assertEqual(0, result.rc, result.stderr)
        self.assert_no_value(result)
        self.assertNotIn('Wörd', logs.output)
        self.assertNotIn('W\\u00f6rd', logs.output)
        self.assertIn('"value": "***"', result.stderr)

    def test_delete(self):
        for name in ('a', 'b'):
            self.api.delete(self.url('/v1/secrets/' + name), status_code=204)
        self.assertEqual(0, self.run_cli('secret', 'delete', 'a', 'b').rc)
        self.api.delete(self.url('/v1/secrets/used'), status_code=409,
                        json=base.error_body(
                            409, "secret 'used' is used by workflow 'w'"))
        result = self.run_cli('secret', 'delete', 'used')
        self.assert_one_error_line(result, "used by workflow 'w'", '409')
