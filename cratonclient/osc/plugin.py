# SPDX-License-Identifier: Apache-2.0
"""The ``openstack craton …`` plugin: the module OSC loads through the
``openstack.cli.extension`` entry point.

OSC reads ``API_NAME``, ``API_VERSION_OPTION`` and ``API_VERSIONS``, calls
:func:`build_option_parser` to add global options and :func:`make_client`
the first time a command touches ``client_manager.craton``. Commands are
found in the ``openstack.craton.v1`` entry point group.
"""

import argparse
import math
import os

from keystoneauth1 import session as ksa_session
from osc_lib import exceptions as osc_exceptions
from osc_lib import utils
from oslo_utils import importutils

from cratonclient import exceptions

API_NAME = 'craton'
API_VERSION_OPTION = 'os_craton_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = {'1': 'cratonclient.v1.client.Client'}
# Seconds every request may wait to connect, then for each read.
DEFAULT_TIMEOUT = 60.0


def timeout_seconds(text):
    """argparse type of ``--os-craton-timeout``: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            'expected a number of seconds greater than 0, got %r' % text)
    return value


def _config(instance, key, default=None):
    value = instance.get_configuration().get(key)
    return default if value in (None, '') else value


def _client_class(version):
    # osc_lib's get_client_class does this but is deprecated (it asks
    # plugins to keep their own); the class is imported only when needed.
    try:
        return importutils.import_class(API_VERSIONS[version])
    except KeyError:
        raise osc_exceptions.UnsupportedVersion(
            "Invalid %s client version '%s'. must be one of: %s"
            % (API_NAME, version, ', '.join(sorted(API_VERSIONS))))


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
    client_class = _client_class(version)
    url = _config(instance, 'craton_url')
    timeout = float(_config(instance, 'craton_timeout_seconds',
                            DEFAULT_TIMEOUT))
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
            roles=os.environ.get('OS_CRATON_ROLES'), timeout=timeout)
    return client_class(instance.session, endpoint_override=url,
                        interface=instance.interface,
                        region_name=instance.region_name, timeout=timeout)


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
    parser.add_argument(
        '--os-craton-timeout', metavar='<seconds>', type=timeout_seconds,
        # Not "..._timeout": openstack.config would fold that key into the
        # session-wide api_timeout and drop it.
        dest='os_craton_timeout_seconds',
        default=utils.env('OS_CRATON_TIMEOUT', default=DEFAULT_TIMEOUT),
        help='Seconds every Craton API request may wait to connect, and '
             'then for each read of the answer, default=%g '
             '(Env: OS_CRATON_TIMEOUT)' % DEFAULT_TIMEOUT)
    return parser
