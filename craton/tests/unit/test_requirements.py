# SPDX-License-Identifier: Apache-2.0
"""Craton's requirements allow what OpenStack's upper constraints pin.

DevStack installs every service within ``upper-constraints.txt`` of
openstack/requirements, so a minimum above a pin (or a cap below it) makes
``stack.sh`` fail to install Craton. The file comes from
``$REQUIREMENTS_DIR`` (a checkout), else from ``requirements.tar.gz`` in
``$CRATON_VENDOR_DIR`` or in ``../shared/vendor`` beside this repository;
without either the test skips and says so.
"""

import os
import tarfile

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
import testtools

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))


def _upper_constraints_text():
    """upper-constraints.txt as text, or None."""
    env_dir = os.environ.get('REQUIREMENTS_DIR')
    if env_dir:
        path = os.path.join(env_dir, 'upper-constraints.txt')
        if os.path.isfile(path):
            with open(path) as f:
                return f.read()
    for d in (os.environ.get('CRATON_VENDOR_DIR'),
              os.path.join(REPO, '..', 'shared', 'vendor')):
        tarball = d and os.path.join(d, 'requirements.tar.gz')
        if tarball and os.path.isfile(tarball):
            with tarfile.open(tarball) as tar:
                # The repository's own file, not the test fixtures of the
                # same name deeper down.
                found = sorted(
                    (m.name.count('/'), m.name) for m in tar.getmembers()
                    if os.path.basename(m.name) == 'upper-constraints.txt')
                if found:
                    return tar.extractfile(found[0][1]).read().decode()
    return None


def _pins(text):
    """{canonical name: [(version, marker)]} of upper-constraints.txt."""
    pins = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        name, _, rest = line.partition('===')
        version, _, marker = rest.partition(';')
        pins.setdefault(canonicalize_name(name), []).append(
            (version.strip(), marker.strip()))
    return pins


def _requirements(name):
    with open(os.path.join(REPO, name)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                yield Requirement(line)


class TestUpperConstraints(testtools.TestCase):

    def setUp(self):
        super().setUp()
        text = _upper_constraints_text()
        if text is None:
            self.skipTest('upper-constraints.txt is not available: set '
                          'REQUIREMENTS_DIR to an openstack/requirements '
                          'checkout, or CRATON_VENDOR_DIR to a directory '
                          'holding requirements.tar.gz')
        self.pins = _pins(text)

    def _check(self, filename):
        refused = []
        for req in _requirements(filename):
            for version, marker in self.pins.get(
                    canonicalize_name(req.name), []):
                if not req.specifier.contains(version, prereleases=True):
                    refused.append('%s refuses the pinned %s%s' % (
                        req, version, ' (%s)' % marker if marker else ''))
        self.assertEqual([], refused)

    def test_requirements_allow_the_pins(self):
        self._check('requirements.txt')

    def test_test_requirements_allow_the_pins(self):
        self._check('test-requirements.txt')

    def test_the_pins_named_by_the_issue_are_checked(self):
        # Guards the parsing: these must be found, or the test above
        # would pass by finding nothing.
        for name in ('sqlalchemy', 'automaton', 'python-openstackclient'):
            self.assertIn(name, self.pins)
