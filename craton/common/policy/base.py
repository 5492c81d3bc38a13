# SPDX-License-Identifier: Apache-2.0
"""Personas shared by every resource's rules.

Roles imply each other as Keystone's default implied roles do: ``admin``
is also ``member``, ``member`` is also ``reader``. Every rule also demands
that the target belongs to the caller's project (the objects already scope
their queries; the check keeps policy honest on its own), except where a
task of another project was made visible to the caller and where admins
act on any project's tasks.
"""

RULE_PROJECT = 'project_id:%(project_id)s'

READER = 'role:reader or role:member or role:admin'
MEMBER = 'role:member or role:admin'
ADMIN = 'role:admin'

PROJECT_READER = '(%s) and %s' % (READER, RULE_PROJECT)
PROJECT_MEMBER = '(%s) and %s' % (MEMBER, RULE_PROJECT)
PROJECT_ADMIN = '%s and %s' % (ADMIN, RULE_PROJECT)

# A task of another project that its admins made public, or shared with
# one of the caller's roles (the API puts ``shared_with_caller`` in the
# target): callers may see and use it, never act on it.
RULE_TASK_SHARED = 'True:%(shared_with_caller)s'

SCOPE_TYPES = ['project']
