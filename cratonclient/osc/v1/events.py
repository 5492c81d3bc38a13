# SPDX-License-Identifier: Apache-2.0
"""``openstack craton event …``: the audit trail."""

import argparse

from cratonclient.osc.v1 import common


def positive_int(text):
    """argparse type of ``--limit``: an int > 0."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            'expected a whole number greater than 0, got %r' % text)
    return value


class ListEvents(common.ListCommand):
    """List who did what (oldest first); every page unless --limit."""

    default_columns = ('time', 'action', 'resource_type', 'resource_uuid',
                       'outcome', 'user_id')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--resource', metavar='UUID',
                            help='Only events of the resource of this UUID')
        parser.add_argument('--resource-type', metavar='TYPE',
                            help='Only events of this kind of resource '
                                 '(task, workflow, job, secret, host, …)')
        parser.add_argument('--action', metavar='ACTION',
                            help='Only this action (create, update, delete, '
                                 'approve, reject, run, cancel, read)')
        parser.add_argument('--user', metavar='USER_ID',
                            help='Only events of this user (its ID)')
        parser.add_argument('--limit', type=positive_int, metavar='N',
                            help='At most N events')
        parser.add_argument('--marker', metavar='UUID',
                            help='Start after the event of this UUID')
        common.add_all_projects(parser)
        return parser

    def take_action(self, parsed_args):
        items = self.craton.events.list(
            resource=parsed_args.resource,
            resource_type=parsed_args.resource_type,
            action=parsed_args.action, user=parsed_args.user,
            limit=parsed_args.limit, marker=parsed_args.marker,
            all_projects=common.all_projects(parsed_args))
        return self.listing(parsed_args, items)
