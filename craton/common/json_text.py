# SPDX-License-Identifier: Apache-2.0
"""Facts about a JSON text read without parsing it.

Python's ``json`` module parses nested arrays and objects by recursion,
so a text nested about a thousand levels deep raises RecursionError
instead of a ValueError, and so do ``json.dumps`` and anything else that
walks the parsed value. Callers that take JSON from outside (a request
body, a step's result line) measure its depth here first.
"""

import itertools
import json
import re

# A whole JSON string, its escapes skipped.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(c for c in range(256) if c not in b'[]{}')
_STEP = [0] * 256
_STEP[ord('[')] = _STEP[ord('{')] = 1
_STEP[ord(']')] = _STEP[ord('}')] = -1


def depth(raw):
    """How deep ``raw`` (the bytes of a JSON text) nests.

    ``1`` → 0, ``{}`` → 1, ``[{"a": []}]`` → 3; brackets inside strings do
    not count, and an unterminated string ends the text. Linear, without
    recursion.
    """
    text = _STRING.sub(b'', raw).partition(b'"')[0]
    brackets = text.translate(None, _NOT_BRACKET)
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)),
               default=0)


def _no_constant(name):
    raise ValueError('%s is not JSON (RFC 8259 has no NaN or Infinity)'
                     % name)


def _finite_float(text):
    value = float(text)
    if value in (float('inf'), float('-inf')):
        raise ValueError('%s is too large for a JSON number' % text)
    return value


def loads_strict(raw):
    """``json.loads`` that refuses ``NaN``, ``Infinity`` and numbers too
    large for a float (``1e400``), which Python accepts but JSON has not.

    :raises ValueError: for those and for anything json.loads refuses.
    """
    return json.loads(raw, parse_constant=_no_constant,
                      parse_float=_finite_float)
