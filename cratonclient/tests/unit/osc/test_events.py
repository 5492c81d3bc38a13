# SPDX-License-Identifier: Apache-2.0
"""``openstack craton event list`` against a fake API."""

import json

from cratonclient.tests.unit import base

RESOURCE = '66666666-6666-4666-8666-666666666666'


def event(n, action='create', **kw):
    out = {'uuid': '00000000-0000-4000-8000-%012d' % n,
           'time': '2026-11-26T18:00:%02d+00:00' % n,
           'project_id': 'default', 'user_id': 'admin', 'action': action,
           'resource_type': 'secret', 'resource_uuid': RESOURCE,
           'outcome': 'success', 'detail': None, 'request_id': 'req-%d' % n}
    out.update(kw)
    return out


class TestEventList(base.ShellTestCase):

    def test_filters_are_query_parameters(self):
        self.api.get(self.url('/v1/events'), json={'events': [event(1)]})
        self.run_json('event', 'list', '--resource', RESOURCE, '--action',
                      'read', '--user', 'bob', '--resource-type', 'secret',
                      '--all-projects')
        self.assertEqual({'resource': [RESOURCE], 'action': ['read'],
                          'user': ['bob'], 'resource_type': ['secret'],
                          'all_projects': ['true']},
                         self.api.last_request.qs)
        self.run_json('event', 'list')
        self.assertEqual({}, self.api.last_request.qs)

    def test_default_and_long_columns(self):
        read = event(2, 'read', detail={'job': 'j-1', 'step': 0},
                     outcome='failure')
        self.api.get(self.url('/v1/events'),
                     json={'events': [event(1), read]})
        result = self.run_cli('event', 'list', '-f', 'csv')
        rows = result.stdout.splitlines()
        self.assertEqual('"time","action","resource_type","resource_uuid",'
                         '"outcome","user_id"', rows[0])
        self.assertEqual('"2026-11-26T18:00:02+00:00","read","secret","%s",'
                         '"failure","admin"' % RESOURCE, rows[2])
        result = self.run_cli('event', 'list', '--long', '-f', 'csv')
        header = next(iter(result.stdout.splitlines()))
        for column in ('project_id', 'request_id', 'detail', 'time',
                       'outcome'):
            self.assertIn('"%s"' % column, header)
        # detail is JSON text in csv, a JSON value with -f json.
        self.assertIn('{""job"":""j-1"",""step"":0}', result.stdout)
        out = self.run_json('event', 'list')
        self.assertEqual({'job': 'j-1', 'step': 0}, out[1]['detail'])
        self.assertEqual('req-2', out[1]['request_id'])

    def test_follows_next_across_pages(self):
        nxt = self.url('/v1/events?marker=%s&page=2' % event(2)['uuid'])
        self.api.get(self.url('/v1/events'), [
            {'json': {'events': [event(1), event(2)], 'next': nxt}},
            {'json': {'events': [event(3)]}}])
        out = self.run_json('event', 'list')
        self.assertEqual([1, 2, 3], [int(e['uuid'][-3:]) for e in out])
        self.assertEqual(nxt, self.api.request_history[1].url)

    def test_limit_stops_early_and_marker_starts_after(self):
        nxt = self.url('/v1/events?limit=2&marker=x')
        self.api.get(self.url('/v1/events'), [
            {'json': {'events': [event(1), event(2)], 'next': nxt}},
            {'json': {'events': [event(3), event(4)], 'next': nxt}},
            {'json': {'events': [event(5)]}}])
        out = self.run_json('event', 'list', '--limit', '3', '--marker',
                            'm-1')
        self.assertEqual(3, len(out))
        # Two pages were enough; the first asked for no more than needed.
        self.assertEqual(2, self.api.call_count)
        self.assertEqual({'limit': ['3'], 'marker': ['m-1']},
                         self.api.request_history[0].qs)

    def test_limit_is_capped_at_the_api_page_size(self):
        self.api.get(self.url('/v1/events'), json={'events': []})
        self.assertEqual([], self.run_json('event', 'list', '--limit',
                                           '5000'))
        self.assertEqual(['1000'], self.api.last_request.qs['limit'])

    def test_bad_limit_is_a_usage_error(self):
        for value in ('0', '-1', 'many'):
            result = self.run_cli('event', 'list', '--limit', value)
            self.assertEqual(2, result.rc, value)
            self.assertIn('--limit', result.stderr)
        self.assertFalse(self.api.called)

    def test_forbidden_all_projects_is_one_line(self):
        self.api.get(self.url('/v1/events'), status_code=403,
                     json=base.error_body(403, 'all_projects is for admins',
                                          request_id='req-f'))
        result = self.run_cli('event', 'list', '--all-projects')
        self.assert_one_error_line(result, 'all_projects', '403', 'req-f')

    def test_value_format(self):
        self.api.get(self.url('/v1/events'), json={'events': [event(7)]})
        result = self.run_cli('event', 'list', '-f', 'value', '-c', 'action',
                              '-c', 'outcome')
        self.assertEqual('create success\n', result.stdout)
        self.assertEqual([event(7)], json.loads(self.run_cli(
            'event', 'list', '-f', 'json').stdout))
