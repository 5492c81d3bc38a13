# SPDX-License-Identifier: Apache-2.0
"""Request context: who is calling, for which project."""

from oslo_context import context

# Keystone's default implied roles, which the default policy follows too
# (craton.common.policy.base): admin implies member, member implies reader.
_IMPLIED_ROLES = {'admin': ('member',), 'member': ('reader',)}


class RequestContext(context.RequestContext):
    """oslo.context's context plus Craton's ``all_projects`` switch.

    ``all_projects`` lets an admin (or the conductor, acting for every
    project) see resources of every project; it is off for API callers
    unless an admin asks for it and policy allows it.
    """

    def __init__(self, all_projects=False, **kwargs):
        super().__init__(**kwargs)
        self.all_projects = all_projects

    def to_dict(self):
        values = super().to_dict()
        values['all_projects'] = self.all_projects
        return values

    @classmethod
    def from_dict(cls, values, **kwargs):
        kwargs.setdefault('all_projects', values.get('all_projects', False))
        return super().from_dict(values, **kwargs)

    @property
    def scope_project(self):
        """The project queries are limited to, or None for all projects."""
        return None if self.all_projects else self.project_id

    @property
    def effective_roles(self):
        """The caller's roles plus those they imply, in lower case (role
        checks of oslo.policy ignore case too), as a sorted list: what a
        task's ``shared_roles`` are matched against.
        """
        roles, todo = set(), [r.lower() for r in self.roles or ()]
        while todo:
            role = todo.pop()
            if role not in roles:
                roles.add(role)
                todo.extend(_IMPLIED_ROLES.get(role, ()))
        return sorted(roles)


def get_admin_context():
    """A context for the service itself, seeing every project."""
    return RequestContext(is_admin=True, all_projects=True, roles=['admin'],
                          overwrite=False)
