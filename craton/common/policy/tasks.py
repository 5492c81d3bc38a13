# SPDX-License-Identifier: Apache-2.0
"""Rules for /v1/tasks."""

from oslo_policy import policy

from craton.common.policy import base

_PATH = '/v1/tasks'
_ONE = _PATH + '/{task_id}'

# What admins may see of other projects: any task, by UUID, to review it.
_ANY_PROJECT = 'rule:craton:task:get_any_project'


def _rule(name, check_str, description, *operations):
    return policy.DocumentedRuleDefault(
        name='craton:task:%s' % name, check_str=check_str,
        description=description, scope_types=base.SCOPE_TYPES,
        operations=[{'method': m, 'path': p} for m, p in operations])


rules = [
    _rule('list', base.PROJECT_READER,
          "List the tasks of a project, and the tasks of other projects "
          "made visible to the caller (public, or shared with one of the "
          "caller's roles).", ('GET', _PATH)),
    _rule('list_all_projects', base.ADMIN,
          'List the tasks of every project (?all_projects=true).',
          ('GET', _PATH + '?all_projects=true')),
    _rule('get', '(%s) or ((%s) and %s) or %s' % (
              base.PROJECT_READER, base.READER, base.RULE_TASK_SHARED,
              _ANY_PROJECT),
          "Show a task of the project, or a task of another project made "
          "visible to the caller.", ('GET', _ONE)),
    _rule('get_any_project', base.ADMIN,
          "Show any project's task by UUID, whatever its visibility (to "
          "review and approve it).", ('GET', _ONE)),
    _rule('create', base.PROJECT_MEMBER,
          'Create a task (and start building its image).', ('POST', _PATH)),
    _rule('update', base.PROJECT_MEMBER,
          'Change a task with a JSON Patch.', ('PATCH', _ONE)),
    _rule('update_visibility', base.PROJECT_ADMIN,
          "Set a task's visibility (shared or public makes it visible to "
          "other projects) or its shared_roles, when creating or changing "
          'it.', ('POST', _PATH), ('PATCH', _ONE)),
    _rule('delete', base.PROJECT_MEMBER,
          'Delete a task and its images.', ('DELETE', _ONE)),
    _rule('approve', base.ADMIN,
          "Approve a ready task of any project so that jobs may run its "
          'image.', ('POST', _ONE + '/approve')),
    _rule('reject', base.ADMIN, 'Reject a task of any project.',
          ('POST', _ONE + '/reject')),
    _rule('rebuild', base.PROJECT_MEMBER, "Rebuild a task's image.",
          ('POST', _ONE + '/rebuild')),
    _rule('upload_source', base.PROJECT_MEMBER,
          "Upload a task's source archive (a gzipped tar of its directory) "
          'and build it.', ('PUT', _ONE + '/source')),
]


def list_rules():
    return rules
