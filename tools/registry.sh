#!/usr/bin/env bash
# Start/stop/check a local Docker registry (Debian's docker-registry,
# distribution 2.8) that Craton pushes task images to.
#
#   tools/registry.sh [start|stop|status] [--addr HOST:PORT] [--netns NAME]
#
# Default address 127.0.0.1:5001 (a registry on 127.0.0.0/8 needs no
# insecure-registries setting in the engines). With --netns NAME it runs
# inside that network namespace (e.g. craton-swbr of tools/swarm-cluster.sh)
# and listens on an address of that namespace.
# start: install docker-registry if missing, write its own config (no auth,
#   storage.delete.enabled, http.addr), run `docker-registry serve` in the
#   background and wait until GET /v2/ answers. Prints HOST:PORT.
# stop: stop it by its pidfile. status: exit 0 (and print HOST:PORT) if
#   GET /v2/ answers.
# Files, per instance (INST = PORT, or NETNS-PORT with --netns):
#   storage /var/lib/craton/registry-INST, config /run/craton/registry-INST.yml,
#   pidfile /run/craton/registry-INST.pid, log /var/log/craton/registry-INST.log
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/lib.sh"

ACTION=start
ADDR="${CRATON_REGISTRY_ADDR:-127.0.0.1:5001}"
NETNS=""
START_TIMEOUT="${CRATON_REGISTRY_START_TIMEOUT:-30}"
args=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
        start|stop|status) ACTION=$1 ;;
        --addr) [ $# -ge 2 ] || die "--addr needs HOST:PORT"; ADDR=$2; shift ;;
        --addr=*) ADDR=${1#--addr=} ;;
        --netns) [ $# -ge 2 ] || die "--netns needs a namespace name"; NETNS=$2; shift ;;
        --netns=*) NETNS=${1#--netns=} ;;
        -h|--help|help) usage; exit 0 ;;
        *) die "unknown argument '$1' (usage: $0 [start|stop|status] [--addr HOST:PORT] [--netns NAME])" ;;
    esac
    shift
done

HOST=${ADDR%:*}
PORT=${ADDR##*:}
[ -n "$HOST" ] && [ "$HOST" != "$ADDR" ] && [[ "$PORT" =~ ^[0-9]+$ ]] \
    || die "--addr must be HOST:PORT (got '$ADDR')"
if [ -n "$NETNS" ]; then
    [[ "$NETNS" =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad namespace name '$NETNS'"
    INST="$NETNS-$PORT"
else
    INST="$PORT"
fi
STORAGE="$CRATON_STATE_DIR/registry-$INST"
CONFIG="$CRATON_RUN_DIR/registry-$INST.yml"
PIDFILE="$CRATON_RUN_DIR/registry-$INST.pid"
LOGFILE="$CRATON_LOG_DIR/registry-$INST.log"

case "$ACTION" in start|stop) serialize "registry-$INST" "${args[@]}" ;; esac

# in_ns CMD...: run CMD in the registry's network namespace (or here).
in_ns() {
    if [ -n "$NETNS" ]; then
        nsenter --net="/run/netns/$NETNS" -- "$@"
    else
        "$@"
    fi
}

netns_exists() { [ -z "$NETNS" ] || [ -e "/run/netns/$NETNS" ]; }

# registry_answers: GET /v2/ answers 200 (seen from the registry's namespace).
registry_answers() {
    netns_exists || return 1
    have curl || return 1
    local code
    code=$(in_ns curl -s -o /dev/null -w '%{http_code}' --noproxy '*' \
        --connect-timeout 2 --max-time 5 "http://$ADDR/v2/" 2>/dev/null) || return 1
    [ "$code" = 200 ]
}

show_log_tail() {
    if [ -f "$LOGFILE" ]; then
        log "last lines of $LOGFILE:"
        tail -n 15 "$LOGFILE" | sed 's/^/    /' >&2
    fi
}

write_config() {
    cat >"$CONFIG.tmp" <<EOF
# Written by tools/registry.sh: rewritten on every start.
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
  fields:
    service: craton-registry
storage:
  filesystem:
    rootdirectory: $STORAGE
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: true
      age: 24h
      interval: 6h
      dryrun: false
http:
  addr: $ADDR
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
    mv -f "$CONFIG.tmp" "$CONFIG"
}

cmd_start() {
    require_root
    ensure_dirs
    if registry_answers; then
        log "registry already answers at http://$ADDR/v2/${NETNS:+ (netns $NETNS)}"
        echo "$ADDR"
        return 0
    fi
    netns_exists || die "network namespace $NETNS does not exist"
    local t0
    t0=$(now)
    have docker-registry || apt_install docker-registry
    have docker-registry || die "docker-registry installed but not on PATH"
    have curl || apt_install curl
    have nsenter || apt_install util-linux

    local launcher=""
    if pid_alive "$PIDFILE"; then
        log "registry (pid $(cat "$PIDFILE")) is running but does not answer yet; waiting"
    else
        rm -f "$PIDFILE"
        # shellcheck disable=SC2016
        if in_ns timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$HOST" "$PORT" 2>/dev/null; then
            die "something else listens on $ADDR${NETNS:+ in netns $NETNS} (and it is not a registry answering /v2/)"
        fi
        case "$HOST" in
            127.*|localhost) [ -z "$NETNS" ] || ip -n "$NETNS" link set lo up ;;
        esac
        mkdir -p "$STORAGE"
        write_config
        echo "==== $(date -Is) tools/registry.sh start ($ADDR${NETNS:+, netns $NETNS})" >>"$LOGFILE"
        log "starting docker-registry on $ADDR${NETNS:+ in netns $NETNS} (storage $STORAGE, log $LOGFILE)"
        local cmd=(docker-registry serve "$CONFIG")
        if [ -n "$NETNS" ]; then
            cmd=(nsenter --net="/run/netns/$NETNS" -- "${cmd[@]}")
        fi
        # setsid + nohup: own session, survives the calling shell and CI step.
        # nsenter (without --fork) execs, so $! is the registry's pid.
        setsid nohup "${cmd[@]}" </dev/null >>"$LOGFILE" 2>&1 &
        launcher=$!
        disown "$launcher" 2>/dev/null || true
        echo "$launcher" >"$PIDFILE"
    fi

    local deadline
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    until registry_answers; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            show_log_tail
            die "registry did not answer at http://$ADDR/v2/ within ${START_TIMEOUT}s"
        fi
        if [ -n "$launcher" ] && ! proc_alive "$launcher"; then
            rm -f "$PIDFILE"
            show_log_tail
            die "docker-registry exited during start-up (see $LOGFILE)"
        fi
        sleep 0.2
    done
    log "registry answers at http://$ADDR/v2/ (pid $(cat "$PIDFILE"), $(elapsed "$t0")s)"
    echo "$ADDR"
}

cmd_stop() {
    if ! pid_alive "$PIDFILE"; then
        if registry_answers; then
            log "a registry answers at $ADDR but was not started by this script (no live $PIDFILE): leaving it alone"
        else
            log "registry $INST is not running"
        fi
        rm -f "$PIDFILE"
        return 0
    fi
    require_root
    stop_pidfile "$PIDFILE" TERM 15 "registry $INST"
}

cmd_status() {
    if registry_answers; then
        log "registry answers at http://$ADDR/v2/${NETNS:+ (netns $NETNS)}"
        echo "$ADDR"
        return 0
    fi
    log "no registry answers at http://$ADDR/v2/${NETNS:+ (netns $NETNS)}"
    return 1
}

case "$ACTION" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
esac
