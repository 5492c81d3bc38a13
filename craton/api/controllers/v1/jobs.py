# SPDX-License-Identifier: Apache-2.0
"""``/v1/jobs``: runs of a workflow (or of one task) on hosts."""

from oslo_utils import uuidutils

from craton.api.controllers import base
from craton.api.controllers.v1 import collection
from craton.api.controllers.v1 import job_submission
from craton.api.controllers.v1 import steps
from craton.api.controllers.v1 import types
from craton.api.controllers.v1 import utils
from craton.common import exception
from craton.common import fsm
from craton.common import states
from craton.objects import job as job_obj
from craton.objects import task as task_obj
from craton.objects import workflow as workflow_obj

FIELDS = ('uuid', 'workflow_uuid', 'task_uuid', 'project_id', 'user_id',
          'status', 'status_reason', 'variables', 'host_count', 'created_at',
          'updated_at', 'started_at', 'finished_at')
STEP_FIELDS = ('index', 'name', 'task_uuid', 'image_digest', 'status',
               'exit_code', 'status_reason', 'node', 'started_at',
               'finished_at', 'result')
SORT_KEYS = ('created_at', 'updated_at', 'uuid', 'status')
# The snapshot's hosts carry no timestamps; by default the list keeps the
# snapshot's own order (by name).
INVENTORY_SORT_KEYS = ('name', 'uuid')

# A job's status changes a few times at most (pending, running, final), so
# a cancel racing its runner lands within this many tries.
_CANCEL_TRIES = 5


# What a job's view is made of (FIELDS, then the secrets' names).
VIEW_FIELDS = FIELDS + ('secrets',)


def job_view(job):
    """The API's answer for one Job object (show, submit, cancel)."""
    return _view(utils.fields_of(job, VIEW_FIELDS),
                 [utils.fields_of(st, STEP_FIELDS)
                  for st in sorted(job.steps, key=lambda s: s.index)])


def _view(values, steps, base=None):
    """A job's answer from ``values`` (a dict of VIEW_FIELDS) and
    ``steps`` (dicts of STEP_FIELDS, in step order): the one place both
    the list and a single job are shaped, so they answer alike.
    """
    out = utils.record_view(values, FIELDS, 'jobs', base)
    out['variables'] = out['variables'] or {}
    out['secrets'] = list(values['secrets'] or [])
    out['steps'] = [utils.record_view(st, STEP_FIELDS) for st in steps]
    return out


get_job = job_submission.get_job


def _uuid_of(cls, ident):
    """A filter's UUID (kept even if the resource is gone) or the UUID of
    the resource of that name; None if no such name.
    """
    if uuidutils.is_uuid_like(ident):
        return ident
    try:
        return cls.get(utils.context(), ident).uuid
    except exception.NotFound:
        return None


class JobsController(base.RestController):

    _custom_actions = {'cancel': ['POST'], 'inventory': ['GET']}

    steps = steps.StepsController()

    @types.expose(types.jsontype, types.text, types.text, types.text,
                  types.text, types.text, types.text, types.text, types.text)
    def get_all(self, status=None, workflow=None, task=None, limit=None,
                marker=None, sort_key=None, sort_dir=None,
                all_projects=None):
        utils.authorize('craton:job:list')
        listing = utils.list_context(all_projects, 'job')
        page = collection.Page(limit, marker, sort_key, sort_dir, SORT_KEYS)
        filters = {'status': status}
        for key, cls, ident in (('workflow_uuid', workflow_obj.Workflow,
                                 workflow),
                                ('task_uuid', task_obj.Task, task)):
            if ident is not None:
                filters[key] = _uuid_of(cls, ident)
                if filters[key] is None:
                    return page.nothing('jobs', job_obj.Job.list, listing)
        # Plain dicts, not objects: a page holds a hundred jobs of many
        # steps each, and only reads them.
        items, more = page.fetch(job_obj.Job.list_summaries, listing,
                                 VIEW_FIELDS, STEP_FIELDS, filters)
        base = utils.base_url()
        return collection.collection(
            'jobs', [_view(job, job['steps'], base) for job in items],
            page, more)

    @types.expose(types.jsontype, types.text)
    def get_one(self, ident):
        # Read as plain values, not objects: clients poll this.
        if not uuidutils.is_uuid_like(ident):
            raise exception.JobNotFound(job=ident)
        values = job_obj.Job.get_summary(utils.context(), ident,
                                         VIEW_FIELDS, STEP_FIELDS)
        # The target every job endpoint gives: the job's project only.
        utils.authorize('craton:job:get',
                        {'project_id': values['project_id']})
        return _view(values, values['steps'])

    @types.expose(types.jsontype, body=types.JobCreate, status_code=202)
    def post(self, body):
        ctx = utils.context()
        utils.authorize('craton:job:create')
        values, job_steps = job_submission.target(body)
        hosts = job_submission.hosts_snapshot(body.inventory)
        values.update(project_id=ctx.project_id, user_id=ctx.user_id,
                      status=states.JOB_PENDING,
                      variables=utils.check_variables(
                          body.values().get('variables')))
        job = job_obj.Job.submit(ctx, values, job_steps, hosts)
        utils.cast('run_job', job.uuid)
        return job_view(job)

    @types.expose(types.jsontype, types.text, status_code=202)
    def cancel(self, ident):
        job = get_job(ident)
        utils.authorize('craton:job:cancel', job)
        # Through the job machine, conditional on the status read; a
        # runner that moved the job meanwhile (pending -> running) makes
        # the write miss, so ask again from where the job is now.
        for _attempt in range(_CANCEL_TRIES):
            if not fsm.job_can(job.status, fsm.JOB_CANCEL):
                break       # already cancelling, or final
            if job.update({'status': fsm.job_next(job.status,
                                                  fsm.JOB_CANCEL)},
                          expected_status=job.status):
                break
            job.refresh()
        if job.status in states.JOB_FINAL:
            raise exception.InvalidState(
                reason="job %s is already %s; only an unfinished job can be "
                       "cancelled" % (job.uuid, job.status))
        utils.cast('cancel_job', job.uuid)
        return job_view(job)

    @types.expose(types.jsontype, types.text, types.text, types.text,
                  types.text, types.text)
    def inventory(self, ident, limit=None, marker=None, sort_key=None,
                  sort_dir=None):
        job = get_job(ident)
        utils.authorize('craton:job:inventory', job)
        page = collection.Page(limit, marker, sort_key, sort_dir,
                               INVENTORY_SORT_KEYS)
        hosts, more = page.slice(job.inventory())
        return collection.collection('hosts', hosts, page, more)
