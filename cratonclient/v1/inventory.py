# SPDX-License-Identifier: Apache-2.0
"""Regions, cells and hosts: the inventory jobs run against."""

from cratonclient.v1 import base


class RegionManager(base.Manager):
    """``/v1/regions``: ``{name, description, variables}``."""

    collection = 'regions'


class CellManager(base.Manager):
    """``/v1/cells``: ``{name, region, description, variables}``."""

    collection = 'cells'


class HostManager(base.Manager):
    """``/v1/hosts``: ``{name, ip_address, region, cell, labels,
    variables}``.
    """

    collection = 'hosts'

    def get(self, ident, resolved=False):
        """One host; with ``resolved`` its ``variables`` are merged region →
        cell → host, as a job's payload shows them.
        """
        params = {'resolved': 'true'} if resolved else {}
        return super().get(ident, **params)
