# SPDX-License-Identifier: Apache-2.0
"""``/v1/regions``."""


from craton.api.controllers import base
from craton.api.controllers.v1 import collection
from craton.api.controllers.v1 import field_patch
from craton.api.controllers.v1 import types
from craton.api.controllers.v1 import utils
from craton.objects import inventory

FIELDS = ('uuid', 'name', 'project_id', 'description', 'variables',
          'created_at', 'updated_at')
PATCHABLE = ('name', 'description', 'variables')
SORT_KEYS = ('created_at', 'updated_at', 'name', 'uuid')


def region_view(region):
    out = utils.view(region, FIELDS, 'regions')
    out['variables'] = out['variables'] or {}
    return out


def _checked(values):
    return {'name': utils.check_name(values.get('name')),
            'description': utils.check_description(values.get('description')),
            'variables': utils.check_variables(values.get('variables'))}


def get_region(ident):
    return inventory.Region.get(utils.context(), ident)


class RegionsController(base.RestController):

    @types.expose(types.jsontype, types.text, types.text, types.text,
                  types.text, types.text, types.text)
    def get_all(self, name=None, limit=None, marker=None, sort_key=None,
                sort_dir=None, all_projects=None):
        utils.authorize('craton:region:list')
        listing = utils.list_context(all_projects, 'region')
        page = collection.Page(limit, marker, sort_key, sort_dir, SORT_KEYS)
        items, more = page.fetch(inventory.Region.list, listing,
                                 {'name': name})
        return collection.collection(
            'regions', [region_view(r) for r in items], page, more)

    @types.expose(types.jsontype, types.text)
    def get_one(self, ident):
        region = get_region(ident)
        utils.authorize('craton:region:get', region)
        return region_view(region)

    @types.expose(types.jsontype, body=types.RegionCreate, status_code=201)
    def post(self, body):
        ctx = utils.context()
        utils.authorize('craton:region:create')
        region = inventory.Region(ctx, project_id=ctx.project_id,
                                  **_checked(body.values()))
        region.create()
        return region_view(region)

    @types.expose(types.jsontype, types.text, body=types.jsontype)
    def patch(self, ident, body):
        region = get_region(ident)
        utils.authorize('craton:region:update', region)
        field_patch.update(region, body, PATCHABLE, _checked,
                          region_view)
        return region_view(region)

    @types.expose(None, types.text, status_code=204)
    def delete(self, ident):
        region = get_region(ident)
        utils.authorize('craton:region:delete', region)
        region.destroy()
