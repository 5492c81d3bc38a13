# SPDX-License-Identifier: Apache-2.0
"""``openstack craton secret …``

A value is read from a file or from stdin, never from the command line
(where ``ps``, the shell's history and ``--debug``'s echo of the options
would show it), sent as it is, and never printed: every command prints the
secret's metadata only.
"""

from cratonclient import exceptions
from cratonclient.osc.v1 import common
from cratonclient.v1 import secrets as secrets_v1


def add_value_options(parser):
    """``--value-file FILE`` or ``--value-stdin``, one of them required."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        '--value-file', metavar='FILE',
        help='Read the value from FILE (its bytes as they are, a final '
             'newline included; UTF-8)')
    source.add_argument(
        '--value-stdin', action='store_true',
        help='Read the value from standard input until end of file (its '
             'bytes as they are, a final newline included; UTF-8)')


def read_value(parsed_args, stdin, stderr=None):
    """The value the options name, as text (UTF-8 decoded, nothing
    stripped).

    :param stdin: the command's standard input (its ``buffer`` is read
        when it has one, so the bytes are exactly those given).
    :param stderr: where to say that a terminal's input is awaited.
    :raises CommandError: the file cannot be read, or the bytes are not
        UTF-8 (the message never shows them).
    """
    if parsed_args.value_file is not None:
        path = parsed_args.value_file
        try:
            with open(path, 'rb') as f:
                data = f.read()
        except OSError as exc:
            raise exceptions.CommandError(
                'cannot read %s: %s' % (path, exc.strerror or exc))
        where = path
    else:
        if stderr is not None and _isatty(stdin):
            stderr.write('Type the secret value, then Ctrl-D (end of '
                         'file) on a line of its own:\n')
            stderr.flush()
        buffer = getattr(stdin, 'buffer', None)
        data = buffer.read() if buffer is not None else stdin.read()
        where = 'standard input'
    try:
        return secrets_v1.value_text(data)
    except exceptions.CommandError as exc:
        raise exceptions.CommandError('%s: %s' % (where, exc))


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class CreateSecret(common.ShowCommand):
    """Create a secret from a file or from stdin; prints its metadata."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('name', metavar='NAME',
                            help='Secret name ([A-Za-z0-9._-], at most 255; '
                                 'the file name a step reads it from)')
        add_value_options(parser)
        parser.add_argument('--description', help='Description')
        return parser

    def take_action(self, parsed_args):
        body = {'name': parsed_args.name,
                'value': read_value(parsed_args, self.app.stdin,
                                    self.app.stderr)}
        if parsed_args.description is not None:
            body['description'] = parsed_args.description
        return self.show(self.craton.secrets.create(body))


class ListSecrets(common.ListCommand):
    """List secrets (metadata only)."""

    default_columns = ('uuid', 'name', 'description')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_all_projects(parser)
        return parser

    def take_action(self, parsed_args):
        items = self.craton.secrets.list(
            all_projects=common.all_projects(parsed_args))
        return self.listing(parsed_args, items)


class ShowSecret(common.ShowCommand):
    """Show a secret's metadata (never its value)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('secret', metavar='SECRET',
                            help='Secret (name or UUID)')
        return parser

    def take_action(self, parsed_args):
        return self.show(self.craton.secrets.get(parsed_args.secret))


class SetSecret(ShowSecret):
    """Replace a secret's value (rotation) from a file or from stdin;
    prints its metadata.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_value_options(parser)
        return parser

    def take_action(self, parsed_args):
        value = read_value(parsed_args, self.app.stdin, self.app.stderr)
        return self.show(self.craton.secrets.set_value(parsed_args.secret,
                                                       value))


class DeleteSecret(common.DeleteCommand):
    """Delete secrets."""

    kind = 'secret'
    manager = 'secrets'
