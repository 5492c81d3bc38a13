# SPDX-License-Identifier: Apache-2.0
"""Rules for /v1/workflows."""

from oslo_policy import policy

from craton.common.policy import base

_PATH = '/v1/workflows'
_ONE = _PATH + '/{workflow_id}'


def _rule(name, check_str, description, method, path):
    return policy.DocumentedRuleDefault(
        name='craton:workflow:%s' % name, check_str=check_str,
        description=description, scope_types=base.SCOPE_TYPES,
        operations=[{'method': method, 'path': path}])


rules = [
    _rule('list', base.PROJECT_READER, 'List the workflows of a project.',
          'GET', _PATH),
    _rule('list_all_projects', base.ADMIN,
          'List the workflows of every project (?all_projects=true).',
          'GET', _PATH + '?all_projects=true'),
    _rule('get', base.PROJECT_READER, 'Show a workflow.', 'GET', _ONE),
    _rule('create', base.PROJECT_MEMBER, 'Create a workflow.', 'POST',
          _PATH),
    _rule('update', base.PROJECT_MEMBER,
          'Replace a workflow (name, description, variables, steps).',
          'PUT', _ONE),
    _rule('delete', base.PROJECT_MEMBER, 'Delete a workflow.', 'DELETE',
          _ONE),
]


def list_rules():
    return rules
