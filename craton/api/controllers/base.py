# SPDX-License-Identifier: Apache-2.0
"""The base of every REST controller."""

import pecan
from pecan import rest

# How many path arguments each standard method takes.
_ARITY = {'get_all': 0, 'post': 0, 'get_one': 1, 'put': 1, 'patch': 1,
          'delete': 1}


class RestController(rest.RestController):
    """pecan's RestController, answering 405 to a method used on the wrong
    kind of path (``DELETE /v1/tasks``, ``POST /v1/tasks/{id}``) instead
    of handing the path to the method as if it were a body.
    """

    # _route is pecan's documented hook for a controller's own routing
    # ("Defining Customized Routing with _route",
    # https://pecan.readthedocs.io/en/latest/routing.html); this one keeps
    # RestController's and only refuses a wrong number of path arguments.
    @pecan.expose()
    def _route(self, args, request=None):
        controller, remainder = super()._route(args, request)
        if getattr(controller, '__self__', None) is self:
            expected = _ARITY.get(getattr(controller, '__name__', None))
            given = len([r for r in remainder if r])
            if expected is not None and given != expected:
                pecan.abort(405 if given < 2 else 404)
        return controller, remainder
