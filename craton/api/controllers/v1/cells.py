# SPDX-License-Identifier: Apache-2.0
"""``/v1/cells``: a cell belongs to one region."""


from craton.api.controllers import base
from craton.api.controllers.v1 import collection
from craton.api.controllers.v1 import field_patch
from craton.api.controllers.v1 import types
from craton.api.controllers.v1 import utils
from craton.common import exception
from craton.objects import inventory

FIELDS = ('uuid', 'name', 'project_id', 'region', 'region_uuid',
          'description', 'variables', 'created_at', 'updated_at')
# Moving a cell to another region would leave its hosts behind.
PATCHABLE = ('name', 'description', 'variables')
SORT_KEYS = ('created_at', 'updated_at', 'name', 'uuid')


def cell_view(cell):
    out = utils.view(cell, FIELDS, 'cells')
    out['variables'] = out['variables'] or {}
    return out


def _checked(values):
    return {'name': utils.check_name(values.get('name')),
            'description': utils.check_description(values.get('description')),
            'variables': utils.check_variables(values.get('variables'))}


def region_ref(ident, field='region'):
    """A region named in a body: unknown is 400, naming it."""
    try:
        return inventory.Region.get(utils.context(), ident)
    except exception.RegionNotFound:
        raise utils.invalid(field, "region '%s' does not exist in this "
                            "project" % ident)


def get_cell(ident):
    return inventory.Cell.get(utils.context(), ident)


class CellsController(base.RestController):

    @types.expose(types.jsontype, types.text, types.text, types.text,
                  types.text, types.text, types.text, types.text)
    def get_all(self, name=None, region=None, limit=None, marker=None,
                sort_key=None, sort_dir=None, all_projects=None):
        utils.authorize('craton:cell:list')
        listing = utils.list_context(all_projects, 'cell')
        page = collection.Page(limit, marker, sort_key, sort_dir, SORT_KEYS)
        filters = {'name': name}
        if region is not None:
            try:
                filters['region_id'] = inventory.Region.get(
                    utils.context(), region).id
            except exception.RegionNotFound:
                return page.nothing('cells', inventory.Cell.list, listing)
        items, more = page.fetch(inventory.Cell.list, listing,
                                 filters)
        return collection.collection(
            'cells', [cell_view(c) for c in items], page, more)

    @types.expose(types.jsontype, types.text)
    def get_one(self, ident):
        cell = get_cell(ident)
        utils.authorize('craton:cell:get', cell)
        return cell_view(cell)

    @types.expose(types.jsontype, body=types.CellCreate, status_code=201)
    def post(self, body):
        ctx = utils.context()
        utils.authorize('craton:cell:create')
        values = _checked(body.values())
        region = region_ref(body.region)
        cell = inventory.Cell(ctx, project_id=ctx.project_id,
                              region_id=region.id, **values)
        cell.create()
        return cell_view(cell)

    @types.expose(types.jsontype, types.text, body=types.jsontype)
    def patch(self, ident, body):
        cell = get_cell(ident)
        utils.authorize('craton:cell:update', cell)
        field_patch.update(cell, body, PATCHABLE, _checked,
                          cell_view)
        return cell_view(cell)

    @types.expose(None, types.text, status_code=204)
    def delete(self, ident):
        cell = get_cell(ident)
        utils.authorize('craton:cell:delete', cell)
        cell.destroy()
