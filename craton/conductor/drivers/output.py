# SPDX-License-Identifier: Apache-2.0
"""A step's output, byte for byte, from the engine's log endpoints.

Task containers log through the engine's ``local`` log driver, which
stores the bytes a container wrote as they are (the ``json-file`` driver
stores text: it replaces bytes that are not UTF-8 with U+FFFD, also where
its 16 KiB cut falls inside a character). Measured on engine 20.10, the
``local`` driver still changes one thing on the way back out: the engine
cuts a line longer than 16 KiB into parts (``daemon/logger/copier.go``),
and a read returns every part but the last without a newline *and the
last one without its newline too*. This module puts those newlines back.

It reads the logs endpoint with ``timestamps=1``, which frames each
logged message as ``<RFC 3339 time> <bytes>`` in the engine's multiplexed
stream format (an 8-byte header: stream 1 = stdout, 2 = stderr, three zero
bytes, a big-endian 32-bit length). What makes the parts of a line
recognisable, as measured:

* every part but the last is exactly 16 KiB and does not end in a
  newline; all parts of one line carry the same timestamp;
* the last part has that timestamp too, and is shorter (an empty last
  part, from a line whose length is a multiple of 16 KiB, still comes as
  a frame holding only the timestamp);
* a complete line of under 16 KiB comes with its newline; output that
  ends without a newline comes as a last frame without one.

One case cannot be told apart from the frames alone: a stream whose very
last line is 16 KiB or longer, ending with or without a newline (both end
in a short part with the line's timestamp). A driver that saw the raw
stream end tells the decoder (``ends``); otherwise the decoder assumes the
newline, as nearly all output has one, and says so (``assumed``).
"""

import struct

STDOUT = 1
STDERR = 2

# The engine cuts longer lines into parts of this size (moby
# daemon/logger/copier.go, bufSize).
PART_BYTES = 16 * 1024

# Task containers log with this driver; see the module docstring.
LOG_DRIVER = 'local'

_HEADER = struct.Struct('>BxxxL')


# What one logged message costs the ``local`` driver on disk besides its
# bytes, at most: a length before and after it, the stream's name, the
# time, the protobuf tags (measured on engine 20.10: 34 bytes for an empty
# line). A step that prints only newlines makes the engine's file this
# many times larger than its output.
ENTRY_OVERHEAD = 48


def log_options(max_log_bytes):
    """Options of the ``local`` log driver for a step's container.

    The engine must keep every byte the conductor may still store, so that
    the whole output can be read again (after the follow stream ended, or
    by a conductor that takes the step over): a rotated file would lose
    the output's start. One file, large enough for ``max_log_bytes`` of
    output written as one-byte lines (ENTRY_OVERHEAD times that); beyond
    it Craton has cut the log anyway. The file grows only as the step
    writes, and goes with the container.
    """
    size_mib = -(-int(max_log_bytes) * ENTRY_OVERHEAD // (1 << 20)) + 1
    return {'max-size': '%dm' % size_mib, 'max-file': '1',
            'compress': 'false'}


def _read_exactly(raw, size):
    data = b''
    while len(data) < size:
        more = raw.read(size - len(data))
        if not more:
            return None
        data += more
    return data


def read_frames(raw):
    """Yield ``(stream, timestamp, data)`` from a multiplexed log stream.

    ``raw`` is a file-like object with ``read(n)`` (a streamed HTTP
    response's ``raw``) of a logs request made with ``timestamps=1``.
    ``stream`` is STDOUT or STDERR, ``timestamp`` the message's time as
    bytes, ``data`` its bytes. Ends at the end of the stream; a frame cut
    short by the end is dropped, so a reader that starts again sees it
    whole.
    """
    while True:
        header = _read_exactly(raw, _HEADER.size)
        if header is None:
            return
        stream, size = _HEADER.unpack(header)
        body = _read_exactly(raw, size) if size else b''
        if body is None:
            return
        timestamp, _sep, data = body.partition(b' ')
        yield stream, timestamp, data


class OutputDecoder:
    """Turns logged messages back into the bytes each stream carried.

    Feed it frames in the order the engine gives them; it returns
    ``(stream, bytes)`` pairs to append, in that order. Deterministic: the
    same frames always give the same bytes, so a reader that starts again
    from the first frame can skip what it already stored.
    """

    def __init__(self):
        self._open = {}      # stream -> timestamp of its unfinished line
        # Streams whose short last part awaits its newline: owed if more
        # of that stream follows, unknown at the end. The other stream's
        # frames say nothing (its output may end at the same exit), so
        # the newline waits for the stream's own next frame; only where
        # it falls between the two streams may then move a little.
        self._owed = set()
        self.assumed = []    # streams whose final newline was assumed

    def feed(self, stream, timestamp, data):
        """Return the pairs that one frame adds."""
        out = []
        if stream in self._owed:
            # More of this stream after a short last part: it was the end
            # of a long line, so its newline goes back.
            self._owed.discard(stream)
            out.append((stream, b'\n'))
        if self._open.get(stream) == timestamp:
            if not data:            # an empty last part
                del self._open[stream]
                out.append((stream, b'\n'))
            elif len(data) == PART_BYTES and not data.endswith(b'\n'):
                out.append((stream, data))      # a middle part
            else:
                del self._open[stream]
                out.append((stream, data))
                self._owed.add(stream)
            return out
        self._open.pop(stream, None)
        if data:
            out.append((stream, data))
            if len(data) == PART_BYTES and not data.endswith(b'\n'):
                self._open[stream] = timestamp
        return out

    def finish(self, ends=None):
        """Return the pairs the end of all output adds.

        ``ends``: ``{stream: True if its last byte was a newline}`` for
        the streams whose raw end the driver saw; for another stream whose
        last line may have lost its newline, one is assumed (and the
        stream is added to ``assumed``).
        """
        out = []
        for stream in sorted(self._owed):
            known = (ends or {}).get(stream)
            if known is None:
                self.assumed.append(stream)
                known = True
            if known:
                out.append((stream, b'\n'))
        self._owed = set()
        return out

    def decode(self, frames, final=False, ends=None):
        """Yield ``(stream, bytes)`` for ``frames``.

        ``final``: they are all the output there is; then :meth:`finish`
        is applied with what ``ends()`` returns (a callable, asked only
        when needed).
        """
        for stream, timestamp, data in frames:
            yield from self.feed(stream, timestamp, data)
        if final:
            yield from self.finish(ends() if ends and self._owed else None)


def skip_pairs(pairs, skip_bytes):
    """Yield the ``(stream, bytes)`` pairs without the first
    ``skip_bytes`` bytes of the interleaved output.
    """
    remaining = skip_bytes
    for stream, chunk in pairs:
        if remaining:
            if len(chunk) <= remaining:
                remaining -= len(chunk)
                continue
            chunk = chunk[remaining:]
            remaining = 0
        if chunk:
            yield stream, chunk


def skip_prefix(pairs, skip_bytes):
    """Yield the pairs' bytes as one stream without its first skip_bytes."""
    for _stream, chunk in skip_pairs(pairs, skip_bytes):
        yield chunk
