#!/usr/bin/env bash
# Create (or update) the project's virtualenv with craton and its test
# requirements installed. Prints the venv path on stdout.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=${CRATON_VENV:-$top/.venv}
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
    echo "setup-venv: creating $venv" >&2
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip >&2
fi
stamp="$venv/.craton-requirements"
want=$(cat "$top/requirements.txt" "$top/test-requirements.txt" "$top/setup.cfg" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup-venv: installing requirements (a few minutes the first time)" >&2
    "$venv/bin/pip" install -q -r "$top/requirements.txt" -r "$top/test-requirements.txt" >&2
    # pbr takes the version from git; a clone without tags still builds.
    PBR_VERSION=${PBR_VERSION:-0.1.0} "$venv/bin/pip" install -q -e "$top" >&2
    echo "$want" > "$stamp"
fi
echo "$venv"
