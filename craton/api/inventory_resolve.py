# SPDX-License-Identifier: Apache-2.0
"""Host variables resolved region → cell → host, and host snapshots.

The same resolution serves ``GET /v1/hosts/{id}?resolved=true`` and the
inventory snapshot a job takes at submission (the payload its tasks get).
"""

from craton.objects import inventory


def merge_variables(*levels):
    """Shallow merge of top-level keys; a later level wins. ``None``
    levels (a host without a cell) are skipped.
    """
    out = {}
    for level in levels:
        if level:
            out.update(level)
    return out


class Resolver:
    """Resolves many hosts of one project, reading each region and cell
    once.
    """

    def __init__(self, context):
        self.context = context
        self._regions = {}
        self._cells = {}

    def _region(self, uuid):
        if uuid not in self._regions:
            self._regions[uuid] = inventory.Region.get(self.context, uuid)
        return self._regions[uuid]

    def _cell(self, uuid):
        if uuid is None:
            return None
        if uuid not in self._cells:
            self._cells[uuid] = inventory.Cell.get(self.context, uuid)
        return self._cells[uuid]

    def variables(self, host):
        """The host's variables resolved region → cell → host."""
        cell = self._cell(host.cell_uuid)
        return merge_variables(self._region(host.region_uuid).variables,
                               cell.variables if cell else None,
                               host.variables)

    def snapshot(self, host):
        """A host as a job's payload shows it."""
        return {'uuid': host.uuid, 'name': host.name,
                'ip_address': host.ip_address, 'region': host.region,
                'cell': host.cell, 'labels': list(host.labels or []),
                'variables': self.variables(host)}
