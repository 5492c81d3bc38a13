# SPDX-License-Identifier: Apache-2.0
"""``openstack craton job …``"""

from osc_lib.command import command

from cratonclient import exceptions
from cratonclient.osc.v1 import common
from cratonclient.osc.v1 import progress


class JobCommand(common.ShowCommand):
    """Prints a job as ``job show`` does (steps one per line in a table)."""

    special_columns = {'steps': common.JobStepsColumn}

    def watch(self, ident):
        """Follow the job on stderr until it is final; print it, and exit 0
        only if it succeeded.
        """
        display = progress.Display(self.app.stderr)
        job = self.craton.jobs.wait(
            ident, interval=progress.POLL_INTERVAL,
            on_update=lambda j: display.draw(progress.job_lines(j)))
        self.exit_code = 0 if job.get('status') == 'succeeded' else 1
        return self.show(job)


class RunJob(JobCommand):
    """Run a workflow, or a single task, on hosts."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument('--workflow', help='Workflow to run (name or UUID)')
        what.add_argument('--task', help='Single task to run (name or UUID)')
        parser.add_argument('--host', dest='hosts', action='append',
                            default=[], metavar='HOST',
                            help='A host to run on (name or UUID; repeat '
                                 'for more)')
        parser.add_argument('--label', dest='labels', action='append',
                            default=[], metavar='LABEL',
                            help='Also run on the hosts with this label '
                                 '(repeat: all of them)')
        parser.add_argument('--region', help='... in this region')
        parser.add_argument('--cell', help='... in this cell')
        common.add_var_options(parser)
        common.add_secret_option(
            parser, 'A secret (name) every step of the job '
                    'receives as a file (repeat for more)')
        parser.add_argument('--wait', action='store_true',
                            help='Show the steps live on stderr until the '
                                 'job ends; exit 1 unless it succeeded')
        return parser

    def take_action(self, parsed_args):
        inventory = {}
        if parsed_args.hosts:
            inventory['hosts'] = parsed_args.hosts
        if parsed_args.labels:
            inventory['labels'] = parsed_args.labels
        for field in ('region', 'cell'):
            if getattr(parsed_args, field) is not None:
                inventory[field] = getattr(parsed_args, field)
        body = {'inventory': inventory}
        if parsed_args.workflow is not None:
            body['workflow'] = parsed_args.workflow
        else:
            body['task'] = parsed_args.task
        if parsed_args.vars:
            body['variables'] = common.vars_dict(parsed_args.vars)
        if parsed_args.secrets:
            body['secrets'] = list(dict.fromkeys(parsed_args.secrets))
        job = self.craton.jobs.create(body)
        if parsed_args.wait:
            return self.watch(job['uuid'])
        return self.show(job)


class WatchJob(JobCommand):
    """Show a job's steps live on stderr until it ends, then the job;
    exit 1 unless it succeeded.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('job', metavar='JOB', help='Job UUID')
        return parser

    def take_action(self, parsed_args):
        return self.watch(parsed_args.job)


class ListJobs(common.ListCommand):
    """List jobs."""

    default_columns = ('uuid', 'status', 'workflow_uuid', 'task_uuid',
                       'host_count', 'created_at')
    special_columns = {'steps': common.JobStepsColumn}

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--status', help='Only jobs in this status')
        parser.add_argument('--workflow', help='Only runs of this workflow '
                                               '(name or UUID)')
        parser.add_argument('--task', help='Only runs of this single task '
                                           '(name or UUID)')
        common.add_all_projects(parser)
        return parser

    def take_action(self, parsed_args):
        items = self.craton.jobs.list(
            status=parsed_args.status, workflow=parsed_args.workflow,
            task=parsed_args.task,
            all_projects=common.all_projects(parsed_args))
        return self.listing(parsed_args, items)


class ShowJob(JobCommand):
    """Show a job and its steps."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('job', metavar='JOB', help='Job UUID')
        return parser

    def take_action(self, parsed_args):
        return self.show(self.craton.jobs.get(parsed_args.job))


class CancelJob(ShowJob):
    """Cancel an unfinished job (its running container is killed)."""

    def take_action(self, parsed_args):
        return self.show(self.craton.jobs.cancel(parsed_args.job))


class JobInventory(common.ListCommand):
    """List the hosts a job runs on, as snapshotted at submission."""

    default_columns = ('uuid', 'name', 'ip_address', 'region', 'cell',
                       'labels')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('job', metavar='JOB', help='Job UUID')
        return parser

    def take_action(self, parsed_args):
        return self.listing(parsed_args,
                            self.craton.jobs.inventory(parsed_args.job))


def _is_ascii_digits(text):
    return bool(text) and text.isascii() and text.isdigit()


def step_by_index(job, index):
    """The step of ``job`` whose ``index`` is the int ``index``, or None."""
    for step in job.get('steps') or []:
        if step.get('index') == index:
            return step
    return None


def find_step(job, ident):
    """The step of ``job`` a user named with ``ident`` (the STEP argument).

    ``ident`` of ASCII digits only is the step's index when the job has
    such an index, else a name; anything else is a name.

    :raises CommandError: no such step (the message lists the job's steps).
    """
    steps = job.get('steps') or []
    if _is_ascii_digits(ident):
        step = step_by_index(job, int(ident))
        if step is not None:
            return step
    for step in steps:
        if step.get('name') == ident:
            return step
    raise exceptions.CommandError(
        'job %s has no step %r; its steps are: %s' % (
            job.get('uuid'), ident,
            ', '.join('%s %s' % (progress.printable(s.get('index')),
                                 progress.printable(s.get('name')))
                      for s in steps) or 'none'))


class JobLogs(common.CratonMixin, command.Command):
    """Print a job's step logs (every step, each under a header, or one
    step's bytes alone); --follow streams them until the steps end.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('job', metavar='JOB', help='Job UUID')
        parser.add_argument('step', metavar='STEP', nargs='?',
                            help='Only this step, with no header: its '
                                 'index (ASCII digits; a name when no step '
                                 'has that index) or its name')
        parser.add_argument('--follow', action='store_true',
                            help='Keep printing new output until the '
                                 'step(s) end; exit 1 unless they all '
                                 'succeeded')
        return parser

    def _output(self):
        stream = self.app.stdout
        stream.flush()
        buffer = getattr(stream, 'buffer', None)
        if buffer is not None:
            return buffer

        class _Text:
            # A text-only stdout (an embedding app): decode as we go.
            def write(self, data):
                stream.write(data.decode('utf-8', 'replace'))

            def flush(self):
                stream.flush()
        return _Text()

    def take_action(self, parsed_args):
        jobs = self.craton.jobs
        job = jobs.get(parsed_args.job)
        uuid = job['uuid']
        if parsed_args.step is not None:
            indexes = [find_step(job, parsed_args.step)['index']]
        else:
            indexes = [s['index'] for s in
                       sorted(job.get('steps') or [],
                              key=lambda s: s['index'])]
        out = self._output()
        last = b'\n'
        for n, index in enumerate(indexes):
            if parsed_args.step is None:
                if parsed_args.follow and n:
                    # The header shows the step's status when it starts
                    # printing.
                    job = jobs.get(uuid)
                step = step_by_index(job, index) or {}
                if last != b'\n':
                    out.write(b'\n')
                out.write(('==> step %s %s (%s) <==\n' % (
                    index, progress.printable(step.get('name')),
                    progress.printable(step.get('status')))
                ).encode('utf-8'))
                out.flush()
                last = b'\n'
            for page in jobs.iter_log(uuid, index, follow=parsed_args.follow,
                                      interval=progress.POLL_INTERVAL):
                if page.data:
                    out.write(page.data)
                    out.flush()
                    last = page.data[-1:]
        if not parsed_args.follow:
            return 0
        job = jobs.get(uuid)
        statuses = [(step_by_index(job, i) or {}).get('status')
                    for i in indexes]
        return 0 if all(s == 'succeeded' for s in statuses) else 1
