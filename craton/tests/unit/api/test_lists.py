# SPDX-License-Identifier: Apache-2.0
"""Every list of the API, walked by ``next``: each item once, in the order
API.md prescribes (sort key, NULL lowest, then the row id), for every
allowed sort key, both directions and several page sizes; and the 400s of
the paging parameters (API.md, Basics).

The data (NULLs and ties in every sort column) and the expected orders
come from :mod:`craton.tests.unit.db.test_pagination`.
"""

import urllib.parse

from oslo_utils import uuidutils

from craton.api.controllers.v1 import jobs
from craton.tests.unit.api import base
from craton.tests.unit.db import test_pagination as data

# The DB-level test walks every page size of data.PAGE_SIZES; through the
# whole WSGI stack (about 20 ms a request) a few show the paging of each
# list: one item a page (every item is a marker once), pages that end
# exactly with the list, and one page holding everything.
PAGE_SIZES = (1, 3, data.N + 5)

# Per list, a filter that keeps the first item made and leaves out the
# second.
FILTERS = {
    'regions': 'name=' + data._name('r', 0),
    'cells': 'name=' + data._name('c', 0),
    'hosts': 'name=' + data._name('h', 0),
    'tasks': 'status=' + data.TASK_STATUS[0],
    'workflows': 'name=' + data._name('w', 0),
    'jobs': 'status=' + data.JOB_STATUS[0],
}


class ListsTest(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.made = data.build(self.project)
        self.other = data.build('project-b', n=3)

    def walk(self, path, field, query):
        """Follow ``next`` from ``path?query``; the UUIDs seen, in order.
        Also checks that no page is empty or larger than ``limit`` and
        that ``next`` is there exactly when more items remain.
        """
        limit = int(dict(p.split('=') for p in query.split('&'))['limit'])
        resp = self.get('%s?%s' % (path, query), status='*')
        seen = []
        for _ in range(4 * data.N + 2):
            if resp.status_int != 200:
                return seen + ['HTTP %d %s' % (resp.status_int,
                                               resp.text[:200])]
            page = resp.json[field]
            seen += [item['uuid'] for item in page]
            if not 0 < len(page) <= limit:
                return seen + ['page of %d items' % len(page)]
            if 'next' not in resp.json:
                return seen
            self.assertTrue(resp.json['next'].startswith('http://'))
            resp = self.app.get(resp.json['next'], headers=self.headers(),
                                expect_errors=True)
        return seen + ['the walk does not end']

    @staticmethod
    def query(sort_key, sort_dir, limit):
        params = [('sort_key', sort_key), ('sort_dir', sort_dir),
                  ('limit', limit)]
        return '&'.join('%s=%s' % (k, v) for k, v in params
                        if v is not None)

    def test_every_list_walks_each_item_once_in_order(self):
        failures = []
        for kind, (_, _, keys) in data.LISTS.items():
            for sort_key, sort_dir in data.combinations(keys):
                want = data.expected(kind, self.project, sort_key, sort_dir)
                for limit in PAGE_SIZES:
                    query = self.query(sort_key, sort_dir, limit)
                    got = self.walk('/' + kind, kind, query)
                    if got != want:
                        failures.append((kind, query, got, want))
        self.assertEqual([], failures)

    def test_job_inventory_walks_each_host_once_in_order(self):
        path = '/jobs/%s/inventory' % self.made['job']
        snapshot = self.made['inventory']
        failures = []
        for sort_key, sort_dir in data.combinations(
                jobs.INVENTORY_SORT_KEYS):
            if sort_key == 'created_at':
                continue
            want = data.expected_inventory(snapshot, sort_key, sort_dir)
            self.assertEqual(data.N, len(set(want)))
            for limit in PAGE_SIZES:
                query = self.query(sort_key, sort_dir, limit)
                got = self.walk(path, 'hosts', query)
                if got != want:
                    failures.append((query, got, want))
        self.assertEqual([], failures)
        # By default the snapshot's own order: by name.
        self.assertEqual(
            sorted(snapshot, key=lambda h: h['name']),
            self.get(path).json['hosts'])

    def test_updated_at_walk_of_the_issue(self):
        # Six hosts, two of them changed since: only those two have an
        # updated_at. Every walk sees all six, the unchanged ones lowest.
        region = self.make_region('east')
        for i in range(6):
            self.make_host('east-%d' % i, region)
        for name in ('east-1', 'east-4'):
            self.patch('/hosts/' + name, [
                {'op': 'replace', 'path': '/ip_address',
                 'value': '10.0.1.1'}])
        for sort_dir in ('asc', 'desc'):
            for limit in (1, 4):
                got = self.walk('/hosts', 'hosts', self.query(
                    'updated_at', sort_dir, limit) + '&region=east')
                names = [self.get('/hosts/' + u).json['name'] for u in got]
                changed = ['east-1', 'east-4']
                unchanged = ['east-0', 'east-2', 'east-3', 'east-5']
                want = (unchanged + changed if sort_dir == 'asc'
                        else changed[::-1] + unchanged[::-1])
                self.assertEqual(want, names, (sort_dir, limit))

    def _lists(self):
        """(path, field, the made UUIDs of that list) for every list."""
        out = [('/' + kind, kind, kind) for kind in data.LISTS]
        out.append(('/jobs/%s/inventory' % self.made['job'], 'hosts',
                    'hosts'))
        return out

    def test_marker_not_in_the_list_is_400(self):
        stranger = uuidutils.generate_uuid()
        bad = []
        for path, _, kind in self._lists():
            other_kind = 'regions' if kind == 'hosts' else 'hosts'
            markers = [
                'not-a-uuid', stranger,
                # the same kind, another project
                self.other[kind][0],
                # another kind, the same project
                self.made[other_kind][0],
                # a name instead of a UUID
                data._name(kind[0], 0),
            ]
            for marker in markers:
                resp = self.get('%s?marker=%s' % (path, marker), status='*')
                if resp.status_int != 400 or \
                        'marker' not in resp.json['errors'][0]['detail']:
                    bad.append((path, marker, resp.status_int, resp.text))
        # A filter naming nothing: no items, yet the marker is checked.
        for path, kind in (('/hosts?region=nope', 'hosts'),
                           ('/hosts?cell=nope', 'hosts'),
                           ('/cells?region=nope', 'cells'),
                           ('/jobs?workflow=nope', 'jobs'),
                           ('/jobs?task=nope', 'jobs')):
            self.assertEqual([], self.get('%s&marker=%s' % (
                path, self.made[kind][0])).json[kind])
            for marker in (stranger, self.other[kind][0]):
                resp = self.get('%s&marker=%s' % (path, marker),
                                status='*')
                if resp.status_int != 400:
                    bad.append((path, marker, resp.status_int))
        # A host of this project that the job's snapshot does not hold.
        extra = self.make_host('not-in-the-job', self.make_region('west'))
        resp = self.get('/jobs/%s/inventory?marker=%s' % (
            self.made['job'], extra.uuid), status='*')
        if resp.status_int != 400:
            bad.append(('inventory', 'other host', resp.status_int))
        self.assertEqual([], bad)

    def test_filtered_walk_from_a_marker_the_filter_leaves_out(self):
        # The marker's item no longer matches the filter (it changed
        # since the last page): the walk goes on from its place.
        for kind, query in FILTERS.items():
            want = [u for u in data.expected(kind, self.project, None, None)
                    if u in self._matching(kind, query)]
            marker = self.made[kind][1]
            self.assertNotIn(marker, want)
            order = data.expected(kind, self.project, None, None)
            after = [u for u in want
                     if order.index(u) > order.index(marker)]
            self.assertTrue(after, kind)
            got = self.get('/%s?%s&marker=%s' % (kind, query, marker)
                           ).json[kind]
            self.assertEqual(after, [item['uuid'] for item in got], kind)

    def _matching(self, kind, query):
        return {item['uuid'] for item in
                self.get('/%s?%s' % (kind, query)).json[kind]}

    def test_sort_key_outside_the_allowed_list_is_400(self):
        bad = []
        for path, _, kind in self._lists():
            allowed = (jobs.INVENTORY_SORT_KEYS if path.startswith('/jobs/')
                       else data.LISTS[kind][2])
            for key in ('id', 'project_id', 'variables', 'labels', 'NAME',
                        'name ', 'nope', '', 'status', 'name',
                        'created_at', 'region_id', 'inventory'):
                if key in allowed:
                    continue
                resp = self.get('%s?%s' % (path, urllib.parse.urlencode(
                    {'sort_key': key})), status='*')
                if resp.status_int != 400 or \
                        'sort_key' not in resp.json['errors'][0]['detail']:
                    bad.append((path, key, resp.status_int, resp.text))
            for sort_dir in ('up', 'ASC', '', 'desc '):
                resp = self.get('%s?%s' % (path, urllib.parse.urlencode(
                    {'sort_dir': sort_dir})), status='*')
                if resp.status_int != 400 or \
                        'sort_dir' not in resp.json['errors'][0]['detail']:
                    bad.append((path, sort_dir, resp.status_int, resp.text))
        self.assertEqual([], bad)
