# SPDX-License-Identifier: Apache-2.0
"""Rules for /v1/events (the audit trail)."""

from oslo_policy import policy

from craton.common.policy import base

_PATH = '/v1/events'
_ONE = _PATH + '/{event_id}'


def _rule(name, check_str, description, method, path):
    return policy.DocumentedRuleDefault(
        name='craton:event:%s' % name, check_str=check_str,
        description=description, scope_types=base.SCOPE_TYPES,
        operations=[{'method': method, 'path': path}])


rules = [
    _rule('list', base.PROJECT_READER,
          "List the audit trail of a project (events on its resources).",
          'GET', _PATH),
    _rule('list_all_projects', base.ADMIN,
          'List the audit trail of every project (?all_projects=true).',
          'GET', _PATH + '?all_projects=true'),
    _rule('get', base.PROJECT_READER, 'Show an event of the audit trail.',
          'GET', _ONE),
]


def list_rules():
    return rules
