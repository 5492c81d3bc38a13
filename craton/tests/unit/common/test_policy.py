# SPDX-License-Identifier: Apache-2.0
"""Policy in code: the rules and the personas."""

from oslo_policy import policy as oslo_policy

from craton.common import context
from craton.common import exception
from craton.common import policy
from craton.tests import base

RESOURCES = {
    'task': ('get', 'list', 'create', 'update', 'delete', 'approve',
             'reject', 'rebuild', 'upload_source', 'list_all_projects',
             'get_any_project', 'update_visibility'),
    'workflow': ('get', 'list', 'create', 'update', 'delete',
                 'list_all_projects'),
    'job': ('get', 'list', 'create', 'cancel', 'logs', 'inventory',
            'list_all_projects'),
    'region': ('get', 'list', 'create', 'update', 'delete',
               'list_all_projects'),
    'cell': ('get', 'list', 'create', 'update', 'delete',
             'list_all_projects'),
    'host': ('get', 'list', 'create', 'update', 'delete',
             'list_all_projects'),
    'event': ('get', 'list', 'list_all_projects'),
    'secret': ('get', 'list', 'create', 'update', 'delete',
               'list_all_projects'),
}
READS = ('get', 'list', 'logs', 'inventory')
ADMIN_ONLY = ('craton:task:approve', 'craton:task:reject',
              'craton:task:get_any_project', 'craton:task:update_visibility'
              ) + tuple('craton:%s:list_all_projects' % kind
                        for kind in RESOURCES)


class TestPolicy(base.TestCase):

    def setUp(self):
        super().setUp()
        policy.reset()
        self.addCleanup(policy.reset)

    def ctx(self, *roles, project='p1'):
        return context.RequestContext(project_id=project, user_id='u',
                                      roles=list(roles))

    def test_rules_are_documented(self):
        rules = policy.list_rules()
        names = {r.name for r in rules}
        expected = {'craton:%s:%s' % (kind, action)
                    for kind, actions in RESOURCES.items()
                    for action in actions}
        self.assertEqual(expected, names)
        for rule in rules:
            self.assertIsInstance(rule, oslo_policy.DocumentedRuleDefault)
            self.assertEqual(['project'], rule.scope_types)
            self.assertTrue(rule.operations)
            self.assertTrue(rule.description)

    def test_enforcer_entry_point(self):
        enforcer = policy.get_enforcer()
        self.assertIs(enforcer, policy.get_enforcer())
        self.assertIn('craton:task:get', enforcer.registered_rules)

    def test_personas(self):
        personas = {'reader': ('reader',), 'member': ('member',),
                    'admin': ('admin',), 'other': ('other',)}
        for rule in policy.list_rules():
            action = rule.name.rsplit(':', 1)[1]
            for persona, roles in personas.items():
                if persona == 'other':
                    allowed = False
                elif rule.name in ADMIN_ONLY:
                    allowed = persona == 'admin'
                elif action in READS:
                    allowed = True
                else:
                    allowed = persona in ('member', 'admin')
                ctx = self.ctx(*roles)
                if allowed:
                    self.assertTrue(policy.authorize(rule.name, ctx),
                                    '%s as %s' % (rule.name, persona))
                else:
                    self.assertRaises(exception.Forbidden, policy.authorize,
                                      rule.name, ctx)

    def test_other_project_target(self):
        member, reader = self.ctx('member'), self.ctx('reader')
        for ctx in (member, reader):
            self.assertRaises(exception.Forbidden, policy.authorize,
                              'craton:task:get', ctx, {'project_id': 'p2'})
            self.assertTrue(policy.authorize('craton:task:get', ctx,
                                             {'project_id': 'p1'}))
            # A task its admins made visible to the caller: seen, not
            # changed.
            shown = {'project_id': 'p2', 'shared_with_caller': True}
            self.assertTrue(policy.authorize('craton:task:get', ctx, shown))
            for rule in ('update', 'delete', 'rebuild', 'upload_source',
                         'approve', 'update_visibility'):
                self.assertRaises(exception.Forbidden, policy.authorize,
                                  'craton:task:' + rule, ctx, shown)
        self.assertRaises(exception.Forbidden, policy.authorize,
                          'craton:task:get', self.ctx('other'),
                          {'project_id': 'p2', 'shared_with_caller': True})
        # Admins see and approve any project's task, and change none.
        admin = self.ctx('admin')
        for rule in ('get', 'approve', 'reject'):
            self.assertTrue(policy.authorize('craton:task:' + rule, admin,
                                             {'project_id': 'p2'}))
        for rule in ('update', 'update_visibility', 'delete', 'rebuild'):
            self.assertRaises(exception.Forbidden, policy.authorize,
                              'craton:task:' + rule, admin,
                              {'project_id': 'p2'})
        self.assertRaises(exception.Forbidden, policy.authorize,
                          'craton:workflow:get', admin, {'project_id': 'p2'})

    def test_forbidden_names_the_rule(self):
        exc = self.assertRaises(exception.Forbidden, policy.authorize,
                                'craton:task:approve', self.ctx('member'))
        self.assertEqual(403, exc.code)
        self.assertIn('craton:task:approve', str(exc))

    def test_config_read_at_call_time(self):
        # An operator's override is picked up by a new enforcer.
        enforcer = policy.get_enforcer()
        enforcer.set_rules(oslo_policy.Rules.from_dict(
            {'craton:task:approve': 'role:member'}), overwrite=False)
        self.assertTrue(policy.authorize('craton:task:approve',
                                         self.ctx('member')))
        policy.reset()
        self.assertRaises(exception.Forbidden, policy.authorize,
                          'craton:task:approve', self.ctx('member'))
