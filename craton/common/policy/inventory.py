# SPDX-License-Identifier: Apache-2.0
"""Rules for /v1/regions, /v1/cells and /v1/hosts."""

from oslo_policy import policy

from craton.common.policy import base


def _rules(kind, plural):
    path = '/v1/%s' % plural
    one = '%s/{%s_id}' % (path, kind)

    def rule(name, check_str, description, method, where):
        return policy.DocumentedRuleDefault(
            name='craton:%s:%s' % (kind, name), check_str=check_str,
            description=description, scope_types=base.SCOPE_TYPES,
            operations=[{'method': method, 'path': where}])

    return [
        rule('list', base.PROJECT_READER,
             'List the %s of a project.' % plural, 'GET', path),
        rule('list_all_projects', base.ADMIN,
             'List the %s of every project (?all_projects=true).' % plural,
             'GET', path + '?all_projects=true'),
        rule('get', base.PROJECT_READER, 'Show a %s.' % kind, 'GET', one),
        rule('create', base.PROJECT_MEMBER, 'Create a %s.' % kind, 'POST',
             path),
        rule('update', base.PROJECT_MEMBER,
             'Change a %s with a JSON Patch.' % kind, 'PATCH', one),
        rule('delete', base.PROJECT_MEMBER, 'Delete a %s.' % kind,
             'DELETE', one),
    ]


def list_rules():
    return (_rules('region', 'regions') + _rules('cell', 'cells') +
            _rules('host', 'hosts'))
