# SPDX-License-Identifier: Apache-2.0
"""What a step's container receives, and the result it hands back.

api-ref.rst, "What a task's container receives", is the contract: the
payload is compact JSON with ``job``, ``step``, ``inventory``,
``variables``, ``results`` and ``secrets`` (names to file paths, never
values); a step's result is the JSON object after ``::craton-result::``
on the last stdout line that starts with that marker, anywhere in stdout.
How the payload reaches the container (argument, ``@file``,
``CRATON_PAYLOAD_FILE``) is the driver's business.
"""

import json

from craton.common import json_text
from craton.conductor.drivers import base

RESULT_MARKER = '::craton-result::'

_JSON_KINDS = {list: 'array', str: 'string', int: 'number', float: 'number',
               bool: 'boolean', type(None): 'null'}


def merge_variables(step_variables, job_variables):
    """Step variables overridden by the job's, a shallow top-level merge.

    The step's own variables already hold the workflow's, overridden by the
    step's (merged when the job was submitted).
    """
    merged = dict(step_variables or {})
    merged.update(job_variables or {})
    return merged


def build_payload(job, step, inventory, results, secrets=()):
    """Return the payload of one step as compact UTF-8 JSON bytes.

    :param job: the :class:`~craton.objects.job.Job`.
    :param step: the :class:`~craton.objects.job.JobStep` about to run.
    :param inventory: the job's host snapshot, a list of dicts as stored at
        submission (host variables already resolved region → cell → host).
    :param results: ``{earlier step name: result object}``; steps that
        reported no result are absent.
    :param secrets: the names of the secrets the step receives; the
        payload maps each to its file (never its value).
    """
    doc = {
        'job': {'uuid': job.uuid,
                'project_id': job.project_id,
                'user_id': job.user_id},
        'step': {'index': step.index,
                 'name': step.name,
                 'task': step.task_uuid},
        'inventory': list(inventory or []),
        'variables': merge_variables(step.variables, job.variables),
        'results': dict(results or {}),
        'secrets': {name: base.secret_path(name) for name in sorted(secrets)},
    }
    # ensure_ascii=False keeps non-ASCII text readable and the payload
    # small; the bytes are UTF-8 either way.
    return json.dumps(doc, separators=(',', ':'),
                      ensure_ascii=False).encode('utf-8')


class ResultScanner:
    """Finds a step's result in its whole stdout, fed as bytes.

    api-ref.rst: the result is the JSON object after the marker on the LAST
    stdout line that starts with ``::craton-result::``, wherever that line
    is, with its bytes exactly as written, up to ``max_bytes`` of JSON.
    Only the current line and the last marker line are kept, so a log of
    any size costs at most about ``2 * max_bytes`` of memory.
    """

    _MARKER = RESULT_MARKER.encode('ascii')

    def __init__(self, max_bytes, max_depth=64):
        # Room for the marker and some spaces around the JSON; the JSON
        # itself is measured exactly in result().
        self._limit = max_bytes + len(self._MARKER) + 256
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self._line = bytearray()
        self._too_long = False
        self._last = None           # bytes of the last marker line
        self._last_too_long = False

    def feed(self, data):
        """Take the next bytes of stdout."""
        while data:
            end = data.find(b'\n')
            piece = data if end < 0 else data[:end]
            room = self._limit - len(self._line)
            if len(piece) > room:
                self._too_long = True
                piece = piece[:max(room, 0)]
            self._line += piece
            if end < 0:
                return
            self._end_line()
            data = data[end + 1:]

    def _end_line(self):
        if self._line.startswith(self._MARKER):
            self._last = bytes(self._line)
            self._last_too_long = self._too_long
        self._line = bytearray()
        self._too_long = False

    def result(self):
        """Return ``(result, note)`` once all of stdout was fed.

        ``result`` is the JSON object (or None); ``note`` says why a marker
        line was ignored (or None). The note is for the step's
        ``status_reason``; it never changes the step's outcome, which the
        exit code alone decides.
        """
        if self._line or self._too_long:
            self._end_line()    # a last line without a newline
        if self._last is None:
            return None, None
        raw = self._last[len(self._MARKER):].strip()
        if self._last_too_long or len(raw) > self.max_bytes:
            return None, ('result ignored: the JSON of the last %s line is '
                          'larger than [sandbox] max_result_bytes (%d bytes)'
                          % (RESULT_MARKER, self.max_bytes))
        return parse_result_line(raw, self.max_depth)


def parse_result_line(raw, max_depth=64):
    """Parse the bytes after the marker: ``(result, note)`` as above.

    JSON nested deeper than ``max_depth`` (``[api] max_json_depth``: the
    result goes on to later steps and to the API) is ignored, and so are
    ``NaN`` and ``Infinity``, which are not JSON.
    """
    raw = raw.strip()
    if json_text.depth(raw) > max_depth:
        return None, ('result ignored: the last %s line nests deeper than '
                      '[api] max_json_depth (%d)' % (RESULT_MARKER,
                                                     max_depth))
    try:
        value = json_text.loads_strict(raw)
    except ValueError as exc:   # UnicodeDecodeError included
        return None, ('result ignored: the last %s line is not valid JSON '
                      'in UTF-8 (%s)' % (RESULT_MARKER, exc))
    if not isinstance(value, dict):
        return None, ('result ignored: the last %s line holds a JSON %s, '
                      'not an object' % (RESULT_MARKER,
                                         _JSON_KINDS.get(type(value),
                                                         'value')))
    try:
        # "\ud83d" escapes decode to lone surrogates, which no later step
        # could be sent: refuse them here, where the step is named.
        json.dumps(value, ensure_ascii=False).encode('utf-8')
    except UnicodeEncodeError:
        return None, ('result ignored: the last %s line holds a string '
                      'that is not valid Unicode (a lone surrogate escape)'
                      % RESULT_MARKER)
    return value, None
