"""Rules for /v1/tasks."""

from oslo_policy import policy

from craton.common.policy import base

_PATH = '/v1/tasks'
_ONE = _PATH + '/{task_id}'


def _rule(name, check_str, description, method, path):
    return policy.DocumentedRuleDefault(
        name='craton:task:%s' % name, check_str=check_str,
        description=description, scope_types=base.SCOPE_TYPES,
        operations=[{'method': method, 'path': path}])


rules = [
    _rule('list', base.PROJECT_READER, 'List the tasks of a project.',
          'GET', _PATH),
    _rule('get', base.PROJECT_READER, 'Show a task.', 'GET', _ONE),
    _rule('create', base.PROJECT_MEMBER,
          'Create a task (and start building its image).', 'POST', _PATH),
    _rule('update', base.PROJECT_MEMBER,
          'Change a task with a JSON Patch.', 'PATCH', _ONE),
    _rule('delete', base.PROJECT_MEMBER,
          'Delete a task and its images.', 'DELETE', _ONE),
    _rule('approve', base.PROJECT_ADMIN,
          'Approve a ready task so that jobs may run its image.', 'POST',
          _ONE + '/approve'),
    _rule('reject', base.PROJECT_ADMIN, 'Reject a task.', 'POST',
          _ONE + '/reject'),
    _rule('rebuild', base.PROJECT_MEMBER, "Rebuild a task's image.",
          'POST', _ONE + '/rebuild'),
    _rule('upload_source', base.PROJECT_MEMBER,
          "Upload a task's source archive (a gzipped tar of its directory) "
          'and build it.', 'PUT', _ONE + '/source'),
]


def list_rules():
    return rules
