# SPDX-License-Identifier: Apache-2.0
"""What every ``openstack craton …`` command shares: ``--var`` parsing,
the columns of structured fields, show/list/delete bases.

Output fields are named as the API names them. Structured fields (dicts
and lists: ``variables``, ``labels``, ``steps``, ``source``, …) are
FormattableColumns: readable in a table, JSON values with ``-f json`` or
``-f yaml``.
"""

import argparse
import json
import math
import shlex

from cliff import columns
from osc_lib.command import command
from osc_lib import utils as osc_utils

from cratonclient import exceptions

# Formatters that print only the default columns of a list unless -c or
# --long asks for more; json and yaml print every field.
NARROW_FORMATTERS = ('table', 'csv', 'value')
# Formatters that print a column's machine-readable value with str(): a
# structured field goes to them as compact JSON text, not a Python repr.
TEXT_FORMATTERS = ('value', 'csv', 'shell')


def _no_constant(name):
    raise ValueError('%s is not JSON' % name)


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError('%s is out of range' % text)
    return value


def strict_json_loads(text):
    """``json.loads`` of strict JSON (RFC 8259): ``NaN``, ``Infinity`` and
    ``-Infinity`` are refused, and so are numbers too large for a float
    (``1e400``), instead of becoming non-finite floats.

    :raises ValueError: ``text`` is not strict JSON.
    """
    return json.loads(text, parse_constant=_no_constant,
                      parse_float=_finite_float)


def var_pair(text):
    """argparse type of ``--var KEY=VALUE``: ``(KEY, VALUE)``, VALUE parsed
    as strict JSON when it parses (``false``, ``3``, ``[22,80]``,
    ``{"a":1}``, ``"quoted"``), else kept as the string given (so ``NaN``,
    ``Infinity`` or ``1e400`` stay strings).
    """
    key, sep, raw = text.partition('=')
    if not sep or not key:
        raise argparse.ArgumentTypeError(
            'expected KEY=VALUE, got %r' % text)
    try:
        value = strict_json_loads(raw)
    except ValueError:
        value = raw
    return key, value


def vars_dict(pairs):
    """The ``--var`` pairs as a dict (a later KEY wins), or None if none."""
    return dict(pairs) if pairs else None


def add_var_options(parser, unset=False):
    parser.add_argument(
        '--var', metavar='KEY=VALUE', dest='vars', action='append',
        type=var_pair, default=[],
        help='Set a variable (repeat for more); VALUE is parsed as JSON '
             'when it parses (false, 3, [22,80]), else taken as a string')
    if unset:
        parser.add_argument(
            '--unset-var', metavar='KEY', dest='unset_vars', action='append',
            default=[], help='Remove a variable (repeat for more)')


def add_secret_option(parser, help_text):
    """``--secret SECRET``, repeatable, into ``parsed_args.secrets``."""
    parser.add_argument(
        '--secret', dest='secrets', action='append', default=[],
        metavar='SECRET', help=help_text)


def merge_secrets(current, added):
    """The secret names of ``current`` (a list, or anything else when a
    file has none) followed by those of ``added`` not already there.
    """
    names = list(current) if isinstance(current, list) else []
    names.extend(n for n in added if n not in names)
    return names


class DictColumn(columns.FormattableColumn):
    """A JSON object: ``key='value', …`` in a table."""

    def human_readable(self):
        if self._value is None:
            return ''
        return osc_utils.format_dict(self._value)

    def machine_readable(self):
        return self._value


class ListColumn(columns.FormattableColumn):
    """A JSON array of scalars: ``a, b`` in a table."""

    def human_readable(self):
        return ', '.join(str(v) for v in self._value or [])

    def machine_readable(self):
        return self._value


class ListOfDictsColumn(columns.FormattableColumn):
    """A JSON array of objects: one line per object in a table."""

    def human_readable(self):
        return '\n'.join(self._line(v) for v in self._value or [])

    def _line(self, item):
        if isinstance(item, dict):
            return osc_utils.format_dict(item)
        return str(item)

    def machine_readable(self):
        return self._value


class CommandColumn(ListColumn):
    """A command (argv list): shell-quoted in a table."""

    def human_readable(self):
        return shlex.join(str(v) for v in self._value or [])


class JobStepsColumn(ListOfDictsColumn):
    """A job's steps: ``0 name: status on node (exit 1, reason)``."""

    def _line(self, step):
        text = '%s %s: %s' % (step.get('index'), step.get('name'),
                              step.get('status'))
        if step.get('node'):
            text += ' on %s' % step['node']
        notes = []
        if step.get('exit_code') is not None:
            notes.append('exit %s' % step['exit_code'])
        if step.get('status_reason'):
            notes.append(' '.join(str(step['status_reason']).split()))
        return text + (' (%s)' % ', '.join(notes) if notes else '')


class WorkflowStepsColumn(ListOfDictsColumn):
    """A workflow's steps: ``name: task NAME (UUID), timeout 300s, …``."""

    def _line(self, step):
        text = '%s: task %s' % (step.get('name'),
                                step.get('task_name') or step.get('task'))
        if step.get('task_name') and step.get('task'):
            text += ' (%s)' % step['task']
        if step.get('timeout'):
            text += ', timeout %ss' % step['timeout']
        if step.get('variables'):
            text += ', %s' % osc_utils.format_dict(step['variables'])
        if step.get('secrets'):
            text += ', secrets %s' % ', '.join(str(s) for s in
                                               step['secrets'])
        return text


def column_for(name, value, special=None, formatter=None):
    """``value`` wrapped in the column class that fits it (as JSON text for
    the ``TEXT_FORMATTERS``).
    """
    if formatter in TEXT_FORMATTERS and isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(',', ':'))
    cls = (special or {}).get(name)
    if cls is None:
        if isinstance(value, dict):
            cls = DictColumn
        elif isinstance(value, list):
            if any(isinstance(v, dict) for v in value):
                cls = ListOfDictsColumn
            else:
                cls = ListColumn
    return cls(value) if cls else value


def requested_first(names, requested):
    """``names`` with those asked for by ``-c`` first, in the order asked
    (cliff keeps the order it is given when it drops the others).
    """
    wanted = [c for c in dict.fromkeys(requested or ()) if c in names]
    return wanted + [n for n in names if n not in wanted]


def fields_of(resource, special=None, formatter=None, requested=None):
    """``(names, values)`` of every field, in the API's order (or the order
    of ``-c``).
    """
    names = tuple(requested_first(list(resource), requested))
    return names, tuple(column_for(n, resource[n], special, formatter)
                        for n in names)


class CratonMixin:
    """The client, and a way to exit non-zero after printing output."""

    exit_code = 0
    formatter_name = None
    requested_columns = ()

    @property
    def craton(self):
        return self.app.client_manager.craton

    def run(self, parsed_args):
        self.formatter_name = getattr(parsed_args, 'formatter', None)
        self.requested_columns = getattr(parsed_args, 'columns', None) or ()
        result = super().run(parsed_args)
        return result or self.exit_code


class ShowCommand(CratonMixin, command.ShowOne):
    """Prints one resource, every field (``special`` picks columns)."""

    special_columns = None

    def show(self, resource):
        return fields_of(resource, self.special_columns,
                         self.formatter_name, self.requested_columns)


class ListCommand(CratonMixin, command.Lister):
    """Prints a list: the default columns in a table (every field with
    ``--long``, ``-c``, ``-f json`` or ``-f yaml``).
    """

    default_columns = ('uuid', 'name')
    special_columns = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--long', action='store_true',
            help='Show every field in table, csv and value output')
        return parser

    def listing(self, parsed_args, items):
        names = []
        for item in items:
            names.extend(n for n in item if n not in names)
        narrow = (not parsed_args.long and not parsed_args.columns and
                  parsed_args.formatter in NARROW_FORMATTERS)
        if narrow or not names:
            names = list(self.default_columns)
        names = requested_first(names, parsed_args.columns)
        rows = [tuple(column_for(n, item.get(n), self.special_columns,
                                 parsed_args.formatter)
                      for n in names) for item in items]
        return tuple(names), rows


def add_all_projects(parser):
    parser.add_argument(
        '--all-projects', action='store_true',
        help='List the items of every project (admins only)')


def all_projects(parsed_args):
    return 'true' if parsed_args.all_projects else None


class DeleteCommand(CratonMixin, command.Command):
    """Deletes one or more resources; tries every one, exits 1 if any
    failed (one line per failure).
    """

    kind = None          # 'region'
    manager = None       # 'regions'

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'idents', nargs='+', metavar=self.kind.upper(),
            help='%s to delete (name or UUID)' % self.kind.capitalize())
        return parser

    def take_action(self, parsed_args):
        failures = []
        for ident in parsed_args.idents:
            try:
                getattr(self.craton, self.manager).delete(ident)
            except exceptions.ClientException as exc:
                failures.append(exc)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            for exc in failures:
                self.app.stderr.write('%s\n' % exc)
            raise exceptions.CommandError(
                '%d of %d %ss could not be deleted' % (
                    len(failures), len(parsed_args.idents), self.kind))
        return 0
