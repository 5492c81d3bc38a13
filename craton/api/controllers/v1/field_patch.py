# SPDX-License-Identifier: Apache-2.0
"""JSON Patch (RFC 6902) on the fields a resource lets callers change.

WSME has no JSON Patch type: the body arrives as free-form JSON and the
``jsonpatch`` library applies it to a plain document of the changeable
fields, as GET shows them. All six operations are accepted: ``add``,
``remove``, ``replace``, ``move``, ``copy`` and ``test``.

* Every location an operation names (its ``path``, and the ``from`` of a
  ``move`` or ``copy``) must lie in a changeable field: moving or copying
  into or out of a read-only field is refused as a ``replace`` of it is
  (400, naming the location).
* A ``test`` that fails is a 400 with the code ``craton.patch_test_failed``
  naming its path, as Ironic, Magnum and Zun answer it (their
  ``PatchError`` is a 400); nothing is changed.
* The document holds what GET shows, never a secret that GET hides (a git
  URL's credentials): a ``copy`` or a ``test`` cannot read one back. The
  controller puts the stored secret back where the shown value stayed.
"""

import jsonpatch
import jsonpointer

from craton.api.controllers.v1 import utils
from craton.common import exception

OPS = ('add', 'remove', 'replace', 'move', 'copy', 'test')
# The operations that read the location named by "from".
FROM_OPS = ('move', 'copy')
# The operations that need a "value".
VALUE_OPS = ('add', 'replace', 'test')


def _top_field(path):
    parts = path.split('/')
    return parts[1].replace('~1', '/').replace('~0', '~') \
        if len(parts) > 1 else ''


def _check_op(op, where, allowed):
    """:raises InvalidParameter: if ``op`` (one operation of a patch) is
    malformed or names a location outside the ``allowed`` fields.
    """
    if not isinstance(op, dict):
        raise utils.invalid(where, 'must be an object with "op" and "path"')
    if op.get('op') not in OPS:
        raise utils.invalid(where + '.op', 'must be one of %s, not %r'
                            % (', '.join(OPS), op.get('op')))
    fields = ', '.join('/' + f for f in sorted(allowed))
    if op['op'] == 'test':
        locations = [('path', 'cannot be tested: a patch may only use the '
                      'fields it may change (%s)' % fields)]
    else:
        locations = [('path', 'cannot be changed; a patch may change %s'
                      % fields)]
    if op['op'] in FROM_OPS:
        locations.append(('from', 'cannot be moved or copied: it is not a '
                          'field this patch may change (%s)' % fields))
    for member, refusal in locations:
        location = op.get(member)
        if not isinstance(location, str) or not location.startswith('/'):
            raise utils.invalid('%s.%s' % (where, member), 'must be a JSON '
                                'pointer such as "/description"')
        if _top_field(location) not in allowed:
            raise utils.invalid(location, refusal)
    if op['op'] in VALUE_OPS and 'value' not in op:
        raise utils.invalid(where + '.value', 'is required for "%s"'
                            % op['op'])


def apply(document, patch, allowed):
    """Return ``document`` (a dict) with ``patch`` applied.

    :param document: the changeable fields as the API shows them.
    :param patch: the request body: a list of operations.
    :param allowed: top-level fields the patch may touch (and anything
        below them, e.g. ``/source/ref`` when ``source`` is allowed).
    :raises InvalidParameter: (400) naming the path or operation at fault.
    :raises PatchTestFailed: (400) naming the path of a ``test`` that
        failed.
    """
    if not isinstance(patch, list) or not patch:
        raise utils.invalid('body', 'must be a JSON Patch: a non-empty list '
                            'of {"op", "path", "value"} objects')
    for i, op in enumerate(patch):
        _check_op(op, 'body[%d]' % i, allowed)
    for op in patch:
        # One at a time, so that an error names the operation at fault.
        try:
            document = jsonpatch.apply_patch(document, [op])
        except jsonpatch.JsonPatchTestFailed:
            raise exception.PatchTestFailed(
                path=op['path'], reason='the value there is not the one '
                'given (or there is none); nothing was changed')
        except (jsonpatch.JsonPatchException,
                jsonpointer.JsonPointerException) as exc:
            # Of a move or a copy, only the "from" can be missing.
            where = op['from'] if op['op'] in FROM_OPS and isinstance(
                exc, jsonpatch.JsonPatchPathNotFound) else op['path']
            raise utils.invalid(where, 'the "%s" does not apply: %s'
                                % (op['op'], exc))
    return document


def document(view, allowed):
    """The document a patch works on: the ``allowed`` fields of ``view``
    (the resource as GET shows it, e.g. ``{}`` for variables never set).
    """
    return {f: view[f] for f in allowed}


def update(obj, patch, allowed, check, view):
    """Apply ``patch`` to the ``allowed`` fields of ``obj`` as ``view(obj)``
    shows them, validate the result with ``check`` (the create-time checks,
    returning the clean values) and save what changed.
    """
    current = document(view(obj), allowed)
    values = check(apply(current, patch, allowed))
    for key, value in values.items():
        if value != getattr(obj, key):
            setattr(obj, key, value)
    obj.save()
