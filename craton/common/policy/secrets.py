# SPDX-License-Identifier: Apache-2.0
"""Rules for /v1/secrets: readers see metadata, members create, replace
and delete; no rule ever shows a value (no endpoint does).
"""

from oslo_policy import policy

from craton.common.policy import base

_PATH = '/v1/secrets'
_ONE = _PATH + '/{secret_id}'


def _rule(name, check_str, description, method, path):
    return policy.DocumentedRuleDefault(
        name='craton:secret:%s' % name, check_str=check_str,
        description=description, scope_types=base.SCOPE_TYPES,
        operations=[{'method': method, 'path': path}])


rules = [
    _rule('list', base.PROJECT_READER,
          "List the secrets of a project (metadata only).", 'GET', _PATH),
    _rule('list_all_projects', base.ADMIN,
          'List the secrets of every project (?all_projects=true; '
          'metadata only).', 'GET', _PATH + '?all_projects=true'),
    _rule('get', base.PROJECT_READER, "Show a secret's metadata.", 'GET',
          _ONE),
    _rule('create', base.PROJECT_MEMBER, 'Create a secret.', 'POST', _PATH),
    _rule('update', base.PROJECT_MEMBER,
          "Replace a secret's value (and description).", 'PUT', _ONE),
    _rule('delete', base.PROJECT_MEMBER, 'Delete a secret.', 'DELETE', _ONE),
]


def list_rules():
    return rules
