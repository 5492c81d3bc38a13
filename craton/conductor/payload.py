"""What a step's container receives, and the result it hands back.

API.md, "What a task's container receives", is the contract: the payload
is compact JSON with ``job``, ``step``, ``inventory``, ``variables`` and
``results``; a step's result is the JSON object after ``::craton-result::``
on the last stdout line that starts with that marker. How the payload
reaches the container (argument, ``@file``, ``CRATON_PAYLOAD_FILE``) is the
driver's business.
"""

import json

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


def build_payload(job, step, inventory, results):
    """Return the payload of one step as compact UTF-8 JSON bytes.

    :param job: the :class:`~craton.objects.job.Job`.
    :param step: the :class:`~craton.objects.job.JobStep` about to run.
    :param inventory: the job's host snapshot, a list of dicts as stored at
        submission (host variables already resolved region → cell → host).
    :param results: ``{earlier step name: result object}``; steps that
        reported no result are absent.
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
    }
    # ensure_ascii=False keeps non-ASCII text readable and the payload
    # small; the bytes are UTF-8 either way.
    return json.dumps(doc, separators=(',', ':'),
                      ensure_ascii=False).encode('utf-8')


def _text(line):
    if isinstance(line, bytes):
        line = line.decode('utf-8', errors='replace')
    return line.rstrip('\r\n')


def parse_result(lines):
    """Find a step's result in the last lines of its stdout.

    Returns ``(result, note)``: ``result`` is the JSON object after the
    marker on the LAST line starting with ``::craton-result::`` (or None),
    ``note`` explains why a marker line was ignored (or None). The note is
    for the step's ``status_reason``; it never changes the step's outcome,
    which the exit code alone decides.
    """
    last = None
    for line in lines or ():
        text = _text(line)
        if text.startswith(RESULT_MARKER):
            last = text
    if last is None:
        return None, None
    raw = last[len(RESULT_MARKER):].strip()
    try:
        value = json.loads(raw)
    except ValueError as exc:
        return None, ('result ignored: the last %s line is not valid JSON '
                      '(%s)' % (RESULT_MARKER, exc))
    if not isinstance(value, dict):
        return None, ('result ignored: the last %s line holds a JSON %s, '
                      'not an object' % (RESULT_MARKER,
                                         _JSON_KINDS.get(type(value),
                                                         'value')))
    return value, None
