# SPDX-License-Identifier: Apache-2.0
"""Print one 'N passed, N failed, N skipped' line from JUnit XML files.

CI reads that closing line; it is computed from the runs' own reports.
Exit status: 1 if anything failed or errored, or if no test ran.
"""

import sys
import xml.etree.ElementTree as ET


def main(paths):
    passed = failed = skipped = 0
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            print('junit-summary: cannot read %s: %s' % (path, exc),
                  file=sys.stderr)
            failed += 1
            continue
        for case in root.iter('testcase'):
            if case.find('failure') is not None or \
                    case.find('error') is not None:
                failed += 1
            elif case.find('skipped') is not None:
                skipped += 1
            else:
                passed += 1
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed or not passed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
