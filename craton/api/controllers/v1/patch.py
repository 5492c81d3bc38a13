"""JSON Patch (RFC 6902) on the fields a resource lets callers change.

WSME has no JSON Patch type: the body arrives as free-form JSON and the
``jsonpatch`` library applies it to a plain document of the changeable
fields. Only ``add``, ``remove`` and ``replace`` are accepted: ``test``,
``copy`` and ``move`` could read a stored value (a git URL's credentials)
back through the API.
"""

import jsonpatch
import jsonpointer

from craton.api.controllers.v1 import utils

OPS = ('add', 'remove', 'replace')


def _top_field(path):
    parts = path.split('/')
    return parts[1].replace('~1', '/').replace('~0', '~') \
        if len(parts) > 1 else ''


def apply(document, patch, allowed):
    """Return ``document`` (a dict) with ``patch`` applied.

    :param allowed: top-level fields the patch may touch (and anything
        below them, e.g. ``/source/ref`` when ``source`` is allowed).
    :raises InvalidParameter: (400) naming the path or operation at fault.
    """
    if not isinstance(patch, list) or not patch:
        raise utils.invalid('body', 'must be a JSON Patch: a non-empty list '
                            'of {"op", "path", "value"} objects')
    for i, op in enumerate(patch):
        where = 'body[%d]' % i
        if not isinstance(op, dict):
            raise utils.invalid(where, 'must be an object with "op" and '
                                '"path"')
        if op.get('op') not in OPS:
            raise utils.invalid(where + '.op', 'must be one of %s, not %r'
                                % (', '.join(OPS), op.get('op')))
        path = op.get('path')
        if not isinstance(path, str) or not path.startswith('/'):
            raise utils.invalid(where + '.path', 'must be a JSON pointer '
                                'such as "/description"')
        if _top_field(path) not in allowed:
            raise utils.invalid(path, 'cannot be changed; a patch may '
                                'change %s' % ', '.join(
                                    '/' + f for f in sorted(allowed)))
        if op['op'] != 'remove' and 'value' not in op:
            raise utils.invalid(where + '.value', 'is required for "%s"'
                                % op['op'])
    for op in patch:
        # One at a time, so that an error names the path at fault.
        try:
            document = jsonpatch.apply_patch(document, [op])
        except (jsonpatch.JsonPatchException,
                jsonpointer.JsonPointerException) as exc:
            raise utils.invalid(op['path'], 'the "%s" does not apply: %s'
                                % (op['op'], exc))
    return document


def update(obj, patch, allowed, check):
    """Apply ``patch`` to the ``allowed`` fields of ``obj``, validate the
    result with ``check`` (the create-time checks, returning the clean
    values) and save what changed.
    """
    current = {f: getattr(obj, f) for f in allowed}
    values = check(apply(current, patch, allowed))
    for key, value in values.items():
        if value != getattr(obj, key):
            setattr(obj, key, value)
    obj.save()
