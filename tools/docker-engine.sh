#!/usr/bin/env bash
# Start/stop/check the Docker engine that Craton talks to.
#
#   tools/docker-engine.sh [start|stop|status]     (default: start)
#
# URL: $CRATON_DOCKER_URL, default unix:///run/craton/docker.sock.
# start: if the URL answers `docker info`, print it and exit 0. Otherwise
#   install Debian's docker.io if `dockerd` is missing and start a dockerd of
#   our own (no systemd) on that unix socket, with its own data root, exec
#   root, pidfile and containerd namespace, so it never touches a system
#   dockerd on /var/run/docker.sock. Prints the URL on stdout.
# stop: stop our dockerd by its pidfile and wait until it has exited.
# status: exit 0 (and print the URL) if the engine answers.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/lib.sh"

DATA_ROOT="${CRATON_DOCKER_DATA_ROOT:-$CRATON_STATE_DIR/docker}"
EXEC_ROOT="${CRATON_DOCKER_EXEC_ROOT:-$CRATON_RUN_DIR/docker-exec}"
PIDFILE="${CRATON_DOCKER_PIDFILE:-$CRATON_RUN_DIR/dockerd.pid}"
LOGFILE="${CRATON_DOCKER_LOG:-$CRATON_LOG_DIR/dockerd.log}"
START_TIMEOUT="${CRATON_DOCKER_START_TIMEOUT:-60}"
BRIDGE_NAME=craton0

URL="$(craton_docker_url)"
case "${1:-start}" in start|stop) serialize "docker-engine" "$@" ;; esac

show_log_tail() {
    if [ -f "$LOGFILE" ]; then
        log "last lines of $LOGFILE:"
        tail -n 25 "$LOGFILE" | sed 's/^/    /' >&2
    fi
}

# system_dockerd_running: true if a dockerd other than ours runs (e.g. the
# distribution's, on /var/run/docker.sock).
system_dockerd_running() {
    local ours="" pid
    if pid_alive "$PIDFILE"; then
        ours=$(tr -dc '0-9' <"$PIDFILE")
    fi
    for pid in $(pgrep -x dockerd 2>/dev/null || true); do
        [ "$pid" = "$ours" ] || return 0
    done
    return 1
}

# ensure_own_bridge: a bridge of our own, so we don't share docker0 with a
# system dockerd. dockerd gives it an address from its default pools that
# does not overlap any route.
ensure_own_bridge() {
    if ! ip link show "$BRIDGE_NAME" >/dev/null 2>&1; then
        ip link add "$BRIDGE_NAME" type bridge || die "cannot create bridge $BRIDGE_NAME"
    fi
    ip link set "$BRIDGE_NAME" up
}

cmd_start() {
    if docker_answers; then
        log "engine already answers at $URL"
        echo "$URL"
        return 0
    fi
    case "$URL" in
        unix://*) ;;
        *) die "engine at $URL does not answer, and this script only starts engines on unix:// sockets (unset CRATON_DOCKER_URL to use $CRATON_DEFAULT_DOCKER_URL)" ;;
    esac
    local sock="${URL#unix://}"
    require_root
    ensure_dirs
    mkdir -p "$DATA_ROOT" "$EXEC_ROOT" "$(dirname "$sock")" "$(dirname "$PIDFILE")" "$(dirname "$LOGFILE")"

    local t0
    t0=$(now)
    if ! have dockerd; then
        log "dockerd not found (a bare docker client does not count): installing docker.io"
        apt_install docker.io
        have dockerd || die "docker.io installed but dockerd is still not on PATH"
    fi

    if pid_alive "$PIDFILE"; then
        # Ours, but not answering yet: it may still be starting.
        log "dockerd (pid $(cat "$PIDFILE")) is running but does not answer yet; waiting"
    else
        rm -f "$PIDFILE"
        local extra=()
        if system_dockerd_running; then
            warn "another dockerd runs on this machine: using bridge $BRIDGE_NAME and no iptables rules, to stay clear of it"
            ensure_own_bridge
            extra+=(--bridge "$BRIDGE_NAME" --iptables=false)
        fi
        log "starting dockerd on $URL (data root $DATA_ROOT, log $LOGFILE)"
        {
            echo "==== $(date -Is) tools/docker-engine.sh start"
        } >>"$LOGFILE"
        # setsid + nohup: own session, survives the calling shell and CI step.
        setsid nohup dockerd \
            --host "$URL" \
            --data-root "$DATA_ROOT" \
            --exec-root "$EXEC_ROOT" \
            --pidfile "$PIDFILE" \
            --containerd-namespace craton \
            --containerd-plugins-namespace craton-plugins \
            "${extra[@]}" \
            </dev/null >>"$LOGFILE" 2>&1 &
        local launcher=$!
        disown "$launcher" 2>/dev/null || true
    fi

    local deadline
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    until docker_answers; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            show_log_tail
            die "dockerd did not answer at $URL within ${START_TIMEOUT}s"
        fi
        if [ -n "${launcher:-}" ] && ! kill -0 "$launcher" 2>/dev/null; then
            show_log_tail
            die "dockerd exited during start-up (see $LOGFILE)"
        fi
        sleep 0.25
    done
    log "engine answers at $URL (pid $(cat "$PIDFILE" 2>/dev/null || echo '?'), $(elapsed "$t0")s)"
    echo "$URL"
}

cmd_stop() {
    if ! pid_alive "$PIDFILE"; then
        if docker_answers; then
            log "engine at $URL answers but was not started by this script (no live $PIDFILE): leaving it alone"
        else
            log "dockerd is not running"
        fi
        rm -f "$PIDFILE"
        return 0
    fi
    require_root
    # dockerd stops its containers (up to 15 s each) and its containerd.
    stop_pidfile "$PIDFILE" TERM 60 dockerd
}

cmd_status() {
    if docker_answers; then
        echo "$URL"
        log "engine answers at $URL"
        return 0
    fi
    log "no engine answers at $URL"
    return 1
}

case "${1:-start}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    -h|--help|help) usage ;;
    *) die "usage: $0 [start|stop|status]" ;;
esac
