# SPDX-License-Identifier: Apache-2.0
"""``openstack craton region …``"""

from cratonclient.osc.v1 import common
from cratonclient.v1 import json_patch_ops


def add_set_options(parser):
    """``--name``, ``--description``, ``--var`` and ``--unset-var``: what
    ``region set`` and ``cell set`` change.
    """
    parser.add_argument('--name', help='New name')
    parser.add_argument('--description', help='New description')
    common.add_var_options(parser, unset=True)


def set_ops(current, parsed_args):
    """The JSON Patch for :func:`add_set_options`'s options."""
    ops = []
    for field in ('name', 'description'):
        value = getattr(parsed_args, field)
        if value is not None:
            ops.append(json_patch_ops.replace('/' + field, value))
    ops += json_patch_ops.variables_ops(current.get('variables'),
                                        common.vars_dict(parsed_args.vars),
                                        parsed_args.unset_vars)
    return ops


class CreateRegion(common.ShowCommand):
    """Create a region."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME', help='Region name')
        parser.add_argument('--description', help='Description')
        common.add_var_options(parser)
        return parser

    def take_action(self, parsed_args):
        body = {'name': parsed_args.name}
        if parsed_args.description is not None:
            body['description'] = parsed_args.description
        if parsed_args.vars:
            body['variables'] = common.vars_dict(parsed_args.vars)
        return self.show(self.craton.regions.create(body))


class ListRegions(common.ListCommand):
    """List regions."""

    default_columns = ('uuid', 'name', 'description')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--name', help='Only the region of this name')
        common.add_all_projects(parser)
        return parser

    def take_action(self, parsed_args):
        items = self.craton.regions.list(
            name=parsed_args.name,
            all_projects=common.all_projects(parsed_args))
        return self.listing(parsed_args, items)


class ShowRegion(common.ShowCommand):
    """Show a region."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('region', metavar='REGION',
                            help='Region (name or UUID)')
        return parser

    def take_action(self, parsed_args):
        return self.show(self.craton.regions.get(parsed_args.region))


class SetRegion(common.ShowCommand):
    """Change a region's name, description or variables."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('region', metavar='REGION',
                            help='Region (name or UUID)')
        add_set_options(parser)
        return parser

    def take_action(self, parsed_args):
        regions = self.craton.regions
        current = regions.get(parsed_args.region)
        ops = set_ops(current, parsed_args)
        return self.show(regions.update(current['uuid'], ops) if ops
                         else current)


class DeleteRegion(common.DeleteCommand):
    """Delete regions."""

    kind = 'region'
    manager = 'regions'
