# SPDX-License-Identifier: Apache-2.0
"""Rules for /v1/jobs."""

from oslo_policy import policy

from craton.common.policy import base

_PATH = '/v1/jobs'
_ONE = _PATH + '/{job_id}'


def _rule(name, check_str, description, method, path):
    return policy.DocumentedRuleDefault(
        name='craton:job:%s' % name, check_str=check_str,
        description=description, scope_types=base.SCOPE_TYPES,
        operations=[{'method': method, 'path': path}])


rules = [
    _rule('list', base.PROJECT_READER, 'List the jobs of a project.', 'GET',
          _PATH),
    _rule('list_all_projects', base.ADMIN,
          'List the jobs of every project (?all_projects=true).', 'GET',
          _PATH + '?all_projects=true'),
    _rule('get', base.PROJECT_READER, 'Show a job and its steps.', 'GET',
          _ONE),
    _rule('create', base.PROJECT_MEMBER,
          'Submit a job (run a workflow or a task on hosts).', 'POST',
          _PATH),
    _rule('cancel', base.PROJECT_MEMBER, 'Cancel an unfinished job.',
          'POST', _ONE + '/cancel'),
    _rule('inventory', base.PROJECT_READER,
          'Show the host snapshot a job was submitted with.', 'GET',
          _ONE + '/inventory'),
    _rule('logs', base.PROJECT_READER, "Read a job step's output.", 'GET',
          _ONE + '/steps/{index}/logs'),
]


def list_rules():
    return rules
