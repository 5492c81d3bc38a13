#!/usr/bin/env bash
# A real Keystone on http://127.0.0.1:5000/v3 for Craton's auth tests.
#
#   tools/keystone.sh [start|stop|status|env [USER]]     (default: start)
#
# start: install Keystone into its own venv /var/lib/craton/keystone-venv
#   (pip: keystone + pyuwsgi, the uWSGI wheel; else uwsgi built from source;
#   else gunicorn with a wrapper module), configure it under
#   /var/lib/craton/keystone/ (sqlite DB, fernet and credential keys), run
#   db_sync/fernet_setup/credential_setup/bootstrap once, serve it on
#   127.0.0.1:5000 in the background (pidfile /run/craton/keystone.pid, log
#   /var/log/craton/keystone.log), then ensure the test identities:
#     admin / craton-admin                 admin on project admin
#     craton / craton-service              admin on project service
#     alice-member / secret                member on proj-a
#     bob-reader / secret                  reader on proj-a
#     carol-member-b / secret              member on proj-b
#   An already running Keystone is left alone (identities are still ensured).
# stop: stop the server started by start (uwsgi: SIGINT).
# env [USER]: print shell exports (OS_AUTH_URL...) for admin, or for one of
#   the users above, scoped to its project.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/lib.sh"

VENV="${CRATON_KEYSTONE_VENV:-$CRATON_STATE_DIR/keystone-venv}"
KS_DIR="$CRATON_STATE_DIR/keystone"
KS_CONF="$KS_DIR/keystone.conf"
PIDFILE="$CRATON_RUN_DIR/keystone.pid"
LOGFILE="$CRATON_LOG_DIR/keystone.log"
HOST=127.0.0.1
PORT=5000
AUTH_URL="http://$HOST:$PORT/v3"
ADMIN_PASSWORD=craton-admin
REGION=RegionOne
START_TIMEOUT=90

# user password project role
IDENTITIES="admin $ADMIN_PASSWORD admin admin
craton craton-service service admin
alice-member secret proj-a member
bob-reader secret proj-a reader
carol-member-b secret proj-b member"

TIMES=()

ks_answers() {
    curl -fsS --max-time 3 "$AUTH_URL" 2>/dev/null | grep -q '"id": *"v3'
}

ks_version() {
    "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("keystone"))' 2>/dev/null || echo unknown
}

base_python() {
    local py
    for py in /usr/bin/python3 "$(command -v python3 || true)"; do
        [ -n "$py" ] && [ -x "$py" ] || continue
        if "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
            echo "$py"; return 0
        fi
    done
    return 1
}

install_keystone() {
    if [ -x "$VENV/bin/keystone-manage" ] && [ -f "$VENV/.craton-server" ]; then
        return 0
    fi
    local t0 py
    t0=$(now)
    py=$(base_python) || { apt_install python3-venv; py=$(base_python) || die "no python3 with venv/ensurepip"; }
    log "creating venv $VENV (base $py)"
    rm -rf "$VENV"
    "$py" -m venv "$VENV" || die "python3 -m venv $VENV failed"
    log "pip install keystone (log $CRATON_LOG_DIR/keystone-pip.log)"
    "$VENV/bin/pip" install --disable-pip-version-check keystone \
        >"$CRATON_LOG_DIR/keystone-pip.log" 2>&1 \
        || { tail -n 20 "$CRATON_LOG_DIR/keystone-pip.log" >&2; die "pip install keystone failed"; }
    TIMES+=("pip install keystone: $(elapsed "$t0")s")
    local t1 server=pyuwsgi
    t1=$(now)
    # pyuwsgi is uWSGI as a binary wheel (same `uwsgi` command, no compiler);
    # else build uwsgi from source; else gunicorn (wrapper module).
    log "pip install pyuwsgi"
    if ! { "$VENV/bin/pip" install --disable-pip-version-check pyuwsgi \
                >>"$CRATON_LOG_DIR/keystone-pip.log" 2>&1 \
            && "$VENV/bin/uwsgi" --version >/dev/null 2>&1; }; then
        warn "pyuwsgi unusable: building uwsgi from source (gcc and Python headers needed)"
        "$VENV/bin/pip" uninstall -y pyuwsgi >/dev/null 2>&1 || true
        server=uwsgi
        if ! "$VENV/bin/pip" install --disable-pip-version-check uwsgi \
                >>"$CRATON_LOG_DIR/keystone-pip.log" 2>&1; then
            warn "uwsgi did not build (see $CRATON_LOG_DIR/keystone-pip.log): using gunicorn instead"
            server=gunicorn
            "$VENV/bin/pip" install --disable-pip-version-check gunicorn \
                >>"$CRATON_LOG_DIR/keystone-pip.log" 2>&1 || die "pip install gunicorn failed too"
        fi
    fi
    TIMES+=("pip install $server: $(elapsed "$t1")s")
    echo "$server" >"$VENV/.craton-server"
    log "keystone $(ks_version) installed with $server in $(elapsed "$t0")s"
}

write_config() {
    mkdir -p "$KS_DIR" "$KS_DIR/fernet-keys" "$KS_DIR/credential-keys"
    chmod 700 "$KS_DIR/fernet-keys" "$KS_DIR/credential-keys"
    local conf
    conf=$(cat <<EOF
# Written by tools/keystone.sh: a test Keystone on $AUTH_URL.
[DEFAULT]
use_stderr = true

[database]
connection = sqlite:///$KS_DIR/keystone.db

[identity]
# A test Keystone: cheap bcrypt hashes keep each password login ~ms, not ~1 s.
password_hash_rounds = 4

[token]
provider = fernet
expiration = 7200

[fernet_tokens]
key_repository = $KS_DIR/fernet-keys

[fernet_receipts]
key_repository = $KS_DIR/fernet-keys

[credential]
key_repository = $KS_DIR/credential-keys
EOF
)
    if [ ! -f "$KS_CONF" ] || [ "$(cat "$KS_CONF")" != "$conf" ]; then
        printf '%s\n' "$conf" >"$KS_CONF"
    fi
    # gunicorn needs a module that clears sys.argv before Keystone parses it.
    cat >"$KS_DIR/craton_keystone_wsgi.py" <<'EOF'
import sys
sys.argv = sys.argv[:1]
from keystone.server.wsgi import initialize_public_application  # noqa: E402
application = initialize_public_application()
EOF
}

kmanage() { "$VENV/bin/keystone-manage" --config-file "$KS_CONF" "$@"; }

setup_db() {
    local stamp="$KS_DIR/.bootstrapped" want
    want="$(ks_version) $AUTH_URL $REGION"
    if [ -f "$stamp" ] && [ -f "$KS_DIR/keystone.db" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    local t0
    t0=$(now)
    log "keystone-manage db_sync / fernet_setup / credential_setup / bootstrap"
    {
        kmanage db_sync
        [ -f "$KS_DIR/fernet-keys/0" ] || kmanage fernet_setup --keystone-user root --keystone-group root
        [ -f "$KS_DIR/credential-keys/0" ] || kmanage credential_setup --keystone-user root --keystone-group root
        kmanage bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
            --bootstrap-username admin --bootstrap-project-name admin \
            --bootstrap-role-name admin \
            --bootstrap-admin-url "$AUTH_URL/" --bootstrap-internal-url "$AUTH_URL/" \
            --bootstrap-public-url "$AUTH_URL/" --bootstrap-region-id "$REGION"
    } >>"$CRATON_LOG_DIR/keystone-manage.log" 2>&1 \
        || { tail -n 20 "$CRATON_LOG_DIR/keystone-manage.log" >&2; die "keystone-manage failed (see $CRATON_LOG_DIR/keystone-manage.log)"; }
    echo "$want" >"$stamp"
    TIMES+=("db_sync+keys+bootstrap: $(elapsed "$t0")s")
}

start_server() {
    local server t0
    server=$(cat "$VENV/.craton-server")
    t0=$(now)
    rm -f "$PIDFILE"
    echo "==== $(date -Is) tools/keystone.sh start ($server)" >>"$LOGFILE"
    export OS_KEYSTONE_CONFIG_DIR="$KS_DIR" OS_KEYSTONE_CONFIG_FILES=keystone.conf
    if [ "$server" != gunicorn ]; then
        local home=()
        # A compiled uwsgi embeds the base Python: point it at the venv.
        [ "$server" = pyuwsgi ] || home=(--home "$VENV")
        log "serving on $HOST:$PORT with $server (log $LOGFILE)"
        # --http-socket answers HTTP/1.0-style and closes each connection
        # without saying so: a client reusing it then gets "connection
        # reset". Say it, so clients (keystonemiddleware's service login
        # included) open a new one.
        (cd "$KS_DIR" && setsid "$VENV/bin/uwsgi" --http-socket "$HOST:$PORT" \
            --add-header "Connection: close" \
            "${home[@]}" --module keystone.wsgi.api:application \
            --master --processes 1 --threads 2 --die-on-term --need-app \
            --pidfile "$PIDFILE" --daemonize "$LOGFILE" </dev/null >>"$LOGFILE" 2>&1) \
            || die "uwsgi failed to start (see $LOGFILE)"
    else
        log "serving on $HOST:$PORT with gunicorn (log $LOGFILE)"
        (cd "$KS_DIR" && setsid "$VENV/bin/gunicorn" --bind "$HOST:$PORT" \
            --workers 1 --threads 2 --chdir "$KS_DIR" --daemon --pid "$PIDFILE" \
            --error-logfile "$LOGFILE" --capture-output craton_keystone_wsgi:application \
            </dev/null >>"$LOGFILE" 2>&1) \
            || die "gunicorn failed to start (see $LOGFILE)"
    fi
    local deadline
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    until ks_answers; do
        if [ -f "$PIDFILE" ] && ! pid_alive "$PIDFILE"; then
            tail -n 25 "$LOGFILE" | sed 's/^/    /' >&2
            die "keystone ($server) exited during start-up (see $LOGFILE)"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            tail -n 25 "$LOGFILE" | sed 's/^/    /' >&2
            die "keystone did not answer GET $AUTH_URL within ${START_TIMEOUT}s"
        fi
        sleep 0.25
    done
    TIMES+=("server start: $(elapsed "$t0")s")
    log "keystone answers at $AUTH_URL (pid $(cat "$PIDFILE" 2>/dev/null || echo '?'))"
}

ensure_identities() {
    local t0
    t0=$(now)
    IDENTITIES="$IDENTITIES" AUTH_URL="$AUTH_URL" ADMIN_PASSWORD="$ADMIN_PASSWORD" \
        identities_py || die "could not create the test identities"
    TIMES+=("identities: $(elapsed "$t0")s")
}

# identities_py: the Python that ensures the test identities over the REST
# API (reads IDENTITIES, AUTH_URL and ADMIN_PASSWORD from the environment).
identities_py() {
    "$VENV/bin/python" - <<'EOF'
import json, os, sys, urllib.error, urllib.request

AUTH = os.environ["AUTH_URL"]

def call(method, path, body=None, token=None, ok=(200, 201, 204)):
    req = urllib.request.Request(AUTH + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            data = r.read()
            return r.status, r.headers, json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        if e.code in ok:
            return e.code, e.headers, None
        raise SystemExit(f"{method} {path}: HTTP {e.code} {e.read()[:300]!r}")

def token_for(user, password, project=None):
    ident = {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}}
    auth = {"identity": ident}
    if project:
        auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    st, hdr, body = call("POST", "/auth/tokens", {"auth": auth}, ok=(201, 401))
    return (hdr["X-Subject-Token"], body) if st == 201 else (None, None)

admin, _ = token_for("admin", os.environ["ADMIN_PASSWORD"], "admin")
if not admin:
    raise SystemExit("admin cannot log in (wrong bootstrap password?)")

def find(kind, name):
    _, _, body = call("GET", f"/{kind}?name={name}" + ("&domain_id=default" if kind != "roles" else ""), token=admin)
    items = body[kind]
    return items[0]["id"] if items else None

def ensure(kind, name, extra):
    found = find(kind, name)
    if found:
        return found, False
    single = kind[:-1]
    _, _, body = call("POST", f"/{kind}", {single: dict(name=name, domain_id="default", **extra)}, token=admin)
    print(f"keystone.sh: created {single} {name}", file=sys.stderr)
    return body[single]["id"], True

def check(user, password, project, role):
    tok, body = token_for(user, password, project)
    names = sorted(r["name"] for r in (body or {}).get("token", {}).get("roles", []))
    return bool(tok) and role in names, names

roles = {}
for line in os.environ["IDENTITIES"].splitlines():
    user, password, project, role = line.split()
    good, names = check(user, password, project, role)
    if not good and user != "admin":
        pid, _ = ensure("projects", project, {"description": "Craton test project", "enabled": True})
        uid, created = ensure("users", user, {"password": password, "enabled": True,
                                              "default_project_id": pid})
        if not created and token_for(user, password)[0] is None:
            call("PATCH", f"/users/{uid}", {"user": {"password": password, "enabled": True}}, token=admin)
            print(f"keystone.sh: reset password of {user}", file=sys.stderr)
        if role not in roles:
            roles[role] = find("roles", role) or ensure("roles", role, {})[0]
        call("PUT", f"/projects/{pid}/users/{uid}/roles/{roles[role]}", token=admin)
        good, names = check(user, password, project, role)
    if not good:
        raise SystemExit(f"{user} on {project}: no token with role {role} (got {names})")
    print(f"keystone.sh: {user:15s} on {project:8s} roles {','.join(names)}", file=sys.stderr)
EOF
}

cmd_start() {
    require_root
    ensure_dirs
    local t_all
    t_all=$(now)
    if ks_answers; then
        if pid_alive "$PIDFILE"; then
            log "keystone already running (pid $(cat "$PIDFILE")) at $AUTH_URL: leaving it alone"
        else
            log "a Keystone already answers at $AUTH_URL (not started by this script): leaving it alone"
        fi
        [ -x "$VENV/bin/python" ] || die "no venv at $VENV to create the test identities with"
    else
        if tcp_open "$HOST" "$PORT"; then
            die "something else listens on $HOST:$PORT and is not Keystone"
        fi
        if pid_alive "$PIDFILE"; then
            log "keystone (pid $(cat "$PIDFILE")) runs but does not answer: restarting it"
            cmd_stop
        fi
        have curl || apt_install curl
        install_keystone
        write_config
        setup_db
        start_server
    fi
    ensure_identities
    local t
    for t in "${TIMES[@]}"; do
        log "time: $t"
    done
    log "total: $(elapsed "$t_all")s"
    echo "$AUTH_URL"
}

cmd_stop() {
    local sig=INT
    if [ -f "$VENV/.craton-server" ] && [ "$(cat "$VENV/.craton-server")" = gunicorn ]; then
        sig=TERM
    fi
    if ! pid_alive "$PIDFILE" && ks_answers; then
        log "a Keystone answers at $AUTH_URL but was not started by this script: leaving it alone"
        return 0
    fi
    # uwsgi: SIGINT stops it (SIGTERM would only reload).
    stop_pidfile "$PIDFILE" "$sig" 30 keystone
}

cmd_status() {
    if ks_answers; then
        echo "$AUTH_URL"; log "keystone answers at $AUTH_URL"; return 0
    fi
    log "keystone does not answer at $AUTH_URL"
    return 1
}

cmd_env() {
    local who=${1:-admin} line user password project _role
    line=$(awk -v u="$who" '$1 == u' <<<"$IDENTITIES")
    [ -n "$line" ] || die "unknown user '$who' (one of: $(awk '{ printf "%s ", $1 }' <<<"$IDENTITIES"))"
    read -r user password project _role <<<"$line"
    cat <<EOF
export OS_AUTH_URL=$AUTH_URL
export OS_AUTH_TYPE=password
export OS_IDENTITY_API_VERSION=3
export OS_USERNAME=$user
export OS_PASSWORD=$password
export OS_PROJECT_NAME=$project
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=$REGION
export OS_INTERFACE=public
EOF
}

case "${1:-start}" in start|stop) require_root; serialize keystone "$@" ;; esac
case "${1:-start}" in
    start) cmd_start ;;
    stop) require_root; cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env "${2:-admin}" ;;
    -h|--help|help) usage ;;
    *) die "usage: $0 [start|stop|status|env [USER]]" ;;
esac
