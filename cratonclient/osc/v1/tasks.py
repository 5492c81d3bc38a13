# SPDX-License-Identifier: Apache-2.0
"""``openstack craton task …``"""

import shlex
import time

from cratonclient import exceptions
from cratonclient.osc.v1 import common
from cratonclient.osc.v1 import progress
from cratonclient.v1 import archive
from cratonclient.v1 import json_patch_ops


def split_command(text):
    """``--command "CMD ARGS"`` split as a shell would (quotes kept
    together); a non-empty list.

    :raises CommandError: empty, or unbalanced quotes.
    """
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise exceptions.CommandError('--command %r: %s' % (text, exc))
    if not argv:
        raise exceptions.CommandError('--command must name a program')
    return argv


class TaskCommand(common.ShowCommand):
    """Prints a task; ``--wait`` follows its build."""

    special_columns = {'command': common.CommandColumn}

    def add_wait(self, parser):
        parser.add_argument(
            '--wait', action='store_true',
            help='Show the build status on stderr until the task is ready '
                 '(exit 0) or in error (exit 1)')

    def finish(self, task, wait):
        if wait:
            display = progress.Display(self.app.stderr)
            lines = progress.TaskBuildLines(time.monotonic)
            task = self.craton.tasks.wait_for_build(
                task['uuid'], interval=progress.POLL_INTERVAL,
                on_update=lambda t: display.draw(lines(t)))
            self.exit_code = 0 if task.get('status') == 'ready' else 1
        return self.show(task)


class CreateTask(TaskCommand):
    """Create a task: a container image built from a source directory (git,
    a path on the conductors, or a local directory uploaded now), plus the
    command to run in it.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME', help='Task name')
        parser.add_argument('--command', required=True, metavar='"CMD ARGS"',
                            help='Command to run in the image, split as a '
                                 'shell would')
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument('--git-url', metavar='URL',
                            help='Build from this git repository')
        source.add_argument('--local-path', metavar='PATH',
                            help='Build from this directory on the '
                                 'conductor hosts')
        source.add_argument('--from-dir', metavar='DIR',
                            help='Build from this local directory (sent '
                                 'now as a gzipped tar)')
        parser.add_argument('--git-ref', metavar='REF',
                            help='Branch, tag or commit (with --git-url)')
        parser.add_argument('--git-path', metavar='P',
                            help='Directory inside the repository (with '
                                 '--git-url)')
        parser.add_argument('--description', help='Description')
        parser.add_argument('--timeout', type=int, metavar='SECONDS',
                            help='Step timeout in seconds (default: the '
                                 'service\'s, 3600)')
        self.add_wait(parser)
        return parser

    def _source(self, parsed_args):
        if parsed_args.git_url is None and (parsed_args.git_ref or
                                            parsed_args.git_path):
            raise exceptions.CommandError(
                '--git-ref and --git-path go with --git-url')
        if parsed_args.git_url is not None:
            source = {'type': 'git', 'url': parsed_args.git_url}
            if parsed_args.git_ref:
                source['ref'] = parsed_args.git_ref
            if parsed_args.git_path:
                source['path'] = parsed_args.git_path
            return source
        if parsed_args.local_path is not None:
            return {'type': 'local', 'path': parsed_args.local_path}
        return {'type': 'upload'}

    def take_action(self, parsed_args):
        body = {'name': parsed_args.name,
                'command': split_command(parsed_args.command),
                'source': self._source(parsed_args)}
        if parsed_args.description is not None:
            body['description'] = parsed_args.description
        if parsed_args.timeout is not None:
            body['timeout'] = parsed_args.timeout
        data = None
        if parsed_args.from_dir is not None:
            # Packed before the task exists: a bad directory creates nothing.
            data = archive.directory_archive(parsed_args.from_dir)
        tasks = self.craton.tasks
        task = tasks.create(body)
        if data is not None:
            try:
                task = tasks.upload_source(task['uuid'], data)
            except exceptions.ClientException:
                # Leave no task without a source behind: the same command
                # can simply be run again.
                try:
                    tasks.delete(task['uuid'])
                except exceptions.ClientException:
                    pass
                raise
        return self.finish(task, parsed_args.wait)


class ListTasks(common.ListCommand):
    """List tasks (yours and those made visible to your project)."""

    default_columns = ('uuid', 'name', 'status', 'approval', 'visibility')
    special_columns = {'command': common.CommandColumn}

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--status', help='Only tasks in this build '
                                             'status')
        parser.add_argument('--approval', help='Only tasks in this approval '
                                               'state')
        parser.add_argument('--visibility',
                            choices=('private', 'shared', 'public'),
                            help='Only tasks of this visibility')
        parser.add_argument('--name', help='Only the task of this name')
        common.add_all_projects(parser)
        return parser

    def take_action(self, parsed_args):
        items = self.craton.tasks.list(
            status=parsed_args.status, approval=parsed_args.approval,
            visibility=parsed_args.visibility, name=parsed_args.name,
            all_projects=common.all_projects(parsed_args))
        return self.listing(parsed_args, items)


class ShowTask(TaskCommand):
    """Show a task."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('task', metavar='TASK', help='Task (name or UUID)')
        return parser

    def take_action(self, parsed_args):
        return self.show(self.craton.tasks.get(parsed_args.task))


class SetTask(ShowTask):
    """Change a task's description, command, timeout or visibility."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--description', help='New description')
        parser.add_argument('--command', metavar='"CMD ARGS"',
                            help='New command, split as a shell would (puts '
                                 'approval back to pending)')
        parser.add_argument('--timeout', type=int, metavar='SECONDS',
                            help='New step timeout in seconds')
        parser.add_argument('--visibility',
                            choices=('private', 'shared', 'public'),
                            help='Who may use the task (admins)')
        parser.add_argument('--shared-role', dest='shared_roles',
                            action='append', metavar='ROLE',
                            help='With --visibility shared: a role whose '
                                 'holders may use it (repeat for more; '
                                 'replaces the list)')
        return parser

    def take_action(self, parsed_args):
        ops = []
        if parsed_args.description is not None:
            ops.append(json_patch_ops.replace('/description',
                                              parsed_args.description))
        if parsed_args.command is not None:
            ops.append(json_patch_ops.replace(
                '/command', split_command(parsed_args.command)))
        for field in ('timeout', 'visibility', 'shared_roles'):
            value = getattr(parsed_args, field)
            if value is not None:
                ops.append(json_patch_ops.replace('/' + field, value))
        tasks = self.craton.tasks
        return self.show(tasks.update(parsed_args.task, ops) if ops
                         else tasks.get(parsed_args.task))


class DeleteTask(common.DeleteCommand):
    """Delete tasks."""

    kind = 'task'
    manager = 'tasks'


class RebuildTask(ShowTask):
    """Build a task's image again (from a new local directory with
    --from-dir, for an upload task).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--from-dir', metavar='DIR',
                            help='Send this directory as the task\'s new '
                                 'source (an upload task), which rebuilds it')
        self.add_wait(parser)
        return parser

    def take_action(self, parsed_args):
        tasks = self.craton.tasks
        if parsed_args.from_dir is not None:
            task = tasks.upload_directory(parsed_args.task,
                                          parsed_args.from_dir)
        else:
            task = tasks.rebuild(parsed_args.task)
        return self.finish(task, parsed_args.wait)


class ApproveTask(ShowTask):
    """Approve a ready task, so jobs may run it (admins)."""

    def take_action(self, parsed_args):
        return self.show(self.craton.tasks.approve(parsed_args.task))


class RejectTask(ShowTask):
    """Reject a task (admins)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--reason', help='Why (written to the service '
                                             'log and echoed back)')
        return parser

    def take_action(self, parsed_args):
        return self.show(self.craton.tasks.reject(parsed_args.task,
                                                  parsed_args.reason))
