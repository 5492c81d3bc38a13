# SPDX-License-Identifier: Apache-2.0
"""``GET /``: the API versions."""

from pecan import rest

from craton.api.controllers import v1
from craton.api.controllers.v1 import types
from craton.api.controllers.v1 import utils


def version_view():
    base = utils.base_url()
    return {'id': 'v1', 'status': 'CURRENT',
            'links': [{'rel': 'self', 'href': base + '/v1'}]}


class RootController(rest.RestController):

    v1 = v1.Controller()

    @types.expose(types.jsontype)
    def get(self):
        return {'name': 'Craton',
                'description': 'Runs containerised task workflows on '
                               'inventory hosts.',
                'versions': [version_view()],
                'default_version': version_view()}
