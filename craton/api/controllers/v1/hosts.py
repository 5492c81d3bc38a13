# SPDX-License-Identifier: Apache-2.0
"""``/v1/hosts``: a host belongs to a region and maybe to one of its
cells; ``?resolved=true`` shows its variables resolved region → cell →
host.
"""


from craton.api.controllers import base
from craton.api.controllers.v1 import cells
from craton.api.controllers.v1 import collection
from craton.api.controllers.v1 import field_patch
from craton.api.controllers.v1 import types
from craton.api.controllers.v1 import utils
from craton.api import inventory_resolve
from craton.common import exception
from craton.objects import inventory

FIELDS = ('uuid', 'name', 'project_id', 'ip_address', 'region',
          'region_uuid', 'cell', 'cell_uuid', 'labels', 'variables',
          'created_at', 'updated_at')
PATCHABLE = ('name', 'ip_address', 'region', 'cell', 'labels', 'variables')
SORT_KEYS = ('created_at', 'updated_at', 'name', 'uuid')


def host_view(host, resolver=None):
    out = utils.view(host, FIELDS, 'hosts')
    out['labels'] = out['labels'] or []
    if resolver is not None:
        out['variables'] = resolver.variables(host)
    else:
        out['variables'] = out['variables'] or {}
    return out


def _cell_ref(ident, region):
    """A cell named in a body: it must exist and belong to ``region``."""
    if ident is None:
        return None
    try:
        cell = inventory.Cell.get(utils.context(), ident)
    except exception.CellNotFound:
        raise utils.invalid('cell', "cell '%s' does not exist in this "
                            "project" % ident)
    if cell.region_id != region.id:
        raise utils.invalid('cell', "cell '%s' belongs to region '%s', not "
                            "to region '%s'" % (cell.name, cell.region,
                                                region.name))
    return cell


def _checked(values):
    region_ident = values.get('region')
    if not isinstance(region_ident, str) or not region_ident:
        raise utils.invalid('region', 'is required: a region UUID or name')
    cell_ident = values.get('cell')
    if cell_ident is not None and not isinstance(cell_ident, str):
        raise utils.invalid('cell', 'must be a cell UUID or name, or null')
    region = cells.region_ref(region_ident)
    cell = _cell_ref(cell_ident, region)
    return {'name': utils.check_name(values.get('name')),
            'ip_address': utils.check_ip(values.get('ip_address')),
            'labels': sorted(set(utils.check_strings(values.get('labels'),
                                                     'labels'))),
            'variables': utils.check_variables(values.get('variables')),
            'region_id': region.id,
            'cell_id': cell.id if cell else None}


def get_host(ident):
    return inventory.Host.get(utils.context(), ident)


class HostsController(base.RestController):

    @types.expose(types.jsontype, types.text, types.text, types.text,
                  [types.text], types.text, types.text, types.text, types.text,
                  types.text)
    def get_all(self, name=None, region=None, cell=None, label=None,
                limit=None, marker=None, sort_key=None, sort_dir=None,
                all_projects=None):
        ctx = utils.context()
        utils.authorize('craton:host:list')
        listing = utils.list_context(all_projects, 'host')
        page = collection.Page(limit, marker, sort_key, sort_dir, SORT_KEYS)
        filters = {'name': name, 'labels': label or []}
        try:
            if region is not None:
                filters['region_id'] = inventory.Region.get(ctx, region).id
            if cell is not None:
                filters['cell_id'] = inventory.Cell.get(ctx, cell).id
        except exception.NotFound:
            # A filter naming nothing matches nothing.
            return page.nothing('hosts', inventory.Host.list, listing)
        items, more = page.fetch(inventory.Host.list, listing, filters)
        return collection.collection(
            'hosts', [host_view(h) for h in items], page, more)

    @types.expose(types.jsontype, types.text, types.text)
    def get_one(self, ident, resolved=None):
        host = get_host(ident)
        utils.authorize('craton:host:get', host)
        resolver = None
        if resolved is not None and utils.query_bool(resolved, 'resolved'):
            resolver = inventory_resolve.Resolver(utils.context())
        return host_view(host, resolver)

    @types.expose(types.jsontype, body=types.HostCreate, status_code=201)
    def post(self, body):
        ctx = utils.context()
        utils.authorize('craton:host:create')
        host = inventory.Host(ctx, project_id=ctx.project_id,
                              **_checked(body.values()))
        host.create()
        return host_view(host)

    @types.expose(types.jsontype, types.text, body=types.jsontype)
    def patch(self, ident, body):
        host = get_host(ident)
        utils.authorize('craton:host:update', host)
        field_patch.update(host, body, PATCHABLE, _checked,
                          host_view)
        return host_view(host)

    @types.expose(None, types.text, status_code=204)
    def delete(self, ident):
        host = get_host(ident)
        utils.authorize('craton:host:delete', host)
        host.destroy()
