# SPDX-License-Identifier: Apache-2.0
"""Live progress on stderr for ``job run --wait``, ``job watch`` and
``task create/rebuild --wait``.

On a terminal the lines are redrawn in place (ANSI cursor moves); anywhere
else (a pipe, a file, CI) a plain line is printed each time a line's state
changes, so the output reads as a log.
"""

import datetime
import shutil
import unicodedata

# Seconds between two polls of the API while waiting.
POLL_INTERVAL = 0.5

_UP = '\x1b[%dA'        # cursor up N lines
_CLEAR_LINE = '\r\x1b[2K'
_CLEAR_BELOW = '\x1b[J'


def parse_time(text):
    """An aware datetime from the API's ISO 8601 text (None stays None)."""
    if not text:
        return None
    when = datetime.datetime.fromisoformat(str(text).replace('Z', '+00:00'))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when


def format_duration(seconds):
    """``4.2s``, ``3m07s`` or ``1h02m``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return '%.1fs' % seconds
    if seconds < 3600:
        return '%dm%02ds' % divmod(int(seconds), 60)
    return '%dh%02dm' % divmod(int(seconds) // 60, 60)


def elapsed(started_at, finished_at, now):
    """How long something ran (``-`` if it has not started): until
    ``finished_at``, or until ``now`` while it runs.
    """
    start = parse_time(started_at)
    if start is None:
        return '-'
    end = parse_time(finished_at) or now
    return format_duration((end - start).total_seconds())


class Display:
    """Draws a list of lines, each ``(key, state, text)``.

    :param stream: where to draw (stderr).
    :param tty: redraw in place (default: ``stream.isatty()``).
    """

    def __init__(self, stream, tty=None):
        self.stream = stream
        if tty is None:
            isatty = getattr(stream, 'isatty', None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self._drawn = 0
        self._states = {}

    def draw(self, lines):
        if self.tty:
            self._redraw([text for _key, _state, text in lines])
        else:
            for key, state, text in lines:
                if self._states.get(key, self) != state:
                    self._states[key] = state
                    self.stream.write(text + '\n')
        self.stream.flush()

    def _redraw(self, texts):
        width = shutil.get_terminal_size((100, 24)).columns - 1
        out = _UP % self._drawn if self._drawn else ''
        for text in texts:
            # A wrapped line would break the cursor arithmetic.
            out += _CLEAR_LINE + text[:max(width, 10)] + '\n'
        out += _CLEAR_BELOW
        self._drawn = len(texts)
        self.stream.write(out)


# Characters that move the cursor, end a line, or reorder text on a
# terminal: C0 and C1 controls and DEL, line and paragraph separators, and
# the bidirectional overrides and isolates.
_BIDI = frozenset('\u202a\u202b\u202c\u202d\u202e'
                  '\u2066\u2067\u2068\u2069')
_SHORT = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}


def _escape(char):
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return '\\x%02x' % code if code < 0x100 else '\\u%04x' % code


def printable(value):
    """``value`` as text safe to show on a terminal line: control
    characters escaped as Python writes them (``\\n``, ``\\x1b``,
    ``\\u2028``), everything else (letters of any script) as it is.
    """
    text = str(value)
    return ''.join(
        _escape(c) if (unicodedata.category(c) in ('Cc', 'Zl', 'Zp') or
                       c in _BIDI) else c
        for c in text)


def _one_line(text):
    """``text`` with runs of whitespace made one space, then made
    :func:`printable`.
    """
    return printable(' '.join(str(text).split()))


def job_lines(job, now=None):
    """The job's status line and one line per step: index, name, status,
    node and duration; each ``(key, state, text)`` for :class:`Display`.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    steps = sorted(job.get('steps') or [], key=lambda s: s.get('index', 0))
    done = sum(1 for s in steps if s.get('status') == 'succeeded')
    head = 'job %s: %s (%d/%d steps succeeded, %s)' % (
        printable(job.get('uuid')), printable(job.get('status')), done,
        len(steps),
        elapsed(job.get('started_at'), job.get('finished_at'), now))
    if job.get('status_reason'):
        head += ': ' + _one_line(job['status_reason'])
    lines = [('job', (job.get('status'), job.get('status_reason')), head)]
    names = [printable(s.get('name')) for s in steps]
    nodes = [printable(s.get('node') or '-') for s in steps]
    name_w = max([len(n) for n in names] + [4])
    node_w = max([len(n) for n in nodes] + [4])
    index_w = len(str(max([s.get('index', 0) for s in steps] + [0])))
    for step, name, node in zip(steps, names, nodes, strict=True):
        text = 'step %-*s  %-*s  %-9s  %-*s  %s' % (
            index_w, printable(step.get('index')), name_w, name,
            printable(step.get('status')), node_w, node,
            elapsed(step.get('started_at'), step.get('finished_at'), now))
        if step.get('exit_code') is not None and \
                step.get('status') != 'succeeded':
            text += '  exit %s' % printable(step['exit_code'])
        if step.get('status_reason') and step.get('status') != 'succeeded':
            text += '  ' + _one_line(step['status_reason'])
        state = (step.get('status'), step.get('node'), step.get('exit_code'),
                 step.get('status_reason'))
        lines.append((('step', step.get('index')), state, text))
    return lines


class TaskBuildLines:
    """The build's one line: ``task NAME: STATUS (elapsed)``, with the
    reason when there is one.
    """

    def __init__(self, clock):
        self.clock = clock
        self.start = clock()

    def __call__(self, task):
        text = 'task %s: %s (%s)' % (printable(task.get('name')),
                                     printable(task.get('status')),
                                     format_duration(self.clock() -
                                                     self.start))
        if task.get('status_reason'):
            text += ': ' + _one_line(task['status_reason'])
        return [('task', (task.get('status'), task.get('status_reason')),
                 text)]
