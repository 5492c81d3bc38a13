"""Bad input never gets a 500: random bodies, types and query strings
against every collection and a few resource paths (fixed seed, so a
failure reproduces)."""

import json
import random

from craton.tests.unit.api import base

PATHS = ('/tasks', '/workflows', '/jobs', '/hosts', '/regions', '/cells',
         '/tasks/x', '/tasks/x/approve', '/tasks/x/rebuild', '/jobs/x',
         '/jobs/x/cancel', '/jobs/x/steps/0/logs', '/jobs/x/inventory',
         '/hosts/x', '/workflows/x')
KEYS = ('name', 'source', 'command', 'timeout', 'steps', 'workflow', 'task',
        'inventory', 'variables', 'region', 'cell', 'labels', 'ip_address',
        'type', 'url', 'path', 'hosts', 'limit', 'ref', 'description')
VALUES = (None, 0, -1, 1e308, 2 ** 70, 'x', '', [], {}, [1], {'a': None},
          True, 'a' * 5000, '../..', '\x00', '%s', ['a', 1], {'type': 'git'})
QUERY = ('limit', 'marker', 'sort_key', 'sort_dir', 'status', 'label',
         'offset', 'resolved', 'name', 'region')
QVALUES = ('-1', 'abc', '0', '1001', 'name', 'desc', '%00', 'true', '')
RAW = ('{', 'null', '[1,', '1', '"x"', '{"a": NaN}')


class BadInputTest(base.APITestCase):

    def test_random_requests_never_500(self):
        rnd = random.Random(20261126)
        bad = []
        for i in range(2500):
            path = rnd.choice(PATHS)
            method = rnd.choice(('GET', 'POST', 'PUT', 'PATCH', 'DELETE'))
            body = {rnd.choice(KEYS): rnd.choice(VALUES)
                    for _ in range(rnd.randint(0, 4))}
            if rnd.random() < 0.3:
                body = {'name': 'n%d' % i, 'command': rnd.choice(VALUES),
                        'source': {'type': rnd.choice(('git', 'local', 'x')),
                                   rnd.choice(KEYS): rnd.choice(VALUES)}}
            raw = (json.dumps(body) if rnd.random() < 0.9
                   else rnd.choice(RAW))
            query = ('%s=%s' % (rnd.choice(QUERY), rnd.choice(QVALUES))
                     if rnd.random() < 0.5 else '')
            resp = self.app.request(
                '/v1%s?%s' % (path, query), method=method,
                body=raw.encode(), expect_errors=True,
                headers=dict(self.headers('admin', None),
                             **{'Content-Type': 'application/json'}))
            if resp.status_int >= 500 or (
                    resp.status_int >= 400 and 'errors' not in resp.json):
                bad.append((method, path, query, raw[:100],
                            resp.status_int))
        self.assertEqual([], bad)
