# SPDX-License-Identifier: Apache-2.0
"""The rules of the house about imports, read from the source with ``ast``.

Nothing is imported: every module of ``craton/`` (but the tests and the
alembic migration scripts, which are data rather than code of a room) is
parsed, and every ``import`` statement counts, at module level or inside a
function, class or ``if`` alike: an import moved into a function still is a
dependency, only a hidden one.

An edge ``a -> b`` means module ``a`` imports module ``b``:

* ``import x.y.z`` is an edge to ``x.y.z``;
* ``from x.y import z`` is an edge to ``x.y.z`` when that is a module, else
  (``z`` is a name defined in ``x.y``) to ``x.y``; relative imports are
  resolved first.

Importing ``x.y.z`` also runs the ``__init__`` of ``x`` and ``x.y``; those
implied edges to the parents are not drawn. Drawn, they would put a package
whose ``__init__`` imports its children in a cycle with every child that
imports a sibling (``craton.api.controllers.v1`` and its controllers,
``craton.common.policy`` and its rule modules): a cycle Python resolves by
design, which says nothing about how the rooms depend on each other. An
``import`` that names a package itself (``from craton import conf``) is
drawn, as the edge to that package.
"""

import ast
import os
import unittest

import craton

PACKAGE = 'craton'
ROOT = os.path.dirname(os.path.abspath(craton.__file__))
# Not part of the graph: tests, and migration scripts (alembic loads them
# by path, and each imports only the libraries of its time).
EXCLUDED = ('craton/tests/', 'craton/db/sqlalchemy/alembic/versions/')
API = 'craton.api'
CONDUCTOR = 'craton.conductor'
RPC_CLIENT = 'craton.conductor.rpcapi'
# Where the configured execution driver may be read: the drivers, which are
# chosen by it, and the option's own definition.
DRIVER_ROOMS = ('craton/conductor/drivers/', 'craton/conf/')
DRIVER_OPTION = 'execution_driver'
# The drivers' names, as [conductor] execution_driver gives them.
DRIVER_NAMES = ('docker', 'swarm')


def module_files(root=ROOT):
    """``{dotted module name: path}`` of every module below ``root``
    (``root`` is the ``craton`` package directory), but the excluded ones.
    """
    found = {}
    top = os.path.dirname(root)
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, top).replace(os.sep, '/')
            if rel.startswith(EXCLUDED):
                continue
            parts = rel[:-len('.py')].split('/')
            if parts[-1] == '__init__':
                parts.pop()
            found['.'.join(parts)] = path
    return found


def _parse(path):
    with open(path, encoding='utf-8') as f:
        return ast.parse(f.read(), path)


def _imported(module, tree, is_package, modules):
    """The modules of ``modules`` that ``module`` (parsed as ``tree``)
    imports, anywhere in its body.
    """
    targets = set()
    for node in ast.walk(tree):
        if _dynamic_import(node):
            # importlib.import_module('craton....') / __import__ with a
            # constant name: an import all the same.
            targets.add(node.args[0].value)
        elif isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                # A package's own name is the anchor of "from . import x".
                parts = module.split('.')[:None if is_package else -1]
                parts = parts[:len(parts) - (node.level - 1)]
                base = '.'.join(parts + ([base] if base else []))
            for alias in node.names:
                child = '%s.%s' % (base, alias.name)
                targets.add(child if child in modules else base)
    return {t for t in targets if t in modules}


def _dynamic_import(node):
    """Whether ``node`` is ``import_module('…')`` or ``__import__('…')``
    with a constant module name.
    """
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(
        func, 'id', None)
    return (name in ('import_module', '__import__') and
            isinstance(node.args[0], ast.Constant) and
            isinstance(node.args[0].value, str))


def import_graph(root=ROOT):
    """``{module: set of craton modules it imports}`` for the modules of
    :func:`module_files`.
    """
    files = module_files(root)
    return {name: _imported(name, _parse(path),
                            path.endswith('__init__.py'), files)
            for name, path in files.items()}


def cycles(graph):
    """The cycles of ``graph``: each strongly connected component of more
    than one module (or of one module importing itself), as a sorted tuple.
    """
    # Tarjan's algorithm, iterative: no recursion limit to think about.
    index, low, on_stack, stack, found = {}, {}, set(), [], set()
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph.get(node, ()):
                        found.add(tuple(sorted(component)))
    return found


def api_imports_of_conductor(graph):
    """``{API module: conductor modules it imports}``, the RPC client not
    counted; empty when the API keeps to the rule.
    """
    wrong = {}
    for module, targets in graph.items():
        if module != API and not module.startswith(API + '.'):
            continue
        bad = sorted(t for t in targets if t != RPC_CLIENT and (
            t == CONDUCTOR or t.startswith(CONDUCTOR + '.')))
        if bad:
            wrong[module] = bad
    return wrong


def _names_a_driver(node):
    """Whether ``node`` compares something with a driver's name (a
    constant of :data:`DRIVER_NAMES`, or a driver's ``NAME``).
    """
    if not isinstance(node, ast.Compare):
        return False
    for side in [node.left] + node.comparators:
        if isinstance(side, ast.Constant) and side.value in DRIVER_NAMES:
            return True
        if isinstance(side, ast.Attribute) and side.attr == 'NAME':
            return True
    return False


def driver_option_readers(root=ROOT):
    """``{module: line numbers}`` where a module outside the drivers and
    the configuration asks which driver is configured: it reads
    ``execution_driver`` (``conf.conductor.execution_driver``, or the name
    as a string, e.g. in ``getattr``) or compares with a driver's name.
    """
    found = {}
    top = os.path.dirname(root)
    for module, path in module_files(root).items():
        rel = os.path.relpath(path, top).replace(os.sep, '/')
        if rel.startswith(DRIVER_ROOMS):
            continue
        lines = sorted(
            node.lineno for node in ast.walk(_parse(path))
            if (isinstance(node, ast.Attribute) and
                node.attr == DRIVER_OPTION) or
            (isinstance(node, ast.Constant) and node.value == DRIVER_OPTION) or
            _names_a_driver(node))
        if lines:
            found[module] = lines
    return found


class TestImportGraph(unittest.TestCase):

    def setUp(self):
        super().setUp()
        self.graph = import_graph()

    def test_graph_is_read(self):
        # Guards the other tests against passing on an empty graph.
        self.assertIn('craton.api.controllers.v1.tasks', self.graph)
        self.assertIn('craton.common.exception',
                      self.graph['craton.api.controllers.v1.tasks'])
        self.assertIn(RPC_CLIENT, self.graph['craton.api.hooks'])
        self.assertNotIn('craton.tests', self.graph)

    def test_api_imports_only_the_rpc_client_of_the_conductor(self):
        wrong = api_imports_of_conductor(self.graph)
        self.assertEqual(
            {}, wrong, 'craton/api may import nothing of craton.conductor '
            'but %s (shared code belongs in craton/common): %s' % (
                RPC_CLIENT, '; '.join('%s imports %s' % (m, ', '.join(t))
                                      for m, t in sorted(wrong.items()))))

    def test_no_import_cycle(self):
        found = sorted(cycles(self.graph))
        self.assertEqual([], found, 'import cycles among craton modules: %s'
                         % '; '.join(' <-> '.join(c) for c in found))

    def test_only_drivers_read_the_execution_driver(self):
        found = driver_option_readers()
        message = ('only craton/conductor/drivers/ (and craton/conf/) may '
                   'ask which execution driver is configured: %s'
                   % '; '.join('%s line %s' % (m, ', '.join(map(str, n)))
                               for m, n in sorted(found.items())))
        self.assertEqual({}, found, message)


class TestCycleFinder(unittest.TestCase):
    """The graph helpers themselves, on small made-up graphs."""

    def test_cycles(self):
        graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a', 'e'},
                 'e': set(), 'f': {'f'}, 'g': {'h'}, 'h': {'g', 'e'}}
        self.assertEqual({('a', 'b', 'c'), ('f',), ('g', 'h')},
                         cycles(graph))
        self.assertEqual(set(), cycles({'a': {'b'}, 'b': set()}))

    def test_api_rule(self):
        graph = {'craton.api.a': {RPC_CLIENT, 'craton.common.x'},
                 'craton.api.b': {'craton.conductor.builds.fetch',
                                  CONDUCTOR},
                 'craton.common.x': {'craton.conductor.manager'}}
        self.assertEqual({'craton.api.b': [CONDUCTOR,
                                           'craton.conductor.builds.fetch']},
                         api_imports_of_conductor(graph))

    def test_function_level_and_relative_imports_count(self):
        tree = ast.parse('def f():\n'
                         '    from craton.conductor.builds import fetch\n'
                         'from . import sibling\n'
                         'from .. import exception\n'
                         'from craton.common.exception import Invalid\n')
        modules = {'craton.conductor.builds.fetch', 'craton.api.sibling',
                   'craton.exception', 'craton.common.exception'}
        self.assertEqual(modules, _imported('craton.api.mod', tree, False,
                                            modules))

    def test_dynamic_imports_count(self):
        tree = ast.parse('import importlib\n'
                         'def f():\n'
                         '    importlib.import_module('
                         '"craton.conductor.builds.fetch")\n'
                         '    __import__("craton.conductor.manager")\n'
                         '    importlib.import_module(name)\n')
        modules = {'craton.conductor.builds.fetch',
                   'craton.conductor.manager'}
        self.assertEqual(modules, _imported('craton.api.mod', tree, False,
                                            modules))

    def test_naming_a_driver_counts(self):
        for code, named in (('driver.NAME == "swarm"', True),
                            ('"docker" != kind', True),
                            ('x.NAME in names', True),
                            ('kind == "local"', False),
                            ('name = "swarm"', False)):
            node = ast.parse(code).body[0]
            value = getattr(node, 'value', None)
            self.assertEqual(named, _names_a_driver(value), code)
