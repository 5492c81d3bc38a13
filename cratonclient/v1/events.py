# SPDX-License-Identifier: Apache-2.0
"""``/v1/events``: the audit trail, who did what to which resource."""

import itertools

from cratonclient.v1 import base

# The most items the API gives in one page.
MAX_PAGE = 1000


class EventManager(base.Manager):
    """Events (read only): ``{uuid, time, project_id, user_id, action,
    resource_type, resource_uuid, outcome, detail, request_id}``, sorted by
    ``time`` then ``uuid``.
    """

    collection = 'events'

    def list(self, limit=None, marker=None, **filters):
        """Events, following ``next`` across pages.

        :param limit: at most this many events (an int > 0); None for all
            of them.
        :param marker: start after the event of this UUID.
        :param filters: query parameters (``resource_type``, ``resource``
            (a UUID), ``action``, ``user``, ``all_projects``); None values
            are left out.
        """
        params = dict(filters, marker=marker)
        if limit is not None:
            # The page size: no larger than needed, nor than the API allows.
            params['limit'] = min(int(limit), MAX_PAGE)
        items = self.http.pages(self._path(), self.collection, params=params)
        if limit is not None:
            items = itertools.islice(items, int(limit))
        return list(items)
