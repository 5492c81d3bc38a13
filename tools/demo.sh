#!/usr/bin/env bash
# The main job on the embedded default, from a fresh machine:
#   virtualenv -> Docker engine (started if none answers) -> base images ->
#   craton-all (SQLite, in-process RPC, docker driver) -> examples/run_demo.py
# which, through `openstack craton ...` commands (each printed as it runs,
# the venv's openstack with Craton's plugin, noauth as project "demo"),
# registers and approves the example tasks, creates three hosts, runs the
# host-maintenance workflow (a dry run) and an audit with `job run --wait`,
# and prints every step and its logs (`job logs`). craton-all is stopped at
# the end; its state and log stay in .craton/ (delete the folder to start
# over).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
state="$top/.craton"
port=${CRATON_DEMO_PORT:-7780}
t0=$SECONDS

venv=$(bash tools/setup-venv.sh)
docker_url=$(bash tools/docker-engine.sh start | tail -n 1)
bash tools/build-base-images.sh >&2

mkdir -p "$state"
# The demo's Fernet key for secrets at rest: made once and kept beside the
# demo's database (a new key each run could not read the secrets already
# stored). Never reuse it outside the demo.
if [ ! -s "$state/secrets.key" ]; then
    (umask 077 && "$venv/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > "$state/secrets.key")
fi
secrets_key=$(cat "$state/secrets.key")
touch "$state/craton.conf" && chmod 600 "$state/craton.conf"
cat > "$state/craton.conf" <<CONF
[DEFAULT]
rpc_transport = local
host = demo-all
state_path = $state
log_file = $state/craton-all.log

[database]
connection = sqlite:///$state/craton.sqlite

[api]
host_ip = 127.0.0.1
port = $port
auth_strategy = noauth

[docker]
url = $docker_url

[builder]
local_source_roots = $top/examples/tasks

[conductor]
sweep_interval = 2

[secrets]
encryption_keys = $secrets_key
CONF

"$venv/bin/craton-dbsync" --config-file "$state/craton.conf" upgrade
if curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null 2>&1; then
    echo "demo: something already answers on 127.0.0.1:$port; stop it or set CRATON_DEMO_PORT" >&2
    exit 1
fi
"$venv/bin/craton-all" --config-file "$state/craton.conf" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:$port/healthcheck" >/dev/null 2>&1 && break
    kill -0 $pid 2>/dev/null || { echo "demo: craton-all exited; see $state/craton-all.log" >&2; tail -n 30 "$state/craton-all.log" >&2; exit 1; }
    sleep 0.2
done
echo "demo: craton-all (pid $pid) answers on http://127.0.0.1:$port after $((SECONDS - t0)) s of setup" >&2

rc=0
# run_demo.py runs the openstack command next to this python: the venv's.
"$venv/bin/python" examples/run_demo.py "http://127.0.0.1:$port" || rc=$?
echo "demo: finished in $((SECONDS - t0)) s (exit $rc)" >&2
exit $rc
