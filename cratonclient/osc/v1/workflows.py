# SPDX-License-Identifier: Apache-2.0
"""``openstack craton workflow …``"""

import json
import re

import yaml

from cratonclient import exceptions
from cratonclient.osc.v1 import common


class _PlainLoader(yaml.SafeLoader):
    """YAML's safe loader, without the implicit types that JSON does not
    have: a date or time written plainly (``2024-01-01``, ``2024-01-01
    10:00:00``, ``12:30``, which YAML 1.1 reads as a timestamp or a base-60
    number) stays the string it was written as.
    """


def _plain_resolvers(resolvers):
    out = {}
    for first, entries in resolvers.items():
        kept = []
        for tag, regexp in entries:
            if tag == 'tag:yaml.org,2002:timestamp':
                continue
            if tag in ('tag:yaml.org,2002:int', 'tag:yaml.org,2002:float'):
                # No base-60 forms: nothing with a colon is a number.
                regexp = re.compile('(?=[^:]*$)' + regexp.pattern,
                                    regexp.flags)
            kept.append((tag, regexp))
        out[first] = kept
    return out


_PlainLoader.yaml_implicit_resolvers = _plain_resolvers(
    yaml.SafeLoader.yaml_implicit_resolvers)


def _one_line(text):
    return ' '.join(str(text).split())


def load_file(path):
    """A workflow definition from ``path``: the API's JSON body, or the
    same in YAML (dates and times kept as written); a dict that is valid
    strict JSON.

    :raises CommandError: unreadable, not JSON or YAML, not a mapping, or
        holding what JSON cannot (a cycle of aliases, a set, binary, an
        explicit timestamp, NaN or infinity); one line naming ``path``.
    """
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise exceptions.CommandError('cannot read %s: %s' % (path, exc))
    try:
        try:
            body = json.loads(text)
        except ValueError:
            body = yaml.load(text, Loader=_PlainLoader)
    except yaml.YAMLError as exc:
        raise exceptions.CommandError(
            '%s is neither JSON nor YAML: %s' % (path, _one_line(exc)))
    except (RecursionError, ValueError, TypeError) as exc:
        raise exceptions.CommandError(
            'cannot load %s: %s' % (path, _one_line(exc) or
                                    type(exc).__name__))
    if not isinstance(body, dict):
        raise exceptions.CommandError(
            '%s must hold a workflow object (name, description, variables, '
            'steps), not %s' % (path, type(body).__name__))
    try:
        # What will be sent must be strict JSON.
        json.dumps(body, allow_nan=False)
    except (RecursionError, ValueError, TypeError) as exc:
        if isinstance(exc, RecursionError) or 'Circular' in str(exc):
            why = 'it refers to itself (a cycle of YAML aliases) or nests ' \
                  'too deep'
        else:
            why = _one_line(exc)
        raise exceptions.CommandError(
            '%s cannot be sent as JSON: %s' % (path, why))
    return body


def step_of(text):
    """``--step TASK[=STEP_NAME]`` as a workflow step."""
    task, sep, name = text.partition('=')
    if not task or (sep and not name):
        raise exceptions.CommandError(
            '--step %r: expected TASK or TASK=STEP_NAME' % text)
    return {'task': task, 'name': name} if sep else {'task': task}


def apply_options(body, parsed_args):
    """Command-line ``--description`` replaces the file's, ``--var`` adds
    to or replaces the file's variables, ``--secret`` adds to the file's
    ``secrets``.
    """
    if parsed_args.description is not None:
        body['description'] = parsed_args.description
    if parsed_args.vars:
        variables = body.get('variables')
        variables = dict(variables) if isinstance(variables, dict) else {}
        variables.update(parsed_args.vars)
        body['variables'] = variables
    if parsed_args.secrets:
        body['secrets'] = common.merge_secrets(body.get('secrets'),
                                               parsed_args.secrets)
    return body


class WorkflowCommand(common.ShowCommand):

    special_columns = {'steps': common.WorkflowStepsColumn}


class CreateWorkflow(WorkflowCommand):
    """Create a workflow from --step options or a JSON/YAML file."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME', help='Workflow name '
                            '(wins over a name in --file)')
        how = parser.add_mutually_exclusive_group(required=True)
        how.add_argument('--step', dest='steps', action='append',
                         metavar='TASK[=STEP_NAME]',
                         help='A step running TASK (name or UUID), named '
                              'STEP_NAME (default: the task\'s name); '
                              'repeat, in order')
        how.add_argument('--file', metavar='FILE',
                         help='The workflow as the API\'s JSON body, or the '
                              'same in YAML')
        parser.add_argument('--description', help='Description (replaces '
                                                  'the file\'s)')
        common.add_var_options(parser)
        common.add_secret_option(
            parser, 'A secret (name) every step receives as a file (repeat '
                    'for more; adds to the file\'s secrets)')
        return parser

    def take_action(self, parsed_args):
        if parsed_args.file is not None:
            body = load_file(parsed_args.file)
        else:
            body = {'steps': [step_of(s) for s in parsed_args.steps]}
        body['name'] = parsed_args.name
        apply_options(body, parsed_args)
        return self.show(self.craton.workflows.create(body))


class ListWorkflows(common.ListCommand):
    """List workflows."""

    default_columns = ('uuid', 'name', 'description')
    special_columns = {'steps': common.WorkflowStepsColumn}

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--name', help='Only the workflow of this name')
        common.add_all_projects(parser)
        return parser

    def take_action(self, parsed_args):
        items = self.craton.workflows.list(
            name=parsed_args.name,
            all_projects=common.all_projects(parsed_args))
        return self.listing(parsed_args, items)


class ShowWorkflow(WorkflowCommand):
    """Show a workflow and its steps."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('workflow', metavar='WORKFLOW',
                            help='Workflow (name or UUID)')
        return parser

    def take_action(self, parsed_args):
        return self.show(self.craton.workflows.get(parsed_args.workflow))


class SetWorkflow(ShowWorkflow):
    """Replace a workflow's definition with a JSON/YAML file's (keeping
    its name unless --name is given).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--file', metavar='FILE', required=True,
                            help='The new definition (the API\'s JSON body, '
                                 'or the same in YAML); a name in it is '
                                 'ignored: the workflow keeps its name '
                                 'unless --name is given')
        parser.add_argument('--name', help='New name')
        parser.add_argument('--description', help='Description (replaces '
                                                  'the file\'s)')
        common.add_var_options(parser)
        common.add_secret_option(
            parser, 'A secret (name) every step receives as a file (repeat '
                    'for more; adds to the file\'s secrets)')
        return parser

    def take_action(self, parsed_args):
        workflows = self.craton.workflows
        body = apply_options(load_file(parsed_args.file), parsed_args)
        # As for create, the command line names the workflow: its current
        # name stays (a name in the file is ignored) unless --name is given.
        if parsed_args.name is not None:
            body['name'] = parsed_args.name
        else:
            body['name'] = workflows.get(parsed_args.workflow)['name']
        return self.show(workflows.replace(parsed_args.workflow, body))


class DeleteWorkflow(common.DeleteCommand):
    """Delete workflows."""

    kind = 'workflow'
    manager = 'workflows'
