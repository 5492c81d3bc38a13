"""Request context: who is calling, for which project."""

from oslo_context import context


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


def get_admin_context():
    """A context for the service itself, seeing every project."""
    return RequestContext(is_admin=True, all_projects=True, roles=['admin'],
                          overwrite=False)
