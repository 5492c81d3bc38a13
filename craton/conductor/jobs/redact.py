# SPDX-License-Identifier: Apache-2.0
"""Secret values cut out of a step's output before it is stored.

api-ref.rst, "Secrets": any occurrence of the value of a secret a step
received, in its stdout or stderr, is replaced by ``***`` before it is
stored, also when the value arrives split across writes or across the
engine's 16 KiB line cut.

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

import json
import re

REPLACEMENT = b'***'
# api-ref.rst: a secret value is at least this many bytes; a shorter form of
# one (below) is not hidden, it would hide ordinary text.
MIN_BYTES = 4


def forms(values):
    """The byte strings to hide for the secret ``values`` (bytes): each
    value as stored; the value without the whitespace around it (a value
    file that ends in a newline, printed after ``strip()``); and, of both,
    the text a step prints when it writes the value as a JSON string
    (``json.dumps`` escapes quotes, backslashes, control characters and,
    by default, every non-ASCII character). Forms shorter than
    :data:`MIN_BYTES` are left out. Returns a set.
    """
    found = set()
    for value in values:
        value = bytes(value)
        found.add(value)
        try:
            text = value.decode('utf-8')
        except UnicodeDecodeError:
            continue
        for plain in {text, text.strip()}:
            for form in (plain, json.dumps(plain)[1:-1],
                         json.dumps(plain, ensure_ascii=False)[1:-1]):
                raw = form.encode('utf-8')
                if len(raw) >= MIN_BYTES:
                    found.add(raw)
    return found


def scrub(document, values):
    """``document`` (a step's result: JSON types) with every occurrence of
    ``values`` (bytes, e.g. :func:`forms`) in its strings and keys
    replaced by ``***``.

    The result line is read from redacted output, but JSON can spell a
    value in ways no list of forms covers (``\\u0041`` for ``A``); once
    parsed, any spelling is the value itself, and it must not reach the
    database, the API or a later step's payload.
    """
    if not values:
        return document
    redactor = Redactor(values)

    def clean(text):
        raw = text.encode('utf-8', 'surrogatepass')
        out = redactor.feed(0, raw) + b''.join(
            d for _, d in redactor.finish())
        return out.decode('utf-8', 'surrogatepass') if out != raw else text

    def walk(node):
        if isinstance(node, str):
            return clean(node)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {clean(k): walk(v) for k, v in node.items()}
        return node
    return walk(document)


class Redactor:
    """Redacts ``values`` (a collection of non-empty bytes) from pieces of
    output, stream by stream.

    Every byte inside an occurrence of any value is hidden: occurrences
    that overlap (one value's end is another's beginning) are hidden as
    one, so no part of either shows. Each such stretch becomes one
    ``***``.
    """

    def __init__(self, values):
        values = sorted({bytes(v) for v in values if v}, key=len,
                        reverse=True)
        self._values = values
        # Leftmost-longest: at one position the longest value matches.
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
        out, held = self._redact(buf, self._undecided(buf, 0))
        if held:
            self._held[stream] = held
        return out

    def finish(self):
        """The held-back ends of every stream, redacted, as ``[(stream,
        bytes)]`` in a fixed order, once no more output will come (what
        waited for more output is decided now).
        """
        held = self._held
        self._held = {}
        return [(stream, self._redact(held[stream], len(held[stream]))[0])
                for stream in sorted(held)]

    def _redact(self, buf, tail):
        """``(redacted bytes, bytes held back)`` of ``buf``, where no
        occurrence of a value can start before ``tail`` with bytes yet to
        come (:meth:`_undecided`).
        """
        out = []
        pos = 0
        while True:
            match = self._pattern.search(buf, pos)
            if match is None or match.start() >= tail:
                out.append(buf[pos:tail])
                return b''.join(out), buf[tail:]
            start, end = match.start(), self._overlapping_end(
                buf, match.start(), match.end())
            if end > tail:
                # An occurrence that is not complete yet could still
                # overlap this one: decide when more output came.
                out.append(buf[pos:start])
                return b''.join(out), buf[start:]
            out.append(buf[pos:start])
            out.append(REPLACEMENT)
            pos = end

    def _overlapping_end(self, buf, start, end):
        """The end of the stretch from ``start`` covered by occurrences
        that overlap the one at ``[start, end)``, one after another.
        """
        grown = True
        while grown:
            grown = False
            for value in self._values:
                # Occurrences starting inside the stretch, ending past it.
                at = buf.find(value, start + 1, end + len(value) - 1)
                while at != -1 and at < end:
                    if at + len(value) > end:
                        end = at + len(value)
                        grown = True
                    at = buf.find(value, at + 1, end + len(value) - 1)
        return end

    def _undecided(self, buf, pos):
        """The first position at or after ``pos`` from which the rest of
        ``buf`` is a proper beginning of some value (``len(buf)`` if none):
        no occurrence can start before it with bytes yet to come.
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

