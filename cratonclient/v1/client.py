# SPDX-License-Identifier: Apache-2.0
"""The Craton API v1 client: one manager per resource over a keystoneauth1
session.

With Keystone::

    from keystoneauth1 import loading, session
    auth = loading.get_plugin_loader('password').load_from_options(...)
    craton = Client(session.Session(auth=auth))
    craton.tasks.list(status='ready')

Against a service in ``noauth`` mode (development)::

    craton = Client.noauth('http://127.0.0.1:7780')
"""

from keystoneauth1 import adapter as ksa_adapter
from keystoneauth1 import session as ksa_session

from cratonclient.v1 import events
from cratonclient.v1 import http
from cratonclient.v1 import inventory
from cratonclient.v1 import jobs
from cratonclient.v1 import secrets
from cratonclient.v1 import tasks

USER_AGENT = 'python-cratonclient'
# What the service assumes in noauth mode when a header is missing.
NOAUTH_PROJECT = 'default'
NOAUTH_USER = 'admin'
NOAUTH_ROLES = ('admin', 'member', 'reader')


class Client:
    """Craton API v1.

    :param session: a ``keystoneauth1.session.Session`` (with an auth
        plugin for Keystone, or without one for ``noauth``).
    :param endpoint_override: Craton's URL (``http://host:7780``), instead
        of the catalog's ``craton-workflow`` endpoint.
    :param interface: catalog interface (``public``, ``internal``,
        ``admin``).
    :param region_name: catalog region.
    :param additional_headers: headers sent with every request.
    :param timeout: seconds (float) every request may wait to connect and
        then for each read of the answer (default 60); None waits forever.
    """

    def __init__(self, session, endpoint_override=None, interface=None,
                 region_name=None, additional_headers=None,
                 service_type=http.SERVICE_TYPE, user_agent=USER_AGENT,
                 timeout=http.DEFAULT_TIMEOUT):
        self.adapter = ksa_adapter.Adapter(
            session, service_type=service_type, interface=interface,
            region_name=region_name, endpoint_override=endpoint_override,
            additional_headers=dict(additional_headers or {}),
            user_agent=user_agent)
        self.http = http.HTTPClient(self.adapter, timeout=timeout)
        self.regions = inventory.RegionManager(self.http)
        self.cells = inventory.CellManager(self.http)
        self.hosts = inventory.HostManager(self.http)
        self.tasks = tasks.TaskManager(self.http)
        self.workflows = jobs.WorkflowManager(self.http)
        self.jobs = jobs.JobManager(self.http)
        self.secrets = secrets.SecretManager(self.http)
        self.events = events.EventManager(self.http)

    @classmethod
    def noauth(cls, endpoint, project_id=None, user_id=None, roles=None,
               session=None, **kwargs):
        """A client for a service in ``noauth`` mode at ``endpoint``.

        Identity goes in ``X-Project-Id``, ``X-User-Id`` and ``X-Roles``,
        defaulting as the service does (project ``default``, user
        ``admin``, roles ``admin,member,reader``).

        :param roles: a list of role names or a comma-separated string.
        :param session: a session without auth (one is made if None).
        """
        if isinstance(roles, str):
            roles = [r.strip() for r in roles.split(',') if r.strip()]
        headers = {
            'X-Project-Id': project_id or NOAUTH_PROJECT,
            'X-User-Id': user_id or NOAUTH_USER,
            'X-Roles': ','.join(roles or NOAUTH_ROLES),
        }
        headers.update(kwargs.pop('additional_headers', None) or {})
        return cls(session or ksa_session.Session(),
                   endpoint_override=endpoint, additional_headers=headers,
                   **kwargs)
