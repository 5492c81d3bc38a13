# SPDX-License-Identifier: Apache-2.0
"""Lists are total orders on real MariaDB and PostgreSQL too
(CRATON_FUNCTIONAL=1): the walk of :mod:`craton.tests.unit.db.
test_pagination` against each backend. The backends disagree on where
NULLs go (MariaDB first in ascending order, as SQLite; PostgreSQL last)
and MariaDB's DATETIME drops fractions of seconds, which makes more ties.

Each test gets a throwaway database from dbfixtures; a server that cannot
be reached fails the test.
"""

import testtools

from craton.db.sqlalchemy import session
from craton.tests.functional import dbfixtures
from craton.tests.unit.db import test_pagination


class _PaginationMixin(test_pagination.PaginationMixin):
    BACKEND = None

    def setUp(self):
        super().setUp()
        session.reset()
        self.addCleanup(session.reset)
        self.useFixture(dbfixtures.Database(self.BACKEND, schema=True,
                                            patch_session=True))
        self.make_data()


@dbfixtures.requires_functional
class TestPaginationMySQL(_PaginationMixin, testtools.TestCase):
    BACKEND = 'mysql'


@dbfixtures.requires_functional
class TestPaginationPostgreSQL(_PaginationMixin, testtools.TestCase):
    BACKEND = 'postgresql'
