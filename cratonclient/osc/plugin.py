"""The ``openstack craton …`` plugin: the module OSC loads through the
``openstack.cli.extension`` entry point.

OSC reads ``API_NAME``, ``API_VERSION_OPTION`` and ``API_VERSIONS``, calls
:func:`build_option_parser` to add global options and :func:`make_client`
the first time a command touches ``client_manager.craton``. Commands are
found in the ``openstack.craton.v1`` entry point group.
"""

import os

from keystoneauth1 import session as ksa_session
from osc_lib import utils

from cratonclient import exceptions

API_NAME = 'craton'
API_VERSION_OPTION = 'os_craton_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = {'1': 'cratonclient.v1.client.Client'}


def _config(instance, key, default=None):
    value = instance.get_configuration().get(key)
    return default if value in (None, '') else value


def make_client(instance):
    """A :class:`cratonclient.v1.client.Client` for this OSC invocation.

    With ``--os-auth-type none`` the client sends no token but the
    ``noauth`` identity headers (``OS_CRATON_PROJECT``,
    ``OS_CRATON_USER``, ``OS_CRATON_ROLES``) to ``--os-craton-url``,
    which is then required. Otherwise it uses OSC's Keystone session and
    finds Craton in the catalog (service type ``craton-workflow``) unless
    ``--os-craton-url`` overrides the endpoint.
    """
    version = str(_config(instance, 'craton_api_version',
                          DEFAULT_API_VERSION))
    client_class = utils.get_client_class(API_NAME, version, API_VERSIONS)
    url = _config(instance, 'craton_url')
    if _config(instance, 'auth_type') == 'none':
        if not url:
            raise exceptions.CommandError(
                'with --os-auth-type none give Craton\'s URL with '
                '--os-craton-url or OS_CRATON_URL')
        session = ksa_session.Session(verify=instance.verify,
                                      cert=instance.cert)
        return client_class.noauth(
            url, session=session,
            project_id=os.environ.get('OS_CRATON_PROJECT'),
            user_id=os.environ.get('OS_CRATON_USER'),
            roles=os.environ.get('OS_CRATON_ROLES'))
    return client_class(instance.session, endpoint_override=url,
                        interface=instance.interface,
                        region_name=instance.region_name)


def build_option_parser(parser):
    """Add Craton's global options to OSC's parser."""
    parser.add_argument(
        '--os-craton-api-version', metavar='<craton-api-version>',
        default=utils.env('OS_CRATON_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='Craton API version, default=%s (Env: OS_CRATON_API_VERSION)'
             % DEFAULT_API_VERSION)
    parser.add_argument(
        '--os-craton-url', metavar='<url>',
        default=utils.env('OS_CRATON_URL'),
        help='Craton API URL, instead of the catalog\'s craton-workflow '
             'endpoint; required with --os-auth-type none '
             '(Env: OS_CRATON_URL)')
    return parser
