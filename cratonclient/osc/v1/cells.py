# SPDX-License-Identifier: Apache-2.0
"""``openstack craton cell …``"""

from cratonclient.osc.v1 import common
from cratonclient.osc.v1 import regions


class CreateCell(common.ShowCommand):
    """Create a cell in a region."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME', help='Cell name')
        parser.add_argument('--region', required=True,
                            help='Region (name or UUID)')
        parser.add_argument('--description', help='Description')
        common.add_var_options(parser)
        return parser

    def take_action(self, parsed_args):
        body = {'name': parsed_args.name, 'region': parsed_args.region}
        if parsed_args.description is not None:
            body['description'] = parsed_args.description
        if parsed_args.vars:
            body['variables'] = common.vars_dict(parsed_args.vars)
        return self.show(self.craton.cells.create(body))


class ListCells(common.ListCommand):
    """List cells."""

    default_columns = ('uuid', 'name', 'region', 'description')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--region', help='Only cells of this region '
                                             '(name or UUID)')
        parser.add_argument('--name', help='Only the cell of this name')
        common.add_all_projects(parser)
        return parser

    def take_action(self, parsed_args):
        items = self.craton.cells.list(
            region=parsed_args.region, name=parsed_args.name,
            all_projects=common.all_projects(parsed_args))
        return self.listing(parsed_args, items)


class ShowCell(common.ShowCommand):
    """Show a cell."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('cell', metavar='CELL', help='Cell (name or UUID)')
        return parser

    def take_action(self, parsed_args):
        return self.show(self.craton.cells.get(parsed_args.cell))


class SetCell(common.ShowCommand):
    """Change a cell's name, description or variables."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('cell', metavar='CELL', help='Cell (name or UUID)')
        regions.add_set_options(parser)
        return parser

    def take_action(self, parsed_args):
        cells = self.craton.cells
        current = cells.get(parsed_args.cell)
        ops = regions.set_ops(current, parsed_args)
        return self.show(cells.update(current['uuid'], ops) if ops
                         else current)


class DeleteCell(common.DeleteCommand):
    """Delete cells."""

    kind = 'cell'
    manager = 'cells'
