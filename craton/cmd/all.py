# SPDX-License-Identifier: Apache-2.0
"""craton-all: the API and a conductor in one process (embedded default)."""

from craton.cmd import conductor
from craton.common import service


def main():
    conf = service.prepare_service()
    conductor.run(conf, with_api=True)


if __name__ == '__main__':
    main()
