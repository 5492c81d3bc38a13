# SPDX-License-Identifier: Apache-2.0
"""Secret values cut out of a step's output before it is stored.

API.md, "Secrets": any occurrence of the value of a secret a step received,
in its stdout or stderr, is replaced by ``***`` before it is stored, also
when the value arrives split across writes or across the engine's 16 KiB
line cut.

Output arrives as ``(stream, bytes)`` pieces (one per log entry of the
engine). Each stream is redacted on its own, so a value written to stdout
in two pieces is found even with stderr output in between. A stream holds
back only what could still become a value: the longest end of what it has
seen that is the beginning of some value. Everything else is passed on at
once, so a running step's lines stay readable while it runs.

The redacted output is a function of the pieces alone: reading the same
container's output again from its first byte gives the same bytes. That is
how a stored log is resumed (``skip`` counts redacted bytes, which is what
the stored log holds).
"""

import re

REPLACEMENT = b'***'


class Redactor:
    """Redacts ``values`` (a collection of non-empty bytes) from pieces of
    output, stream by stream.

    Matching is leftmost-longest: where two values could match at the same
    byte, the longer one is replaced.
    """

    def __init__(self, values):
        values = sorted({bytes(v) for v in values if v}, key=len,
                        reverse=True)
        self._values = values
        self._pattern = re.compile(b'|'.join(re.escape(v) for v in values))
        # For "which beginnings of a value can end with this byte":
        # {last byte: [(length, value), ...] longest first}.
        self._prefixes = {}
        for value in values:
            view = memoryview(value)
            for length in range(len(value) - 1, 0, -1):
                self._prefixes.setdefault(value[length - 1], []).append(
                    (length, view))
        for entries in self._prefixes.values():
            entries.sort(key=lambda e: e[0], reverse=True)
        self._held = {}     # stream -> bytes held back

    def feed(self, stream, data):
        """Return the redacted bytes of ``stream`` that can be passed on
        now that ``data`` arrived on it (may be empty).
        """
        buf = self._held.pop(stream, b'') + bytes(data)
        out = []
        pos = 0
        while True:
            tail = self._undecided(buf, pos)
            match = self._pattern.search(buf, pos)
            if match is None or match.start() >= tail:
                out.append(buf[pos:tail])
                if tail < len(buf):
                    self._held[stream] = buf[tail:]
                return b''.join(out)
            out.append(buf[pos:match.start()])
            out.append(REPLACEMENT)
            pos = match.end()

    def finish(self):
        """The held-back ends of every stream, redacted, as ``[(stream,
        bytes)]`` in a fixed order, once no more output will come (what
        waited for a longer value to complete is decided now).
        """
        held = self._held
        self._held = {}
        return [(stream, self._pattern.sub(REPLACEMENT, held[stream]))
                for stream in sorted(held)]

    def _undecided(self, buf, pos):
        """The first position at or after ``pos`` from which the rest of
        ``buf`` is a proper beginning of some value (``len(buf)`` if none).

        A match starting before it is final: no longer value can start
        there, or the rest of ``buf`` would be that value's beginning.
        """
        if len(buf) <= pos:
            return len(buf)
        room = len(buf) - pos
        end = memoryview(buf)
        for length, value in self._prefixes.get(buf[-1], ()):
            # Longest first: the first hit is the earliest position.
            # (memoryview slices compare without copying.)
            if length <= room and end[-length:] == value[:length]:
                return len(buf) - length
        return len(buf)


def redacted(pieces, values, skip=0):
    """``(stream, bytes)`` pieces with ``values`` replaced by ``***``.

    :param pieces: an iterable of ``(stream, bytes)`` from the first byte
        of a container's output (``output.STDOUT``/``output.STDERR``).
    :param values: the secret values (bytes) to cut out; with none, the
        pieces pass through unchanged.
    :param skip: redacted bytes already stored, not yielded again.
    """
    if not values:
        yield from _skipped(pieces, skip)
        return
    redactor = Redactor(values)

    def gen():
        for stream, data in pieces:
            clean = redactor.feed(stream, data)
            if clean:
                yield stream, clean
        yield from redactor.finish()

    yield from _skipped(gen(), skip)


def _skipped(pieces, skip):
    seen = 0
    for stream, data in pieces:
        if seen + len(data) > skip:
            yield stream, data[max(skip - seen, 0):]
        seen += len(data)

