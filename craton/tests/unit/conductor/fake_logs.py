# SPDX-License-Identifier: Apache-2.0
"""The engine's logs endpoint, faked: multiplexed frames with timestamps.

Both drivers read ``GET /containers/{id}/logs`` or
``GET /services/{id}/logs`` with ``timestamps=1`` through the APIClient's
public ``get`` (see craton.conductor.drivers.engine_http); these fakes
answer it with the bytes the engine would send (see
craton.conductor.drivers.output), and the swarm driver's ``post`` with
JSON.
"""

import io
import json
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


class FakeRaw(io.BytesIO):
    """The body of a streamed response, as urllib3 would read it."""

    shut_down = False

    def shutdown(self):
        # urllib3's HTTPResponse.shutdown(): reads end at once.
        self.shut_down = True


class FakeResponse:
    """Just enough of a requests.Response, streamed or not.

    An error answer's body is what the engine sends: JSON with a
    ``message``, which docker.errors turns into the error's explanation.
    """

    def __init__(self, status_code, body=b''):
        self.status_code = status_code
        self.body = body
        self.raw = FakeRaw(body)
        self.closed = False

    def raise_for_status(self):
        if self.status_code >= 400:
            response = requests.Response()
            response.status_code = self.status_code
            response.reason = 'Not Found' if self.status_code == 404 \
                else 'Error'
            response.raw = io.BytesIO(self.body)
            raise requests.exceptions.HTTPError('%d' % self.status_code,
                                                response=response)

    def json(self):
        return json.loads(self.body)

    def close(self):
        self.closed = True


def answer(status_code, document):
    """A non-streamed response whose body is ``document`` as JSON."""
    return FakeResponse(status_code, json.dumps(document).encode())
