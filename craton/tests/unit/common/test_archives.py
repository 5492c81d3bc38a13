# SPDX-License-Identifier: Apache-2.0
"""Uploaded task sources: the archive rules and extraction.

Fetching and building an upload (on the conductor) is tested in
craton/tests/unit/conductor/builds/test_upload_builds.py.

Archives are made here with tarfile, member by member, so that each hostile
shape (absolute names, ``..``, links leading out, devices, bombs) is exactly
what the table says.
"""

import gzip
import hashlib
import io
import os
import stat
import tarfile
from unittest import mock

import fixtures

from craton.common import archives
from craton.common import exception
from craton import conf
from craton.tests import base

CONF = conf.CONF
DOCKERFILE = b'FROM craton/busybox:latest\nCOPY . /task\n'
KiB = 1024


def f(name, data=b'x', mode=0o644):
    return ('file', name, data, mode)


def d(name, mode=0o755):
    return ('dir', name, None, mode)


def sym(name, target):
    return ('sym', name, target, 0o777)


def hard(name, target):
    return ('hard', name, target, 0o644)


def special(name, kind):
    return (kind, name, None, 0o644)


_TYPES = {'dir': tarfile.DIRTYPE, 'sym': tarfile.SYMTYPE,
          'hard': tarfile.LNKTYPE, 'chr': tarfile.CHRTYPE,
          'blk': tarfile.BLKTYPE, 'fifo': tarfile.FIFOTYPE}


def tar_bytes(*members, fmt=tarfile.PAX_FORMAT):
    """An uncompressed tar of ``members`` (see f, d, sym, hard, special)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=fmt) as tar:
        for kind, name, payload, mode in members:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if kind == 'file':
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            info.type = _TYPES[kind]
            if kind in ('sym', 'hard'):
                info.linkname = payload
            tar.addfile(info)
    return buf.getvalue()


def archive(*members, **kw):
    """A gzipped tar of a Dockerfile and ``members``."""
    return gzip.compress(tar_bytes(f('Dockerfile', DOCKERFILE), *members,
                                   **kw))


def bare(*members):
    """A gzipped tar of ``members`` only (no Dockerfile added)."""
    return gzip.compress(tar_bytes(*members))


def corrupt_second_header():
    data = bytearray(tar_bytes(f('Dockerfile', DOCKERFILE), f('a', b'1')))
    data[1024 + 148:1024 + 156] = b'garbage!'  # a's header checksum
    return gzip.compress(bytes(data))


def bad_crc():
    data = bytearray(archive())
    data[-8] ^= 0xff  # the CRC32 in the gzip trailer
    return bytes(data)


# (what, archive, exception, fragment of the message)
BAD = [
    ('absolute path', archive(f('/etc/cron.d/x')), archives.InvalidArchive,
     "member '/etc/cron.d/x' is an absolute path"),
    ('dot-dot', archive(f('../x')), archives.InvalidArchive,
     "member '../x' has a \"..\" component"),
    ('dot-dot inside', archive(f('a/../../x')), archives.InvalidArchive,
     "member 'a/../../x' has a \"..\" component"),
    ('harmless-looking dot-dot', archive(f('a/../b')),
     archives.InvalidArchive, "'a/../b' has a \"..\""),
    ('symlink out, absolute', archive(sym('passwd', '/etc/passwd')),
     archives.InvalidArchive, "symlink 'passwd' -> '/etc/passwd' leads "
     "outside"),
    ('symlink out, relative', archive(d('a'), sym('a/up', '../../x')),
     archives.InvalidArchive, "symlink 'a/up' -> '../../x' leads outside"),
    ('symlink out through another symlink',
     archive(sym('a', '.'), sym('b', 'a/..')), archives.InvalidArchive,
     "symlink 'b' -> 'a/..' leads outside"),
    ('symlink out through a later symlink',
     archive(sym('b', 'a/../x'), sym('a', '.')),
     archives.InvalidArchive, "symlink 'b' -> 'a/../x' leads outside"),
    ('symlink loop', archive(sym('a', 'b'), sym('b', 'a')),
     archives.InvalidArchive, "symlink 'a' -> 'b' leads outside"),
    ('empty symlink', archive(sym('a', '')), archives.InvalidArchive,
     "symlink 'a' -> '' leads outside"),
    ('member through a symlink', archive(d('sub'), sym('l', 'sub'),
                                         f('l/x')),
     archives.InvalidArchive, "member 'l/x' is below 'l', which is a "
     "symlink"),
    ('member through a symlink out', archive(sym('etc', '/etc'),
                                             f('etc/passwd')),
     archives.InvalidArchive, "symlink 'etc' -> '/etc' leads outside"),
    ('member below a file', archive(f('a'), f('a/b')),
     archives.InvalidArchive, "member 'a/b' is below 'a', which is a file"),
    ('hardlink out', archive(hard('h', '../../etc/shadow')),
     archives.InvalidArchive, "hard link 'h' -> '../../etc/shadow' has a "
     "\"..\" component"),
    ('hardlink absolute', archive(hard('h', '/etc/shadow')),
     archives.InvalidArchive, "hard link 'h' -> '/etc/shadow' is an "
     "absolute path"),
    ('hardlink to nothing', archive(hard('h', 'missing')),
     archives.InvalidArchive, "hard link 'h' -> 'missing' does not name a "
     "regular file earlier"),
    ('hardlink to a later file', archive(hard('h', 'later'), f('later')),
     archives.InvalidArchive, "hard link 'h' -> 'later' does not name"),
    ('hardlink to a directory', archive(d('dir'), hard('h', 'dir')),
     archives.InvalidArchive, "hard link 'h' -> 'dir' does not name"),
    ('character device', archive(special('dev/null', 'chr')),
     archives.InvalidArchive, "member 'dev/null' is a character device"),
    ('block device', archive(special('sda', 'blk')), archives.InvalidArchive,
     "member 'sda' is a block device"),
    ('fifo', archive(special('pipe', 'fifo')), archives.InvalidArchive,
     "member 'pipe' is a FIFO"),
    ('duplicate member', archive(f('a', b'1'), f('./a', b'2')),
     archives.InvalidArchive, "member './a' appears twice"),
    ('root entry as a file', archive(f('./')), archives.InvalidArchive,
     'names the archive root'),
    ('missing Dockerfile', bare(f('task.py')), archives.InvalidArchive,
     'no regular file named Dockerfile at the root'),
    ('Dockerfile in a subdirectory', bare(d('task'),
                                          f('task/Dockerfile')),
     archives.InvalidArchive, 'tar -czf task.tar.gz -C path/to/task .'),
    ('Dockerfile as a symlink', bare(f('real', DOCKERFILE),
                                     sym('Dockerfile', 'real')),
     archives.InvalidArchive, 'no regular file named Dockerfile'),
    ('Dockerfile as a directory', bare(d('Dockerfile')),
     archives.InvalidArchive, 'no regular file named Dockerfile'),
    ('not gzip: a plain tar', tar_bytes(f('Dockerfile', DOCKERFILE)),
     archives.InvalidArchive, 'not a valid gzip stream'),
    ('not gzip: a zip', b'PK\x03\x04' + b'\0' * 100, archives.InvalidArchive,
     'not a valid gzip stream'),
    ('gzip, not tar', gzip.compress(b'#!/bin/sh\necho hi\n' * 50),
     archives.InvalidArchive, 'not a valid tar archive'),
    ('empty gzip', gzip.compress(b''), archives.InvalidArchive,
     'not a valid tar archive'),
    ('truncated gzip', archive()[:-20], archives.InvalidArchive,
     'not a valid gzip stream'),
    ('gzip checksum wrong', bad_crc(), archives.InvalidArchive,
     'not a valid gzip stream'),
    ('corrupt header after the first', corrupt_second_header(),
     archives.InvalidArchive, 'not a valid tar archive'),
    ('trailing garbage after the gzip', archive() + b'garbage',
     archives.InvalidArchive, 'not a valid gzip stream'),
]


class UploadsTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        # 64 KiB compressed, so 512 KiB unpacked.
        self.config(max_upload_bytes=64 * KiB, group='api')

    def assertRefused(self, data, exc_class, fragment):
        exc = self.assertRaises(exc_class, archives.inspect, data, CONF)
        self.assertIn(fragment, str(exc))
        return exc


class TestInspect(UploadsTestCase):

    def test_table(self):
        wrong = []
        for what, data, exc_class, fragment in BAD:
            try:
                archives.inspect(data, CONF)
                wrong.append((what, 'accepted'))
            except exception.CratonException as exc:
                if not isinstance(exc, exc_class) or fragment not in str(exc):
                    wrong.append((what, type(exc).__name__, str(exc)))
        self.assertEqual([], wrong)

    def test_status_codes(self):
        self.assertEqual(400, archives.InvalidArchive(reason='x').code)
        self.assertEqual('craton.task.invalid_archive',
                         archives.InvalidArchive(reason='x').error_code)
        self.assertEqual(413, archives.ArchiveTooLarge(reason='x').code)

    def test_good(self):
        data = archive(d('./sub', 0o700), f('./sub/run.sh', b'#!/bin/sh\n',
                                            0o755),
                       sym('link', 'sub/run.sh'), sym('sub/up', '../link'),
                       sym('self', '.'), sym('dangling', 'sub/nothing'),
                       hard('sub/same', 'Dockerfile'), d('empty'))
        summary = archives.inspect(data, CONF)
        self.assertEqual(len(data), summary.size)
        self.assertEqual(hashlib.sha256(data).hexdigest(), summary.sha256)
        self.assertEqual(9, summary.members)
        self.assertEqual(len(DOCKERFILE) + 10, summary.unpacked)
        self.assertEqual({'type': 'upload', 'size': len(data),
                          'sha256': summary.sha256},
                         archives.source_of(summary))

    def test_good_shapes(self):
        for data in (bare(d('.'), f('./Dockerfile', DOCKERFILE)),
                     bare(d('./'), f('Dockerfile', DOCKERFILE)),
                     archive(fmt=tarfile.GNU_FORMAT),
                     archive(fmt=tarfile.USTAR_FORMAT),
                     archive(f('x' * 300)),  # a long name (pax header)
                     # Two gzip members make one valid gzip stream.
                     gzip.compress(tar_bytes(f('Dockerfile', DOCKERFILE))[
                         :512]) + gzip.compress(tar_bytes(
                             f('Dockerfile', DOCKERFILE))[512:])):
            archives.inspect(data, CONF)

    def test_compressed_size_limit(self):
        data = archive(f('noise', os.urandom(65 * KiB)))
        self.assertRefused(data, archives.ArchiveTooLarge,
                           'at most 65536 bytes are accepted ([api] '
                           'max_upload_bytes)')

    def test_gzip_bomb_declared_size(self):
        data = archive(f('bomb', b'\0' * (600 * KiB)))
        self.assertLess(len(data), 4 * KiB)
        self.assertRefused(data, archives.ArchiveTooLarge,
                           "member 'bomb' brings the unpacked size past "
                           "524288 bytes")

    def test_gzip_bomb_after_the_tar(self):
        # tarfile stops at the end-of-archive blocks; the stream goes on.
        data = gzip.compress(tar_bytes(f('Dockerfile', DOCKERFILE)) +
                             b'\0' * (600 * KiB))
        self.assertLess(len(data), 4 * KiB)
        self.assertRefused(data, archives.ArchiveTooLarge,
                           'unpacks to more than 524288 bytes')

    def test_bomb_is_never_decompressed_whole(self):
        data = gzip.compress(b'\0' * (64 << 20))
        reads = []
        real = gzip.GzipFile.read

        def read(gz, size=-1):
            out = real(gz, size)
            reads.append(len(out))
            return out
        with mock.patch.object(gzip.GzipFile, 'read', read):
            self.assertRaises(exception.CratonException, archives.inspect,
                              data, CONF)
        self.assertLessEqual(max(reads), 1 << 20)
        self.assertLessEqual(sum(reads), 600 * KiB + (1 << 20))

    def test_too_many_members(self):
        self.useFixture(fixtures.MonkeyPatch(
            'craton.common.archives.MAX_MEMBERS', 5))
        archives.inspect(archive(*[f('m%d' % i) for i in range(4)]), CONF)
        self.assertRefused(archive(*[f('m%d' % i) for i in range(5)]),
                           archives.ArchiveTooLarge,
                           'it holds more than 5 members')

    def test_huge_metadata_header(self):
        self.useFixture(fixtures.MonkeyPatch(
            'craton.common.archives.MAX_METADATA', 1000))
        self.assertRefused(archive(f('x' * 2000)), archives.InvalidArchive,
                           'a metadata header of')

    def test_long_names_are_bounded(self):
        self.assertRefused(archive(f('x' * 5000)), archives.InvalidArchive,
                           'the name is longer than 4096')

    def test_message_quotes_odd_names(self):
        exc = self.assertRefused(archive(f('../\x1b[31mred')),
                                 archives.InvalidArchive, '..')
        self.assertIn("'../\\x1b[31mred'", str(exc))
        self.assertNotIn('\x1b', str(exc))


class TestValidateSource(UploadsTestCase):

    def test_client_sends_type_only(self):
        self.assertEqual({'type': 'upload'},
                         archives.validate_source({'type': 'upload'}))
        for bad, text in (({'type': 'upload', 'sha256': 'a'},
                           'source.sha256 of an upload source are set'),
                          ({'type': 'upload', 'size': 1, 'sha256': 'a'},
                           'source.sha256, source.size'),
                          ({'type': 'upload', 'url': 'x'},
                           'unknown field(s) source.url')):
            exc = self.assertRaises(exception.InvalidSource,
                                    archives.validate_source, bad)
            self.assertIn(text, str(exc))

    def test_record_kept_unchanged_only(self):
        current = {'type': 'upload', 'size': 3, 'sha256': 'ab'}
        self.assertEqual(current, archives.validate_source(dict(current),
                                                          current))
        self.assertRaises(exception.InvalidSource, archives.validate_source,
                          dict(current, size=4), current)

    def test_awaits_archive(self):
        self.assertTrue(archives.awaits_archive({'type': 'upload'}))
        self.assertFalse(archives.awaits_archive(
            {'type': 'upload', 'size': 1, 'sha256': 'a'}))
        self.assertFalse(archives.awaits_archive({'type': 'git'}))
        self.assertFalse(archives.awaits_archive(None))


class TestExtract(UploadsTestCase):

    def setUp(self):
        super().setUp()
        self.dest = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'context')

    def listing(self):
        out = {}
        for top, dirs, files in os.walk(self.dest):
            for name in dirs + files:
                path = os.path.join(top, name)
                st = os.lstat(path)
                rel = os.path.relpath(path, self.dest)
                if stat.S_ISLNK(st.st_mode):
                    out[rel] = ('link', os.readlink(path))
                else:
                    out[rel] = (stat.S_IMODE(st.st_mode),
                                stat.S_ISDIR(st.st_mode))
        return out

    def good(self):
        return archive(d('./sub', 0o750), f('sub/run.sh', b'#!/bin/sh\n',
                                            0o4775),
                       f('sub/data', b'd', 0o666), sym('link', 'sub/run.sh'),
                       hard('copy', 'Dockerfile'))

    def check_good(self):
        listing = self.listing()
        self.assertEqual({
            'Dockerfile': (0o644, False),
            'copy': (0o644, False),
            'sub': (0o750, True),
            # No setuid bit, no group/other write.
            'sub/run.sh': (0o755, False),
            'sub/data': (0o644, False),
            'link': ('link', 'sub/run.sh')}, listing)
        with open(os.path.join(self.dest, 'Dockerfile'), 'rb') as fh:
            self.assertEqual(DOCKERFILE, fh.read())
        self.assertEqual(
            os.stat(os.path.join(self.dest, 'Dockerfile')).st_ino,
            os.stat(os.path.join(self.dest, 'copy')).st_ino)

    def test_extract(self):
        archives.extract(self.good(), self.dest, CONF)
        self.check_good()

    def test_extract_without_the_data_filter(self):
        self.useFixture(fixtures.MonkeyPatch(
            'craton.common.archives._DATA_FILTER', None))
        archives.extract(self.good(), self.dest, CONF)
        self.check_good()

    def test_refused_archive_writes_nothing(self):
        for what, data, exc_class, fragment in BAD:
            exc = self.assertRaises(exc_class, archives.extract, data,
                                    self.dest, CONF)
            self.assertIn(fragment, str(exc), what)
            self.assertFalse(os.path.lexists(self.dest), what)

    def test_data_filter_also_applies(self):
        # Were the checks to let a link out, Python's filter would stop it.
        self.useFixture(fixtures.MonkeyPatch(
            'craton.common.archives._Checker.finish', lambda self: None))
        self.useFixture(fixtures.MonkeyPatch(
            'craton.common.archives.inspect', lambda data, conf: None))
        exc = self.assertRaises(archives.InvalidArchive, archives.extract,
                                archive(d('a'), sym('a/up', '../../x')),
                                self.dest, CONF)
        self.assertIn("member 'a/up' cannot be extracted", str(exc))
        self.assertFalse(os.path.lexists(os.path.join(self.dest, 'a/up')))
