#!/usr/bin/env bash
# Install (if missing), start (if not running) and stop the backing services
# Craton's tests use, all on loopback, without systemd:
#
#   tools/services.sh [start|stop|status] [rabbitmq] [mariadb] [postgresql]
#
# Default: start all three. Services that already run are left alone; the
# test credentials are (re)ensured every time:
#   rabbit://craton:craton@127.0.0.1:5672/          (tag administrator)
#   mysql+pymysql://craton:craton@127.0.0.1/        (ALL on `craton%`.*)
#   postgresql+psycopg2://craton:craton@127.0.0.1/  (CREATEDB)
set -euo pipefail
# shellcheck disable=SC2317  # functions are called as "${service}_${action}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/lib.sh"

ACTION=start
SERVICES=()
for arg in "$@"; do
    case "$arg" in
        start|stop|status) ACTION=$arg ;;
        rabbitmq|rabbit) SERVICES+=(rabbitmq) ;;
        mariadb|mysql) SERVICES+=(mariadb) ;;
        postgresql|postgres|pg) SERVICES+=(postgresql) ;;
        -h|--help|help) usage; exit 0 ;;
        *) die "unknown argument '$arg' (usage: $0 [start|stop|status] [rabbitmq] [mariadb] [postgresql])" ;;
    esac
done
[ "${#SERVICES[@]}" -gt 0 ] || SERVICES=(rabbitmq mariadb postgresql)

USER_NAME=craton
USER_PASS=craton
URLS=()
TIMES=()

# step NAME CMD...: run CMD and record how long it took.
step() {
    local name=$1 t0; shift
    t0=$(now)
    "$@"
    TIMES+=("$name: $(elapsed "$t0")s")
}

# ================================================================ RabbitMQ
RABBIT_PORT=5672
rabbit_up() { tcp_open 127.0.0.1 "$RABBIT_PORT"; }
rabbit_beam_running() { pgrep -u rabbitmq -f 'beam.*rabbit' >/dev/null 2>&1; }
rctl() { timeout 120 rabbitmqctl -q "$@"; }

rabbitmq_start() {
    step "rabbitmq install" apt_install rabbitmq-server
    if rabbit_up; then
        log "rabbitmq: something already listens on 127.0.0.1:$RABBIT_PORT: leaving it alone"
    else
        local t0
        t0=$(now)
        if rabbit_beam_running; then
            log "rabbitmq: node is running but not listening yet: waiting for it"
        else
            log "rabbitmq: starting (RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 rabbitmq-server -detached)"
            local envs=(RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 "RABBITMQ_NODE_PORT=$RABBIT_PORT")
            # When the node's host name resolves to loopback (as here), keep
            # epmd and Erlang distribution on loopback too.
            if getent ahostsv4 "$(hostname -s)" 2>/dev/null | awk '{ print $1 }' | grep -qv '^127\.'; then
                :
            else
                envs+=(ERL_EPMD_ADDRESS=127.0.0.1
                    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}")
            fi
            # The Debian wrapper su's to 'rabbitmq' and keeps the environment.
            env "${envs[@]}" \
                setsid rabbitmq-server -detached </dev/null >>"$CRATON_LOG_DIR/rabbitmq-start.log" 2>&1 \
                || die "rabbitmq-server -detached failed (see $CRATON_LOG_DIR/rabbitmq-start.log and /var/log/rabbitmq/)"
        fi
        # -detached returns before the node registers with epmd, and
        # await_startup fails at once while the node is unreachable: retry.
        if ! wait_until 120 "rabbitmq (rabbitmqctl await_startup)" rctl await_startup; then
            tail -n 20 /var/log/rabbitmq/*.log 2>/dev/null | sed 's/^/    /' >&2 || true
            die "rabbitmq did not finish starting (rabbitmqctl await_startup failed; logs in /var/log/rabbitmq/)"
        fi
        wait_until 30 "rabbitmq on 127.0.0.1:$RABBIT_PORT" rabbit_up \
            || die "rabbitmq runs but does not listen on 127.0.0.1:$RABBIT_PORT"
        TIMES+=("rabbitmq start: $(elapsed "$t0")s")
        log "rabbitmq: up on 127.0.0.1:$RABBIT_PORT"
    fi
    step "rabbitmq credentials" rabbitmq_user
    URLS+=("rabbit://$USER_NAME:$USER_PASS@127.0.0.1:$RABBIT_PORT/")
}

rabbitmq_user() {
    local users perms
    users=$(rctl list_users 2>&1) || die "rabbitmqctl list_users failed: $users"
    if ! grep -q "^${USER_NAME}[[:space:]]" <<<"$users"; then
        log "rabbitmq: adding user $USER_NAME"
        rctl add_user "$USER_NAME" "$USER_PASS" >/dev/null
        users="$USER_NAME	[]"
    elif ! rctl authenticate_user "$USER_NAME" "$USER_PASS" >/dev/null 2>&1; then
        log "rabbitmq: resetting the password of $USER_NAME"
        rctl change_password "$USER_NAME" "$USER_PASS" >/dev/null
    fi
    if ! grep "^${USER_NAME}[[:space:]]" <<<"$users" | grep -q administrator; then
        rctl set_user_tags "$USER_NAME" administrator >/dev/null
    fi
    perms=$(rctl list_user_permissions "$USER_NAME" 2>/dev/null || true)
    if ! grep -qP '^/\t\.\*\t\.\*\t\.\*$' <<<"$perms"; then
        rctl set_permissions -p / "$USER_NAME" '.*' '.*' '.*' >/dev/null
    fi
    log "rabbitmq: user $USER_NAME (administrator, all on vhost /) ready"
}

rabbitmq_stop() {
    if ! have rabbitmqctl; then
        log "rabbitmq: not installed"; return 0
    fi
    if rabbit_beam_running; then
        log "rabbitmq: stopping"
        step "rabbitmq stop" rctl stop >/dev/null 2>&1 || warn "rabbitmqctl stop failed"
    else
        log "rabbitmq: not running"
    fi
    # epmd outlives the node; -kill refuses while other nodes are registered.
    if pgrep -x epmd >/dev/null 2>&1; then
        epmd -kill >/dev/null 2>&1 || true
    fi
}

rabbitmq_status() {
    if rabbit_up; then log "rabbitmq: listening on 127.0.0.1:$RABBIT_PORT"; else log "rabbitmq: down"; return 1; fi
}

# ================================================================ MariaDB
mysql_ping() { mysqladmin --connect-timeout=2 ping >/dev/null 2>&1; }

mariadb_start() {
    step "mariadb install" apt_install mariadb-server
    if mysql_ping; then
        log "mariadb: already running: leaving it alone"
    else
        local t0
        t0=$(now)
        mkdir -p /run/mysqld
        chown mysql:mysql /run/mysqld
        if [ ! -d /var/lib/mysql/mysql ]; then
            log "mariadb: initialising the data directory"
            mariadb-install-db --user=mysql --datadir=/var/lib/mysql >>"$CRATON_LOG_DIR/mariadb-install-db.log" 2>&1 \
                || die "mariadb-install-db failed (see $CRATON_LOG_DIR/mariadb-install-db.log)"
        fi
        if pgrep -x 'mysqld_safe|mariadbd|mysqld' >/dev/null 2>&1; then
            log "mariadb: a server process exists but does not answer yet: waiting"
        else
            log "mariadb: starting (mysqld_safe --bind-address=127.0.0.1)"
            setsid nohup mysqld_safe --bind-address=127.0.0.1 \
                </dev/null >>"$CRATON_LOG_DIR/mysqld_safe.log" 2>&1 &
            disown $! 2>/dev/null || true
        fi
        if ! wait_until 60 "mariadb (mysqladmin ping)" mysql_ping; then
            tail -n 20 "$CRATON_LOG_DIR/mysqld_safe.log" 2>/dev/null | sed 's/^/    /' >&2 || true
            die "mariadb did not answer mysqladmin ping within 60s"
        fi
        TIMES+=("mariadb start: $(elapsed "$t0")s")
        log "mariadb: up"
    fi
    step "mariadb credentials" mariadb_user
    URLS+=("mysql+pymysql://$USER_NAME:$USER_PASS@127.0.0.1/")
}

mariadb_user() {
    local sql="" h
    for h in localhost 127.0.0.1; do
        sql+="CREATE USER IF NOT EXISTS '$USER_NAME'@'$h' IDENTIFIED BY '$USER_PASS';"
        sql+="ALTER USER '$USER_NAME'@'$h' IDENTIFIED BY '$USER_PASS';"
        sql+="GRANT ALL PRIVILEGES ON \`craton%\`.* TO '$USER_NAME'@'$h';"
    done
    sql+="CREATE DATABASE IF NOT EXISTS craton CHARACTER SET utf8mb4;FLUSH PRIVILEGES;"
    mysql --protocol=socket -uroot -e "$sql" \
        || die "mariadb: cannot create user $USER_NAME as root over the unix socket"
    # Check over TCP, as the tests connect: may it create and drop its own DBs?
    local probe="craton_probe_$$"
    MYSQL_PWD=$USER_PASS mysql -h 127.0.0.1 -P 3306 -u "$USER_NAME" \
        -e "CREATE DATABASE \`$probe\`; DROP DATABASE \`$probe\`;" \
        || die "mariadb: $USER_NAME cannot create/drop databases over 127.0.0.1"
    log "mariadb: user $USER_NAME (ALL on \`craton%\`.*) ready"
}

mariadb_stop() {
    if ! have mysqladmin; then
        log "mariadb: not installed"; return 0
    fi
    if mysql_ping; then
        log "mariadb: stopping"
        local t0
        t0=$(now)
        mysqladmin shutdown || warn "mysqladmin shutdown failed"
        wait_until 60 "mariadb to exit" bash -c '! pgrep -x "mysqld_safe|mariadbd|mysqld"' \
            || warn "mariadb processes still running"
        TIMES+=("mariadb stop: $(elapsed "$t0")s")
    else
        log "mariadb: not running"
    fi
}

mariadb_status() {
    if mysql_ping; then log "mariadb: running"; else log "mariadb: down"; return 1; fi
}

# ================================================================ PostgreSQL
PG_VERSION=""
PG_CLUSTER=main
PG_PORT=5432

pg_pick_cluster() {
    # The newest installed server version with a 'main' cluster (Debian 12: 15).
    local line
    line=$(pg_lsclusters -h 2>/dev/null | awk -v c="$PG_CLUSTER" '$2 == c' | sort -k1,1n | tail -n 1)
    if [ -z "$line" ]; then
        PG_VERSION=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)
        [ -n "$PG_VERSION" ] || die "postgresql: no server version under /usr/lib/postgresql"
        log "postgresql: creating cluster $PG_VERSION/$PG_CLUSTER"
        pg_createcluster "$PG_VERSION" "$PG_CLUSTER" >&2 || die "pg_createcluster failed"
        line=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c')
    fi
    PG_VERSION=$(awk '{print $1}' <<<"$line")
    PG_PORT=$(awk '{print $3}' <<<"$line")
}
pg_online() { pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c && $4 ~ /^online/ { f = 1 } END { exit !f }'; }
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 2; }
psql_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"; }

postgresql_start() {
    step "postgresql install" apt_install postgresql
    pg_pick_cluster
    if pg_online; then
        log "postgresql: cluster $PG_VERSION/$PG_CLUSTER already running: leaving it alone"
    else
        local t0
        t0=$(now)
        log "postgresql: starting (pg_ctlcluster $PG_VERSION $PG_CLUSTER start)"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start >&2 \
            || die "pg_ctlcluster $PG_VERSION $PG_CLUSTER start failed (see /var/log/postgresql/)"
        TIMES+=("postgresql start: $(elapsed "$t0")s")
    fi
    wait_until 60 "postgresql on 127.0.0.1:$PG_PORT" pg_ready \
        || die "postgresql does not accept TCP connections on 127.0.0.1:$PG_PORT (listen_addresses?)"
    step "postgresql credentials" postgresql_user
    local port=""
    [ "$PG_PORT" = 5432 ] || port=":$PG_PORT"
    URLS+=("postgresql+psycopg2://$USER_NAME:$USER_PASS@127.0.0.1$port/")
}

postgresql_user() {
    psql_admin -d postgres <<SQL >/dev/null || die "postgresql: cannot create role $USER_NAME"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$USER_NAME') THEN
    CREATE ROLE $USER_NAME LOGIN CREATEDB PASSWORD '$USER_PASS';
  ELSE
    ALTER ROLE $USER_NAME LOGIN CREATEDB PASSWORD '$USER_PASS';
  END IF;
END \$\$;
SQL
    if [ "$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'craton'")" != 1 ]; then
        psql_admin -d postgres -c "CREATE DATABASE craton OWNER $USER_NAME" >/dev/null
    fi
    # Password login over TCP, as the tests connect (pg_hba: host 127.0.0.1/32).
    if ! PGPASSWORD=$USER_PASS PGCONNECT_TIMEOUT=5 psql -X -h 127.0.0.1 -p "$PG_PORT" -U "$USER_NAME" \
            -d postgres -tAc 'SELECT 1' >/dev/null; then
        die "postgresql: $USER_NAME cannot log in with a password over 127.0.0.1:$PG_PORT; pg_hba.conf needs 'host all all 127.0.0.1/32 scram-sha-256' (or md5)"
    fi
    log "postgresql: role $USER_NAME (LOGIN CREATEDB) ready on 127.0.0.1:$PG_PORT"
}

postgresql_stop() {
    if ! have pg_lsclusters; then
        log "postgresql: not installed"; return 0
    fi
    pg_pick_cluster
    if pg_online; then
        log "postgresql: stopping $PG_VERSION/$PG_CLUSTER"
        step "postgresql stop" pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop >&2
    else
        log "postgresql: not running"
    fi
}

postgresql_status() {
    have pg_lsclusters || { log "postgresql: not installed"; return 1; }
    pg_pick_cluster
    if pg_online; then log "postgresql: $PG_VERSION/$PG_CLUSTER running on port $PG_PORT"; else log "postgresql: down"; return 1; fi
}

# ================================================================ main
if [ "$ACTION" != status ]; then
    require_root
    serialize services "$@"
fi
ensure_dirs
T_ALL=$(now)
rc=0
for s in "${SERVICES[@]}"; do
    "${s}_${ACTION}" || rc=1
done
if [ "$ACTION" != status ]; then
    for t in "${TIMES[@]}"; do
        log "time: $t"
    done
    log "total: $(elapsed "$T_ALL")s"
fi
if [ "$ACTION" = start ]; then
    for u in "${URLS[@]}"; do
        echo "$u"
    done
fi
exit "$rc"
