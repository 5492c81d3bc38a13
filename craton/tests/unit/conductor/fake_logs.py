"""The engine's logs endpoint, faked: multiplexed frames with timestamps.

Both drivers read ``GET /containers/{id}/logs`` or
``GET /services/{id}/logs`` with ``timestamps=1`` through the APIClient's
public ``get``; these fakes answer it with the bytes the engine would
send (see craton.conductor.drivers.output).
"""

import io
import struct

import requests


def encode(frames):
    """The wire bytes of ``[(stream, timestamp, data)]``."""
    out = b''
    for stream, timestamp, data in frames:
        body = timestamp + b' ' + data
        out += struct.pack('>BxxxL', stream, len(body)) + body
    return out


def numbered(pairs):
    """``[(stream, data)]`` as frames, each its own message."""
    return [(stream, b'2026-11-30T00:00:%02d.000000000Z' % i, data)
            for i, (stream, data) in enumerate(pairs)]


class FakeResponse:
    """Just enough of a streamed requests.Response."""

    def __init__(self, status_code, body=b''):
        self.status_code = status_code
        self.raw = io.BytesIO(body)
        self.closed = False

    def raise_for_status(self):
        if self.status_code >= 400:
            response = requests.Response()
            response.status_code = self.status_code
            response.reason = 'Not Found'
            raise requests.exceptions.HTTPError('%d' % self.status_code,
                                                response=response)

    def close(self):
        self.closed = True
