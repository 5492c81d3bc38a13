# SPDX-License-Identifier: Apache-2.0
"""Secrets named by a workflow, a step or a job (api-ref.rst, "Secrets").

A body names secrets of the caller's project by UUID or name; one that
does not exist or is not visible to the caller is a 400 naming the field,
the same answer for both. Workflows and jobs keep the names; each job step
keeps the UUIDs of the secrets it receives, fixed at submission.
"""

from craton.api.controllers.v1 import utils
from craton.common import exception
from craton.objects import secret as secret_obj


def _get(ident, field):
    try:
        return secret_obj.Secret.get(utils.context(), ident)
    except exception.NotFound:
        raise utils.invalid(field, "secret '%s' does not exist or is not "
                            "visible to this project" % ident)


def checked_names(value, field):
    """The names of the secrets ``value`` lists (a list of UUIDs or names,
    or None), in the given order, each once.

    :raises Invalid: (400 naming ``field``) not a list of strings, or a
        secret that does not exist or is not visible.
    """
    names = []
    for i, ident in enumerate(utils.check_strings(value, field)):
        name = _get(ident, '%s[%d]' % (field, i)).name
        if name not in names:
            names.append(name)
    return names


def uuids(names, field):
    """The UUIDs of the secrets ``names`` (each once, in order) as they
    are now; 400 naming ``field`` for one that is gone.
    """
    found = []
    for name in names:
        uuid = _get(name, field).uuid
        if uuid not in found:
            found.append(uuid)
    return found
