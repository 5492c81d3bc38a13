#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Draw Craton's state machines (task build, job, step) with Graphviz.

The machines come from craton.common.fsm, so the diagram is always the
code's truth. Uses automaton's pydot converter: needs ``pydot``, and the
Graphviz ``dot`` program for any format other than ``dot``.

    tools/states-diagram.py                    # every machine, dot, stdout
    tools/states-diagram.py doc/source/images  # <m>-states.dot and .png
    tools/states-diagram.py -m job -f svg -o job.svg
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..'))

from automaton.converters import pydot as pydot_converter  # noqa: E402

from craton.common import fsm  # noqa: E402
from craton.common import states  # noqa: E402

_FINAL = {
    'task': {states.TASK_READY, states.TASK_ERROR, states.TASK_DELETING},
    'job': set(states.JOB_FINAL),
    'step': set(states.STEP_FINAL),
}
_BAD = {states.TASK_ERROR, states.JOB_FAILED, states.JOB_ERROR,
        states.STEP_FAILED, states.STEP_TIMED_OUT, states.STEP_LOST}


def graph(kind):
    """Return the pydot graph of machine ``kind`` (task, job or step)."""
    machine = fsm.MACHINES[kind]
    final = _FINAL[kind]

    def node_attrs(state):
        attrs = {'shape': 'box', 'style': 'rounded'}
        if state in final:
            # Stable end points stand out; bad ones in red.
            attrs.update(peripheries='2',
                         color='red' if state in _BAD else 'darkgreen')
        return attrs

    def edge_attrs(start, event, end):
        return {'label': event, 'fontsize': '10'}

    return pydot_converter.convert(
        machine, '%s_states' % kind,
        graph_attrs={'label': 'Craton %s states' % kind, 'labelloc': 't'},
        node_attrs_cb=node_attrs, edge_attrs_cb=edge_attrs)


def _write(dot, path, fmt):
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    if fmt == 'dot':
        with open(path, 'w') as out:
            out.write(dot.to_string())
    else:
        dot.write(path, format=fmt)
    print('wrote %s' % path, file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('directory', nargs='?',
                        help='write <machine>-states.dot and '
                             '<machine>-states.<format> (png by default) '
                             'here, for every machine drawn')
    parser.add_argument('-m', '--machine', action='append',
                        choices=sorted(fsm.MACHINES),
                        help='machine to draw (repeatable; default: all)')
    parser.add_argument('-f', '--format',
                        help='dot, png, svg or any Graphviz output format '
                             '(default: png with a directory, else dot)')
    parser.add_argument('-o', '--output',
                        help='file to write, for one machine; default: '
                             'stdout (dot only)')
    args = parser.parse_args(argv)
    kinds = args.machine or ['task', 'job', 'step']
    fmt = args.format or ('png' if args.directory else 'dot')
    if args.output and (args.directory or len(kinds) != 1):
        parser.error('--output takes one --machine and no directory')
    if fmt != 'dot' and not (args.output or args.directory):
        parser.error('format %s needs --output or a directory' % fmt)
    try:
        graphs = [(kind, graph(kind)) for kind in kinds]
    except RuntimeError as exc:
        parser.exit(2, 'states-diagram: %s (pip install pydot)\n' % exc)
    try:
        for kind, dot in graphs:
            if args.output:
                _write(dot, args.output, fmt)
            elif args.directory:
                base = os.path.join(args.directory, '%s-states' % kind)
                _write(dot, base + '.dot', 'dot')
                if fmt != 'dot':
                    _write(dot, '%s.%s' % (base, fmt), fmt)
            else:
                sys.stdout.write(dot.to_string())
    except OSError as exc:
        parser.exit(2, 'states-diagram: cannot run Graphviz: %s; install '
                       'it (the dot program) or use -f dot\n' % exc)
    return 0


if __name__ == '__main__':
    sys.exit(main())
