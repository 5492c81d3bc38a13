# SPDX-License-Identifier: Apache-2.0
"""``openstack craton host …``"""

from cratonclient.osc.v1 import common
from cratonclient.v1 import json_patch_ops


class CreateHost(common.ShowCommand):
    """Create a host in a region (and maybe a cell)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME', help='Host name')
        parser.add_argument('--region', required=True,
                            help='Region (name or UUID)')
        parser.add_argument('--cell', help='Cell of that region (name or '
                                           'UUID)')
        parser.add_argument('--ip-address', metavar='IP',
                            help='IPv4 or IPv6 address')
        parser.add_argument('--label', dest='labels', action='append',
                            default=[], metavar='LABEL',
                            help='Add a label (repeat for more)')
        common.add_var_options(parser)
        return parser

    def take_action(self, parsed_args):
        body = {'name': parsed_args.name, 'region': parsed_args.region}
        for field in ('cell', 'ip_address'):
            if getattr(parsed_args, field) is not None:
                body[field] = getattr(parsed_args, field)
        if parsed_args.labels:
            body['labels'] = list(dict.fromkeys(parsed_args.labels))
        if parsed_args.vars:
            body['variables'] = common.vars_dict(parsed_args.vars)
        return self.show(self.craton.hosts.create(body))


class ListHosts(common.ListCommand):
    """List hosts."""

    default_columns = ('uuid', 'name', 'ip_address', 'region', 'cell',
                       'labels')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--region', help='Only hosts of this region')
        parser.add_argument('--cell', help='Only hosts of this cell')
        parser.add_argument('--label', dest='labels', action='append',
                            default=[], metavar='LABEL',
                            help='Only hosts with this label (repeat: all '
                                 'of them)')
        parser.add_argument('--name', help='Only the host of this name')
        common.add_all_projects(parser)
        return parser

    def take_action(self, parsed_args):
        items = self.craton.hosts.list(
            region=parsed_args.region, cell=parsed_args.cell,
            label=parsed_args.labels or None, name=parsed_args.name,
            all_projects=common.all_projects(parsed_args))
        return self.listing(parsed_args, items)


class ShowHost(common.ShowCommand):
    """Show a host."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='HOST', help='Host (name or UUID)')
        parser.add_argument(
            '--resolved', action='store_true',
            help='Show variables resolved region, then cell, then host, as '
                 'a job sees them')
        return parser

    def take_action(self, parsed_args):
        return self.show(self.craton.hosts.get(parsed_args.host,
                                               resolved=parsed_args.resolved))


class SetHost(common.ShowCommand):
    """Change a host's address, cell, labels or variables."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='HOST', help='Host (name or UUID)')
        parser.add_argument('--name', help='New name')
        parser.add_argument('--ip-address', metavar='IP', help='New address')
        parser.add_argument('--cell', help='Move to this cell of the host\'s '
                                           'region (name or UUID)')
        parser.add_argument('--label', dest='labels', action='append',
                            default=[], metavar='LABEL',
                            help='Add a label (repeat for more)')
        parser.add_argument('--unset-label', dest='unset_labels',
                            action='append', default=[], metavar='LABEL',
                            help='Remove a label (repeat for more)')
        common.add_var_options(parser, unset=True)
        return parser

    def take_action(self, parsed_args):
        hosts = self.craton.hosts
        current = hosts.get(parsed_args.host)
        ops = []
        for field in ('name', 'ip_address', 'cell'):
            value = getattr(parsed_args, field)
            if value is not None:
                ops.append(json_patch_ops.replace('/' + field, value))
        ops += json_patch_ops.labels_ops(current.get('labels'),
                                         parsed_args.labels,
                                         parsed_args.unset_labels)
        ops += json_patch_ops.variables_ops(current.get('variables'),
                                            common.vars_dict(parsed_args.vars),
                                            parsed_args.unset_vars)
        return self.show(hosts.update(current['uuid'], ops) if ops
                         else current)


class DeleteHost(common.DeleteCommand):
    """Delete hosts."""

    kind = 'host'
    manager = 'hosts'
