# SPDX-License-Identifier: Apache-2.0
"""Persona × endpoint → status, with the default policy."""

import itertools

from craton.tests.unit.api import base

R, M, A, N = 'reader', 'member', 'admin', 'none'


def _all(status):
    return {R: status, M: status, A: status, N: 403}


def _members(status):
    return {R: 403, M: status, A: status, N: 403}


def _admins(status):
    return {R: 403, M: 403, A: status, N: 403}


SOURCE = {'type': 'git', 'url': 'https://git.example.org/x.git'}

# (method, path template, body, expected statuses). Templates are filled
# from fresh fixtures for every persona.
TABLE = [
    ('get', '/tasks', None, _all(200)),
    ('get', '/tasks/{task}', None, _all(200)),
    ('post', '/tasks', {'name': 'new-{n}', 'source': SOURCE,
                        'command': ['x']}, _members(202)),
    ('patch', '/tasks/{task}', [{'op': 'replace', 'path': '/description',
                                 'value': 'd'}], _members(200)),
    ('delete', '/tasks/{spare_task}', None, _members(204)),
    ('post', '/tasks/{task}/approve', None, _admins(200)),
    ('post', '/tasks/{task}/reject', None, _admins(200)),
    ('post', '/tasks/{task}/rebuild', None, _members(202)),
    ('get', '/workflows', None, _all(200)),
    ('get', '/workflows/{workflow}', None, _all(200)),
    ('post', '/workflows', {'name': 'wf-new-{n}',
                            'steps': [{'task': '{task}'}]}, _members(201)),
    ('put', '/workflows/{workflow}', {'name': 'wf-put-{n}',
                                      'steps': [{'task': '{task}'}]},
     _members(200)),
    ('delete', '/workflows/{workflow}', None, _members(204)),
    ('get', '/jobs', None, _all(200)),
    ('get', '/jobs/{job}', None, _all(200)),
    ('post', '/jobs', {'task': '{task}', 'inventory': {'hosts': ['{host}']}},
     _members(202)),
    ('post', '/jobs/{job}/cancel', None, _members(202)),
    ('get', '/jobs/{job}/inventory', None, _all(200)),
    ('get', '/jobs/{job}/steps/0/logs', None, _all(200)),
]
for kind, body, patch in (
        ('regions', {'name': 'new-{n}'}, '/description'),
        ('cells', {'name': 'new-{n}', 'region': '{region}'}, '/description'),
        ('hosts', {'name': 'new-{n}', 'region': '{region}'}, '/ip_address')):
    one = kind[:-1]
    TABLE += [
        ('get', '/' + kind, None, _all(200)),
        ('get', '/%s/{%s}' % (kind, one), None, _all(200)),
        ('post', '/' + kind, body, _members(201)),
        ('patch', '/%s/{%s}' % (kind, one),
         [{'op': 'add', 'path': patch, 'value': '10.1.1.1'}], _members(200)),
        ('delete', '/%s/{spare_%s}' % (kind, one), None, _members(204)),
    ]


def _fill(value, names):
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


class TestRBAC(base.APITestCase):

    def fixtures(self, n):
        task = self.make_task('task-%d' % n)
        region = self.make_region('region-%d' % n)
        cell = self.make_cell('cell-%d' % n, region)
        host = self.make_host('host-%d' % n, region, cell)
        names = {
            'n': n, 'task': task.uuid, 'region': region.uuid,
            'cell': cell.uuid, 'host': host.uuid,
            'spare_task': self.make_task('spare-%d' % n).uuid,
            'workflow': self.make_workflow('wf-%d' % n, [task]).uuid,
            'job': self.make_job(task).uuid,
            'spare_region': self.make_region('spare-r-%d' % n).uuid,
            'spare_cell': self.make_cell('spare-c-%d' % n, region).uuid,
            'spare_host': self.make_host('spare-h-%d' % n, region).uuid,
        }
        return names

    def test_table(self):
        counter = itertools.count()
        failures = []
        for method, path, body, expected in TABLE:
            for persona, status in expected.items():
                names = self.fixtures(next(counter))
                resp = self.request(method, _fill(path, names),
                                    _fill(body, names), status='*',
                                    persona=persona)
                if resp.status_int != status:
                    failures.append('%s %s as %s: %s, expected %s' % (
                        method.upper(), path, persona, resp.status_int,
                        status))
                elif status == 403:
                    self.assertError(resp, 403, 'craton.forbidden')
        self.assertEqual([], failures)

    def test_other_project_is_404_not_403(self):
        # Admins see (and approve) any project's task by UUID: the task
        # visibility tests cover that; everything else is 404 to them too.
        names = self.fixtures(0)
        for persona in (R, M, A):
            for method, path, body, _ in TABLE:
                if '{' not in path or (persona == A and
                                       path.startswith('/tasks/')):
                    continue
                resp = self.request(method, _fill(path, names),
                                    _fill(body, names), status='*',
                                    project='project-b', persona=persona)
                self.assertEqual(404, resp.status_int,
                                 '%s %s as %s' % (method, path, persona))
