"""Personas shared by every resource's rules.

Roles imply each other as Keystone's default implied roles do: ``admin``
is also ``member``, ``member`` is also ``reader``. Every rule also demands
that the target belongs to the caller's project (the objects already scope
their queries; the check keeps policy honest on its own).
"""

RULE_PROJECT = 'project_id:%(project_id)s'

READER = 'role:reader or role:member or role:admin'
MEMBER = 'role:member or role:admin'
ADMIN = 'role:admin'

PROJECT_READER = '(%s) and %s' % (READER, RULE_PROJECT)
PROJECT_MEMBER = '(%s) and %s' % (MEMBER, RULE_PROJECT)
PROJECT_ADMIN = '%s and %s' % (ADMIN, RULE_PROJECT)

SCOPE_TYPES = ['project']
