# SPDX-License-Identifier: Apache-2.0
"""Integer and boolean query parameters (and a step's index in a path) are
read strictly: ASCII digits only, and true/false words only.
"""

import importlib
import inspect
import pkgutil

from craton.api import controllers
from craton.tests.unit.api import base

# Integers Python's int() would take but the API must not: white space,
# signs, underscores and the digits of other scripts (Arabic-Indic,
# Devanagari, full-width), or not an integer at all.
NOT_ASCII_DIGITS = ('%201', '1%20', '%0A1', '+1', '-0', '1_0', '%D9%A1',
                    '%E0%A5%A7', '%EF%BC%91', '1.0', '0x1', '1e1', '')
# Words oslo's bool_from_string(strict=True) knows, in any case.
TRUE = ('true', 'TRUE', 'True', '1', 'yes', 'on', 't', 'Y')
FALSE = ('false', 'FALSE', 'False', '0', 'no', 'off', 'f', 'N')
NOT_BOOLEAN = ('maybe', '', '%20true', 'true%20', 'false%0A', '2', 'tru',
               'truee', '%EF%BD%94rue', 'yes!', '-1')
LISTS = ('tasks', 'workflows', 'jobs', 'regions', 'cells', 'hosts')


def exposed_functions():
    """Every WSME-exposed method of every API controller."""
    found = []
    for info in pkgutil.walk_packages(controllers.__path__,
                                      controllers.__name__ + '.'):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            for name, member in vars(cls).items():
                funcdef = getattr(member, '_wsme_definition', None)
                if funcdef is not None:
                    found.append(('%s.%s' % (cls.__name__, name), funcdef))
    return found


class TestQueryParameters(base.APITestCase):

    def setUp(self):
        super().setUp()
        self.region = self.make_region('r1', variables={'from_region': 1})
        self.host = self.make_host('h1', self.region,
                                   variables={'from_host': 2})
        self.task = self.make_task()
        self.job = self.make_job(self.task, hosts=['h1'])

    def test_no_lenient_wsme_argument_types(self):
        # WSME converts a query parameter declared int with int() and one
        # declared bool with bool() ("false" is True): parameters are text,
        # read by utils.ascii_int / utils.query_bool.
        functions = exposed_functions()
        self.assertGreater(len(functions), 20)
        lenient = [(name, arg.name) for name, funcdef in functions
                   for arg in funcdef.arguments
                   if arg.datatype in (int, bool, float)]
        self.assertEqual([], lenient)

    def test_limit_ascii_digits_only(self):
        paths = ['/%s?' % kind for kind in LISTS]
        paths.append('/jobs/%s/inventory?' % self.job.uuid)
        for path in paths:
            for value in NOT_ASCII_DIGITS:
                resp = self.get(path + 'limit=' + value, status=400)
                self.assertError(resp, 400, 'craton.invalid_parameter',
                                 ("Invalid value for 'limit'",
                                  'digits 0-9'))
            for value in ('1', '01', '1000'):
                self.get(path + 'limit=' + value)

    def test_log_offset_and_step_index_ascii_digits_only(self):
        logs = '/jobs/%s/steps/%%s/logs' % self.job.uuid
        self.get(logs % '0')
        self.get((logs % '0') + '?offset=0')
        for value in NOT_ASCII_DIGITS:
            resp = self.get((logs % '0') + '?offset=' + value, status=400)
            self.assertError(resp, 400, 'craton.invalid_parameter',
                             "Invalid value for 'offset'")
        # '٠' (Arabic-Indic zero) is not step 0.
        for value in ('%D9%A0', '%EF%BC%90', '+0', '%200', '0_0'):
            resp = self.get(logs % value, status=404)
            self.assertError(resp, 404, 'craton.job.step_not_found')

    def test_resolved(self):
        path = '/hosts/h1?resolved='
        for value in TRUE:
            self.assertEqual({'from_region': 1, 'from_host': 2},
                             self.get(path + value).json['variables'],
                             value)
        for value in FALSE:
            self.assertEqual({'from_host': 2},
                             self.get(path + value).json['variables'],
                             value)
        self.assertEqual({'from_host': 2},
                         self.get('/hosts/h1').json['variables'])
        for value in NOT_BOOLEAN:
            resp = self.get(path + value, status=400)
            self.assertError(resp, 400, 'craton.invalid_parameter',
                             ("Invalid value for 'resolved'",
                              'true or false'))

    def test_all_projects(self):
        self.make_region('theirs', project='project-b')
        for value in TRUE:
            names = {r['name'] for r in self.get(
                '/regions?all_projects=' + value).json['regions']}
            self.assertEqual({'r1', 'theirs'}, names, value)
        for value in FALSE:
            names = {r['name'] for r in self.get(
                '/regions?all_projects=' + value).json['regions']}
            self.assertEqual({'r1'}, names, value)
        for kind in LISTS:
            for value in NOT_BOOLEAN:
                resp = self.get('/%s?all_projects=%s' % (kind, value),
                                status=400)
                self.assertError(resp, 400, 'craton.invalid_parameter',
                                 ("Invalid value for 'all_projects'",
                                  'true or false'))


class TestRepeatedFilters(base.APITestCase):
    """API.md: a repeated filter means all of them."""

    def test_one_valued_filter_twice_matches_nothing(self):
        self.post('/regions', {'name': 'r1'}, status=201)
        self.post('/regions', {'name': 'r2'}, status=201)
        self.assertEqual([], self.get(
            '/regions?name=r1&name=r2').json['regions'])
        self.assertEqual(['r1'], [r['name'] for r in self.get(
            '/regions?name=r1&name=r1').json['regions']])
        self.assertEqual([], self.get(
            '/events?action=create&action=delete').json['events'])
        self.assertNotEqual([], self.get(
            '/events?action=create').json['events'])

    def test_not_a_filter_twice_is_400_naming_it(self):
        for key, values in (('limit', ('1', '2')),
                            ('sort_dir', ('asc', 'desc'))):
            resp = self.get('/regions?%s=%s&%s=%s' % (
                key, values[0], key, values[1]), status=400)
            self.assertIn(key, resp.json['errors'][0]['detail'])
