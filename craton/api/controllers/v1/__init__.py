# SPDX-License-Identifier: Apache-2.0
"""``/v1``: links to every resource."""

from pecan import rest

from craton.api.controllers.v1 import cells
from craton.api.controllers.v1 import events
from craton.api.controllers.v1 import hosts
from craton.api.controllers.v1 import jobs
from craton.api.controllers.v1 import regions
from craton.api.controllers.v1 import secrets
from craton.api.controllers.v1 import tasks
from craton.api.controllers.v1 import types
from craton.api.controllers.v1 import utils
from craton.api.controllers.v1 import workflows

RESOURCES = ('tasks', 'workflows', 'jobs', 'regions', 'cells', 'hosts',
             'events', 'secrets')


class Controller(rest.RestController):

    tasks = tasks.TasksController()
    workflows = workflows.WorkflowsController()
    jobs = jobs.JobsController()
    regions = regions.RegionsController()
    cells = cells.CellsController()
    hosts = hosts.HostsController()
    events = events.EventsController()
    secrets = secrets.SecretsController()

    @types.expose(types.jsontype)
    def get(self):
        base = utils.base_url()
        out = {'id': 'v1', 'status': 'CURRENT',
               'links': [{'rel': 'self', 'href': base + '/v1'}]}
        for name in RESOURCES:
            out[name] = [{'rel': 'self', 'href': '%s/v1/%s' % (base, name)},
                         {'rel': 'bookmark',
                          'href': '%s/%s' % (base, name)}]
        return out
