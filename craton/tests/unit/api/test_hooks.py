# SPDX-License-Identifier: Apache-2.0
"""The request context hook: a token not scoped to a project is refused
before anything is looked up."""

import types

import testtools

from craton.api import hooks
from craton.common import exception


def state(path, **headers):
    environ = {'HTTP_X_USER_ID': 'u1', 'HTTP_X_ROLES': 'admin'}
    environ.update(('HTTP_' + k.upper(), v) for k, v in headers.items())
    return types.SimpleNamespace(request=types.SimpleNamespace(
        environ=environ, path=path))


class TestContextHook(testtools.TestCase):

    def test_unscoped_token_is_refused_on_resources(self):
        for path in ('/v1/tasks', '/v1/tasks/0b6f3c4e-6d1a-4a53-9a8e-'
                     '2f0f1b7b9c11', '/v1/jobs/x/steps/0/log'):
            exc = self.assertRaises(exception.ProjectScopeRequired,
                                    hooks.ContextHook().before, state(path))
            self.assertEqual(403, exc.code)

    def test_unscoped_token_reads_the_version_documents(self):
        for path in ('/', '/v1', '/v1/'):
            st = state(path)
            hooks.ContextHook().before(st)
            self.assertIsNone(st.request.context.project_id)

    def test_project_scoped_token_passes(self):
        st = state('/v1/tasks', x_project_id='p1')
        hooks.ContextHook().before(st)
        self.assertEqual('p1', st.request.context.project_id)
