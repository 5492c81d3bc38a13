# SPDX-License-Identifier: Apache-2.0
"""JSON Patch (RFC 6902) operations for Craton's ``PATCH`` calls.

Only building the documents lives here: the server applies them (with the
``jsonpatch`` library). Pointers follow RFC 6901: ``~`` is written ``~0``
and ``/`` is written ``~1`` inside a key.
"""


def pointer(*parts):
    """A JSON Pointer to ``parts`` (``pointer('variables', 'a/b')`` is
    ``/variables/a~1b``).
    """
    return ''.join('/' + str(p).replace('~', '~0').replace('/', '~1')
                   for p in parts)


def replace(path, value):
    return {'op': 'replace', 'path': path, 'value': value}


def add(path, value):
    return {'op': 'add', 'path': path, 'value': value}


def remove(path):
    return {'op': 'remove', 'path': path}


def variables_ops(current, set_vars=None, unset=()):
    """Operations that add or replace ``set_vars`` in a resource's
    ``variables`` and remove the keys in ``unset``, touching no other key.

    :param current: the resource's ``variables`` now (a dict, or None).
    :param set_vars: dict of keys to add or replace.
    :param unset: keys to remove; a key the resource does not have is
        skipped.
    :returns: a list of operations (empty when nothing changes).
    """
    ops = []
    have = dict(current or {})
    if current is None and set_vars:
        ops.append(add('/variables', {}))
    for key, value in (set_vars or {}).items():
        ops.append(add(pointer('variables', key), value))
        have[key] = value
    for key in unset:
        if key in have:
            ops.append(remove(pointer('variables', key)))
            del have[key]
    return ops


def labels_ops(current, add_labels=(), remove_labels=()):
    """One ``replace`` of ``/labels`` adding ``add_labels`` (kept once,
    in order) and dropping ``remove_labels``; empty when nothing changes.
    """
    labels = list(current or [])
    new = [label for label in labels if label not in remove_labels]
    for label in add_labels:
        if label not in new and label not in remove_labels:
            new.append(label)
    return [] if new == labels else [replace('/labels', new)]
