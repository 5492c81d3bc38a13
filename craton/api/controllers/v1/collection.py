# SPDX-License-Identifier: Apache-2.0
"""Lists: limit, marker, sort_key, sort_dir, and the ``next`` link.

A page asks the database for ``limit + 1`` rows; the extra row only says
that more remain, which is when ``next`` is given.
"""

import urllib.parse

from oslo_utils import uuidutils
import pecan

from craton.api.controllers.v1 import utils
from craton.api import hooks

SORT_DIRS = ('asc', 'desc')
BASE_SORT_KEYS = ('created_at', 'updated_at', 'uuid')


class Page:
    """The paging parameters of one list request, checked."""

    def __init__(self, limit=None, marker=None, sort_key=None, sort_dir=None,
                 sort_keys=BASE_SORT_KEYS):
        """``limit``: the query parameter as text (or an int); the others
        as given. :raises InvalidParameter: (400) naming the parameter.
        """
        api = utils.conf().api
        if limit is None:
            limit = api.default_limit
        elif isinstance(limit, str):
            # A query parameter: ASCII digits only.
            limit = utils.ascii_int(limit)
        if isinstance(limit, bool) or not isinstance(limit, int) or \
                not 1 <= limit <= api.max_limit:
            raise utils.invalid('limit', 'must be an integer from 1 to %d, '
                                'written with the digits 0-9'
                                % api.max_limit)
        if marker is not None and not uuidutils.is_uuid_like(marker):
            raise utils.invalid('marker', 'must be the UUID of the last '
                                'item of the previous page')
        if sort_key is not None and sort_key not in sort_keys:
            raise utils.invalid('sort_key', 'must be one of %s'
                                % ', '.join(sort_keys))
        if sort_dir is not None and sort_dir not in SORT_DIRS:
            raise utils.invalid('sort_dir', 'must be asc or desc')
        self.limit = limit
        self.marker = marker
        self.sort_key = sort_key
        self.sort_dir = sort_dir

    def fetch(self, list_func, *args):
        """Call ``list_func(*args, limit=, marker=, sort_key=, sort_dir=)``
        and return ``(items, more)``; nothing when a repeated filter asks
        for several values of one field at once
        (:class:`craton.api.hooks.RepeatedQueryHook`).
        """
        if pecan.request.environ.get(hooks.DISJOINT_FILTERS):
            return [], False
        items = list_func(*args, limit=self.limit + 1, marker=self.marker,
                          sort_key=self.sort_key, sort_dir=self.sort_dir)
        return items[:self.limit], len(items) > self.limit

    def slice(self, items, key='uuid'):
        """Page through an in-memory list of dicts.

        In the list's own order, or by ``sort_key`` when one was given (a
        missing or null value sorts lowest, equal values keep the list's
        order); ``sort_dir=desc`` reverses the whole order, so it stays a
        total order. Returns ``(items, more)``; a marker that is not the
        ``key`` of an item of ``items`` is a 400 naming ``marker``.
        """
        ranked = enumerate(items)
        if self.sort_key is not None:
            ranked = sorted(ranked, key=lambda pair: (
                pair[1].get(self.sort_key) is not None,
                pair[1].get(self.sort_key), pair[0]))
        if self.sort_dir == 'desc':
            ranked = reversed(list(ranked))
        items = [item for _, item in ranked]
        start = 0
        if self.marker is not None:
            for i, item in enumerate(items):
                if item.get(key) == self.marker:
                    start = i + 1
                    break
            else:
                raise utils.invalid('marker', 'no item with UUID %s in '
                                    'this list' % self.marker)
        chunk = items[start:start + self.limit]
        return chunk, start + self.limit < len(items)

    def nothing(self, name, list_func, *args):
        """The answer of a list whose filter names nothing: no items. A
        marker is still checked as on any page, by asking ``list_func``
        (called as in :meth:`fetch`, unfiltered) for one item after it.
        """
        if self.marker is not None:
            list_func(*args, {}, limit=1, marker=self.marker,
                      sort_key=self.sort_key, sort_dir=self.sort_dir)
        return collection(name, [], self, False)

    def next_url(self, last_uuid):
        """Absolute URL of the next page: this request's query with the
        marker moved on.
        """
        params = [(k, v) for k, v in pecan.request.GET.items()
                  if k not in ('marker', 'limit')]
        params += [('limit', self.limit), ('marker', last_uuid)]
        return '%s%s?%s' % (utils.base_url(), pecan.request.path_info,
                            urllib.parse.urlencode(params))


def collection(name, views, page, more):
    """``{"<name>": [...], "next": url}`` (``next`` only when more remain)."""
    out = {name: views}
    if more and views:
        out['next'] = page.next_url(views[-1]['uuid'])
    return out
