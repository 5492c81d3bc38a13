# SPDX-License-Identifier: Apache-2.0
"""What the swarm driver knows of the swarm's nodes, as the manager tells
it: a node's host name (kept: it names the node of a step) and its state
(kept for a moment: asked at every look at a running task, it would cost
the manager a call each time and learn nothing sooner).
"""

import time

import docker


class Nodes:
    """Host names and states of nodes, asked of the manager when needed.

    :param api: a callable giving the manager's ``docker.APIClient``.
    :param engine_errors: a callable giving the context manager that maps
        transport errors (the driver's own).
    """

    def __init__(self, api, engine_errors):
        self._api = api
        self._engine_errors = engine_errors
        self._hostnames = {}
        self._states = {}       # node id -> (monotonic time, state)

    def info(self, node_id, max_age=None):
        """(hostname, state) of a node; state None if it left the swarm.

        :param max_age: seconds; a state learned less long ago is given
            again without asking the manager (None: always ask).
        """
        known = self._states.get(node_id)
        if max_age is not None and known is not None and \
                time.monotonic() - known[0] < max_age and \
                node_id in self._hostnames:
            return self._hostnames[node_id], known[1]
        try:
            with self._engine_errors():
                node = self._api().inspect_node(node_id)
        except docker.errors.NotFound:
            self._states.pop(node_id, None)
            return self._hostnames.get(node_id, node_id), None
        hostname = node.get('Description', {}).get('Hostname') or node_id
        self._hostnames[node_id] = hostname
        state = node.get('Status', {}).get('State') or 'unknown'
        self._states[node_id] = (time.monotonic(), state)
        return hostname, state

    def hostname(self, node_id):
        """The node's host name ('' for no node; its id if unknown)."""
        if not node_id:
            return ''
        if node_id not in self._hostnames:
            self.info(node_id)
        return self._hostnames.get(node_id, node_id)
