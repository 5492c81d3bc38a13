# SPDX-License-Identifier: Apache-2.0
"""One manager per resource: the REST calls every Craton resource shares.

Resources are returned as plain dicts, exactly as the API answered them
(field names as the API names them). Wherever a resource is named, its UUID
or its name is accepted: the API resolves names in paths and bodies itself.
"""

from cratonclient.v1 import http


class Manager:
    """Create, list, show, change (JSON Patch) and delete one resource.

    :cvar collection: the resource's path and list key (``"regions"``).
    """

    collection = None

    def __init__(self, http_client):
        self.http = http_client

    def _path(self, ident=None, *rest):
        parts = [http.API_PREFIX, self.collection]
        if ident is not None:
            parts.append(http.quote(ident))
        parts.extend(http.quote(p) for p in rest)
        return '/'.join(parts)

    def list(self, **filters):
        """Every item (all pages), as dicts.

        :param filters: query parameters; None values are left out, a list
            value repeats the parameter (``label=[a, b]``: both must match).
        """
        return list(self.http.pages(self._path(), self.collection,
                                    params=filters))

    def get(self, ident, **params):
        """One resource by UUID or name.

        :raises ApiError: 404 when it does not exist or is not visible.
        """
        return self.http.resource('GET', self._path(ident), params=params)

    def create(self, body):
        """``POST`` ``body`` (a dict in the API's shape); the new resource."""
        return self.http.resource('POST', self._path(), json=body)

    def update(self, ident, patch):
        """Apply a JSON Patch (a list of operations, see
        :mod:`cratonclient.v1.json_patch_ops`); the changed resource.
        """
        return self.http.resource('PATCH', self._path(ident), json=list(patch),
                              content_type=http.JSON_PATCH)

    def delete(self, ident):
        """Delete one resource (the API answers 204)."""
        self.http.request('DELETE', self._path(ident), accept=None)
