# SPDX-License-Identifier: Apache-2.0
"""Bad input never gets a 500: random bodies, types and query strings
against every collection and a few resource paths (fixed seed, so a
failure reproduces). Input that is bad in itself — strings that are not
valid Unicode in a body, a key, a path segment or a query string, and JSON
nested deeper than ``[api] max_json_depth`` — must be a 400 whatever else
the request holds.
"""

import json
import random
import re

from craton.tests.unit.api import base

PATHS = ('/tasks', '/workflows', '/jobs', '/hosts', '/regions', '/cells',
         '/tasks/x', '/tasks/x/approve', '/tasks/x/rebuild', '/jobs/x',
         '/jobs/x/cancel', '/jobs/x/steps/0/logs', '/jobs/x/inventory',
         '/hosts/x', '/workflows/x')
# Percent-encoded segments that do not decode to UTF-8: a stray byte, the
# UTF-8 form of a lone surrogate, a cut-off sequence, an overlong '/'.
BAD_SEGMENTS = ('%ff', '%ED%A0%80', 'bad%ed%b0%80name', 'r%C3', '%C0%AF',
                '%80')
KEYS = ('name', 'source', 'command', 'timeout', 'steps', 'workflow', 'task',
        'inventory', 'variables', 'region', 'cell', 'labels', 'ip_address',
        'type', 'url', 'path', 'hosts', 'limit', 'ref', 'description')
BAD_KEYS = ('\ud800', 'na\udfffme', 'x \ud83d')
VALUES = (None, 0, -1, 1e308, 2 ** 70, 'x', '', [], {}, [1], {'a': None},
          True, 'a' * 5000, '../..', '\x00', '%s', ['a', 1], {'type': 'git'},
          '\U0001f600', {'\u00e9': ['\u2603']})
# Not valid Unicode: lone surrogates, alone, in text, in lists and as keys.
BAD_VALUES = ('\ud83d', 'x \ud83d', 'bad\ud800name', '\udfff', ['a', '\ud800'],
              {'\udc00': 1}, {'a': {'b': ['\ud83d']}})
QUERY = ('limit', 'marker', 'sort_key', 'sort_dir', 'status', 'label',
         'offset', 'resolved', 'name', 'region')
QVALUES = ('-1', 'abc', '0', '1001', 'name', 'desc', '%00', 'true', '',
           '%E2%98%83')
RAW = ('{', 'null', '[1,', '1', '"x"', '{"a": NaN}', '{"a": "\\ud800"',
       '["\\udc00', '{"\\"[[[[": "]]]]"}')
MAX_DEPTH = 64
LONE_SURROGATE = re.compile('[\ud800-\udfff]')


def nest(text, levels):
    """JSON ``text`` inside ``levels`` lists (written out, not recursed
    into: 20,000 levels are more than json.dumps can take).
    """
    return '[' * levels + text + ']' * levels


class BadInputTest(base.APITestCase):

    def _body(self, rnd, i):
        """A random JSON body (bytes); and whether it is bad in itself."""
        def key():
            return rnd.choice(BAD_KEYS if rnd.random() < 0.05 else KEYS)

        def value():
            return rnd.choice(BAD_VALUES if rnd.random() < 0.07 else VALUES)

        body = {key(): value() for _ in range(rnd.randint(0, 4))}
        if rnd.random() < 0.3:
            body = {'name': 'n%d' % i, 'command': value(),
                    'source': {'type': rnd.choice(('git', 'local', 'x')),
                               key(): value()}}
        # Mostly ASCII with escapes; else UTF-8, where a lone surrogate
        # becomes bytes (ED A0 80) that UTF-8 forbids.
        ascii = rnd.random() < 0.8
        text = json.dumps(body, ensure_ascii=ascii)
        bad = LONE_SURROGATE.search(json.dumps(body, ensure_ascii=False))
        if rnd.random() < 0.1:
            # Nested around the limit, or far beyond what json.loads can
            # take (it recurses), at the root or under a field.
            levels = rnd.choice((MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH,
                                 MAX_DEPTH + 1, MAX_DEPTH + 5, 20000))
            if rnd.random() < 0.5:
                text = nest(text, levels - 1)  # the body is one level
                bad = bad or levels > MAX_DEPTH
            else:
                text = '{"deep": %s}' % nest('{}', levels - 2)
                bad = levels > MAX_DEPTH
        raw = text.encode('utf-8', 'surrogatepass')
        if not ascii and rnd.random() < 0.2 and b'"x"' in raw:
            raw = raw.replace(b'"x"', b'"x\xff"', 1)  # not UTF-8 at all
            bad = True
        return raw, bool(bad)

    def test_random_requests_never_500(self):
        rnd = random.Random(20261126)
        bad_answers = []
        for i in range(2500):
            path = rnd.choice(PATHS)
            bad_path = rnd.random() < 0.05
            if bad_path:
                parts = path.split('/')
                parts[rnd.randrange(1, len(parts))] = rnd.choice(BAD_SEGMENTS)
                path = '/'.join(parts)
            method = rnd.choice(('GET', 'POST', 'PUT', 'PATCH', 'DELETE'))
            raw, bad_body = self._body(rnd, i)
            if rnd.random() < 0.1:
                raw, bad_body = rnd.choice(RAW).encode(), False
            query = ('%s=%s' % (rnd.choice(QUERY), rnd.choice(QVALUES))
                     if rnd.random() < 0.5 else '')
            bad_query = rnd.random() < 0.05
            if bad_query:
                segment = rnd.choice(BAD_SEGMENTS)
                query = rnd.choice(('%s=%s' % (rnd.choice(QUERY), segment),
                                    '%s=1' % segment,
                                    query + '&label=' + segment))
            content_type = rnd.choice(('application/json',) * 4 + (
                'application/json-patch+json',))
            resp = self.app.request(
                '/v1%s?%s' % (path, query), method=method,
                body=raw, expect_errors=True,
                headers=dict(self.headers('admin', None),
                             **{'Content-Type': content_type}))
            # A body counts where it is read: POST, PUT and PATCH (a JSON
            # Patch media type only on PATCH).
            body_read = method in ('POST', 'PUT', 'PATCH') and (
                content_type == 'application/json' or method == 'PATCH')
            must_400 = bad_path or bad_query or (bad_body and body_read)
            if resp.status_int >= 500 or (
                    resp.status_int >= 400 and 'errors' not in resp.json) or (
                    must_400 and resp.status_int != 400):
                bad_answers.append((method, path, query, raw[:100],
                                    resp.status_int))
        self.assertEqual([], bad_answers)
