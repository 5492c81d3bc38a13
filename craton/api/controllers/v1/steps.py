# SPDX-License-Identifier: Apache-2.0
"""``/v1/jobs/{id}/steps/{index}/logs``: a step's output as it arrived."""

import pecan
import webob

from craton.api.controllers import base
from craton.api.controllers.v1 import job_submission
from craton.api.controllers.v1 import utils
from craton.api import middleware
from craton.common import exception
from craton.common import states
from craton.db import api as db_api

# A page of log is at most this many bytes.
MAX_LOG_PAGE = 1024 * 1024


def _once(data):
    yield data


class StepsController(base.RestController):
    """Plain pecan (not WSME): the answer is text/plain, not JSON."""

    _custom_actions = {'logs': ['GET']}

    @pecan.expose(content_type='text/plain')
    def logs(self, job_ident, index, offset='0', **unknown):
        environ = pecan.request.environ
        try:
            return self._logs(job_ident, index, offset, unknown)
        except exception.CratonException as exc:
            middleware.record_error(environ, exc)
            raise

    def _logs(self, job_ident, index, offset, unknown):
        if unknown:
            raise utils.invalid(sorted(unknown)[0], 'unknown parameter; '
                                'only "offset" is accepted')
        job = job_submission.get_job(job_ident)
        utils.authorize('craton:job:logs', job)
        not_found = exception.StepNotFound(job=job.uuid, index=index)
        number = utils.ascii_int(index)
        step = next((s for s in job.steps if s.index == number), None)
        if step is None:
            raise not_found
        start = utils.ascii_int(offset)
        if start is None:
            raise utils.invalid('offset', 'must be a non-negative integer '
                                '(a byte offset)')
        if start > step.log_bytes:
            raise utils.invalid('offset', 'is past the end of the log (%d '
                                'bytes so far)' % step.log_bytes)
        final = step.status in states.STEP_FINAL
        stored = step.log_bytes
        data = db_api.get_instance().get_step_log(step.id, start,
                                                  MAX_LOG_PAGE)
        end = start + len(data)
        # A generator body: pecan turns an empty plain body into a 204.
        response = webob.Response(app_iter=_once(data),
                                  content_length=len(data), status=200,
                                  content_type='text/plain', charset='utf-8')
        response.headers['X-Craton-Log-Offset'] = str(end)
        response.headers['X-Craton-Log-Complete'] = (
            'true' if final and end >= stored else 'false')
        if step.log_truncated:
            response.headers['X-Craton-Log-Truncated'] = 'true'

        return response
