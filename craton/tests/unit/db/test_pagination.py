# SPDX-License-Identifier: Apache-2.0
"""Lists are total orders (API.md, Basics): walking the pages of any list
by ``marker`` visits every item exactly once and in order, whatever the
sort key, direction and page size, with NULLs and ties in the sort column;
NULL sorts as the lowest value.

The data and the walk here are shared with the API-level test
(``craton/tests/unit/api/test_lists.py``) and with the same walk on real
MariaDB and PostgreSQL (``craton/tests/functional/test_pagination.py``):
the three backends put NULLs in different places unless told.
"""

import datetime

from oslo_utils import uuidutils
import sqlalchemy as sa

from craton.api.controllers.v1 import cells
from craton.api.controllers.v1 import hosts
from craton.api.controllers.v1 import jobs
from craton.api.controllers.v1 import regions
from craton.api.controllers.v1 import tasks
from craton.api.controllers.v1 import workflows
from craton.common import exception
from craton.common import states
from craton.db import api as db_api
from craton.db.sqlalchemy import models
from craton.db.sqlalchemy import session
from craton.tests import base

# Row i of every kind, in creation (so id) order. The columns tie, hold
# NULLs (created_at too: the schema allows it) and order the rows unlike
# their ids, so a walk that leans on the id order, drops NULLs or skips
# ties goes wrong. Offsets are whole seconds: MariaDB's DATETIME keeps no
# fraction.
CREATED = (5, 2, 5, None, 1, 5, 2, 0, None)
UPDATED = (None, 9, None, 9, 3, None, 9, 4, None)
NAMES = (4, 8, 0, 6, 2, 7, 1, 5, 3)
TASK_STATUS = (states.TASK_READY, states.TASK_BUILDING, states.TASK_READY,
               states.TASK_ERROR, states.TASK_READY, states.TASK_BUILDING,
               states.TASK_ERROR, states.TASK_READY, states.TASK_PENDING)
JOB_STATUS = (states.JOB_RUNNING, states.JOB_PENDING, states.JOB_SUCCEEDED,
              states.JOB_RUNNING, states.JOB_FAILED, states.JOB_PENDING,
              states.JOB_SUCCEEDED, states.JOB_RUNNING, states.JOB_FAILED)
N = len(CREATED)
PAGE_SIZES = (1, 2, 3, 4, 7, N + 5)
T0 = datetime.datetime(2026, 1, 1, 12, 0, 0)

# kind: (model, DB API list method, the sort keys the API allows)
LISTS = {
    'regions': (models.Region, 'list_regions', regions.SORT_KEYS),
    'cells': (models.Cell, 'list_cells', cells.SORT_KEYS),
    'hosts': (models.Host, 'list_hosts', hosts.SORT_KEYS),
    'tasks': (models.Task, 'list_tasks', tasks.SORT_KEYS),
    'workflows': (models.Workflow, 'list_workflows', workflows.SORT_KEYS),
    'jobs': (models.Job, 'list_jobs', jobs.SORT_KEYS),
}


def _at(offset):
    return None if offset is None else T0 + datetime.timedelta(
        seconds=offset)


def _name(prefix, i):
    return '%s%02d' % (prefix, NAMES[i % N] + 10 * (i // N))


def build(project, n=N):
    """``n`` rows of every listed kind in ``project``, in one transaction,
    created in order; timestamps (and the statuses of tasks and jobs) come
    from CREATED, UPDATED, TASK_STATUS and JOB_STATUS. The first job's
    inventory snapshot holds every host, in name order as a submission
    takes it.

    :returns: ``{kind: [uuid, ...]}`` in creation order, plus ``'job'``:
        the first job's UUID and ``'inventory'``: its snapshot.
    """
    def add(s, kind, model, i, **values):
        row = model(uuid=uuidutils.generate_uuid(), project_id=project,
                    **values)
        s.add(row)
        s.flush()
        made[kind].append(row)
        # Written apart: on insert, a NULL created_at gets the default.
        table = model.__table__
        s.execute(sa.update(table).where(table.c.id == row.id).values(
            created_at=_at(CREATED[i % N]), updated_at=_at(UPDATED[i % N])))
        return row

    made = {kind: [] for kind in LISTS}
    with session.writer() as s:
        for i in range(n):
            add(s, 'regions', models.Region, i, name=_name('r', i),
                variables={})
        region = made['regions'][0]
        for i in range(n):
            add(s, 'cells', models.Cell, i, name=_name('c', i),
                region_id=region.id, variables={})
        for i in range(n):
            add(s, 'hosts', models.Host, i, name=_name('h', i),
                region_id=region.id, ip_address='10.0.0.%d' % i,
                cell_id=made['cells'][i % 2].id if i % 3 else None,
                variables={}, labels=[models.HostLabel(label='all')])
        for i in range(n):
            add(s, 'tasks', models.Task, i, user_id='u', name=_name('t', i),
                source={'type': 'git', 'url': 'https://git.example.org/t'},
                command=['true'], timeout=60, status=TASK_STATUS[i % N],
                approval='approved', visibility='private',
                shared_roles=[], build_number=1)
        task = made['tasks'][0]
        for i in range(n):
            add(s, 'workflows', models.Workflow, i, user_id='u',
                name=_name('w', i), variables={},
                steps=[models.WorkflowStep(position=0, name=task.name,
                                           task_uuid=task.uuid)])
        snapshot = [{'uuid': h.uuid, 'name': h.name}
                    for h in sorted(made['hosts'], key=lambda h: h.name)]
        for i in range(n):
            add(s, 'jobs', models.Job, i, user_id='u', task_uuid=task.uuid,
                status=JOB_STATUS[i % N], variables={},
                inventory=snapshot if i == 0 else [],
                host_count=len(snapshot) if i == 0 else 0,
                steps=[models.JobStep(index=0, name=task.name,
                                      task_uuid=task.uuid, timeout=60,
                                      status=states.STEP_PENDING,
                                      log_bytes=0)])
        out = {kind: [r.uuid for r in rows] for kind, rows in made.items()}
    out.update(job=out['jobs'][0], inventory=snapshot)
    return out


def _rank(value, tie):
    """Sort key of the contract: NULL lowest, then the value, then the
    tie-breaker.
    """
    return (value is not None, value, tie)


def expected(kind, project, sort_key, sort_dir):
    """UUIDs of ``kind`` in ``project`` in the order API.md prescribes,
    computed here from the stored values (not by the database's ORDER BY).
    """
    model = LISTS[kind][0]
    column = getattr(model, sort_key or 'created_at')
    with session.reader() as s:
        rows = s.execute(sa.select(model.uuid, column, model.id).where(
            model.project_id == project)).all()
    rows = sorted(rows, key=lambda r: _rank(r[1], r[2]),
                  reverse=sort_dir == 'desc')
    return [r[0] for r in rows]


def expected_inventory(snapshot, sort_key, sort_dir):
    """The snapshot's UUIDs in the order the inventory list promises: the
    snapshot's own order unless ``sort_key`` is given.
    """
    ranked = sorted(enumerate(snapshot), key=lambda p: _rank(
        p[1].get(sort_key) if sort_key else None, p[0]),
        reverse=sort_dir == 'desc')
    return [item['uuid'] for _, item in ranked]


def combinations(keys):
    """(sort_key, sort_dir) pairs to walk: the defaults (either left out),
    and every allowed key in both directions.
    """
    yield None, None
    yield None, 'desc'
    yield 'created_at', None
    for key in keys:
        yield key, 'asc'
        yield key, 'desc'


def walk(list_func, project, limit, sort_key, sort_dir):
    """Follow the marker through every page of ``list_func``; the UUIDs
    seen, in order. Fails if the walk does not end.
    """
    seen, marker = [], None
    for _ in range(4 * N + 2):
        page = list_func(project, limit=limit, marker=marker,
                         sort_key=sort_key, sort_dir=sort_dir)
        seen += [row.uuid for row in page]
        if len(page) < limit:
            return seen
        marker = page[-1].uuid
    raise AssertionError('the walk does not end: %s' % seen)


def walk_failures(dbapi, project):
    """Every (kind, sort_key, sort_dir, limit) whose walk differs from
    :func:`expected`, with what it gave.
    """
    failures = []
    for kind, (_, method, keys) in LISTS.items():
        func = getattr(dbapi, method)
        for sort_key, sort_dir in combinations(keys):
            want = expected(kind, project, sort_key, sort_dir)
            assert len(set(want)) == N, want
            for limit in PAGE_SIZES:
                try:
                    got = walk(func, project, limit, sort_key, sort_dir)
                except Exception as e:
                    got = repr(e)
                if got != want:
                    failures.append((kind, sort_key, sort_dir, limit, got,
                                     want))
    return failures


class PaginationMixin:
    """The walk on whatever database the test case sets up."""

    def make_data(self):
        self.dbapi = db_api.get_instance()
        self.made = build('p')
        self.other = build('q', n=3)

    def test_every_list_walks_each_item_once_in_order(self):
        self.assertEqual([], walk_failures(self.dbapi, 'p'))

    def test_the_data_has_nulls_and_ties(self):
        for kind, (model, _, _) in LISTS.items():
            with session.reader() as s:
                for column, offsets in (('created_at', CREATED),
                                        ('updated_at', UPDATED)):
                    values = s.execute(sa.select(
                        getattr(model, column)).where(
                        model.project_id == 'p')).scalars().all()
                    self.assertEqual(offsets.count(None),
                                     values.count(None), (kind, column))
                    self.assertLess(len(set(values)), len(values) - 1,
                                    (kind, column))

    def test_nulls_are_lowest(self):
        # The walk compares with a computed order; make sure the data
        # really has NULLs first in ascending order and last in
        # descending order, where backends disagree by default.
        for kind in LISTS:
            up = getattr(self.dbapi, LISTS[kind][1])(
                'p', limit=N, sort_key='updated_at', sort_dir='asc')
            down = getattr(self.dbapi, LISTS[kind][1])(
                'p', limit=N, sort_key='updated_at', sort_dir='desc')
            self.assertIsNone(up[0].updated_at, kind)
            self.assertIsNotNone(up[-1].updated_at, kind)
            self.assertIsNotNone(down[0].updated_at, kind)
            self.assertIsNone(down[-1].updated_at, kind)

    def test_internal_id_order(self):
        # The conductor's sweeps page by the internal id.
        for kind in LISTS:
            got = walk(getattr(self.dbapi, LISTS[kind][1]), 'p', 2, 'id',
                       'asc')
            self.assertEqual(self.made[kind], got, kind)

    def test_marker_outside_the_list_is_invalid(self):
        stranger = uuidutils.generate_uuid()
        for kind, (_, method, _) in LISTS.items():
            func = getattr(self.dbapi, method)
            other_kind = 'hosts' if kind != 'hosts' else 'regions'
            for marker in (stranger, self.other[kind][0],
                           self.made[other_kind][0]):
                exc = self.assertRaises(exception.InvalidParameter, func,
                                        'p', marker=marker, limit=2)
                self.assertIn("'marker'", str(exc))

    def test_walk_goes_on_when_the_marker_leaves_the_filter(self):
        # A sweep (or a client) walks the running jobs; the job that marks
        # its place finishes meanwhile. The walk goes on from that place.
        running = [u for u in expected('jobs', 'p', 'created_at', 'desc')
                   if JOB_STATUS[self.made['jobs'].index(u)] ==
                   states.JOB_RUNNING]
        self.assertEqual(3, len(running))
        seen, marker = [], None
        while True:
            page = self.dbapi.list_jobs(
                'p', {'status': states.JOB_RUNNING}, limit=1, marker=marker,
                sort_key='created_at', sort_dir='desc')
            if not page:
                break
            seen.append(page[0].uuid)
            marker = page[0].uuid
            self.assertTrue(self.dbapi.update_job(
                marker, {'status': states.JOB_SUCCEEDED}))
        self.assertEqual(running, seen)


class PaginationSQLiteTest(PaginationMixin, base.TestCase):

    def setUp(self):
        super().setUp()
        self.make_data()
