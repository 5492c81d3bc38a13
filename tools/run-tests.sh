#!/usr/bin/env bash
# The test command: sets up everything the tests need on this machine
# (virtualenv, Docker engine, base images, RabbitMQ, MariaDB, PostgreSQL,
# Keystone, a registry, a 3-node Swarm — each installed and started only if
# missing) and runs the unit and functional suites. Ends with one line:
# N passed, N failed, N skipped.
#
#   tools/run-tests.sh              # everything
#   tools/run-tests.sh unit         # unit tests only (no services needed)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
what=${1:-all}
reports=$(mktemp -d)
venv=$(bash tools/setup-venv.sh) || { echo "0 passed, 1 failed"; exit 1; }
py="$venv/bin/python"

"$py" -m pytest -p no:cacheprovider -q craton/tests/unit \
    cratonclient/tests/unit \
    --junitxml="$reports/unit.xml" -o junit_family=xunit2
if [ "$what" = all ]; then
    if bash tools/prepare-functional.sh; then
        # The swarm scenarios need the cluster prepare-functional started.
        CRATON_FUNCTIONAL=1 CRATON_SWARM=1 "$py" -m pytest -p no:cacheprovider -q \
            craton/tests/functional --junitxml="$reports/functional.xml" \
            -o junit_family=xunit2 --timeout=900 --durations=15
    else
        echo "run-tests: could not prepare the functional services" >&2
    fi
fi
"$py" tools/junit-summary.py "$reports"/*.xml
rc=$?
rm -rf "$reports"
exit $rc
