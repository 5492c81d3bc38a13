# shellcheck shell=bash
# Shared helpers for Craton's environment scripts (tools/*.sh).
# Source it; it sets nothing but functions and a few CRATON_* defaults.

: "${CRATON_RUN_DIR:=/run/craton}"
: "${CRATON_LOG_DIR:=/var/log/craton}"
: "${CRATON_STATE_DIR:=/var/lib/craton}"
: "${CRATON_CACHE_DIR:=/var/cache/craton}"
CRATON_DEFAULT_DOCKER_URL="unix://${CRATON_RUN_DIR}/docker.sock"

_CRATON_PROG="$(basename "${0:-craton}")"
_CRATON_APT_UPDATED=0

log() { printf '%s: %s\n' "$_CRATON_PROG" "$*" >&2; }
warn() { printf '%s: WARNING: %s\n' "$_CRATON_PROG" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$_CRATON_PROG" "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

require_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)"
}

ensure_dirs() {
    mkdir -p "$CRATON_RUN_DIR" "$CRATON_LOG_DIR" "$CRATON_STATE_DIR" "$CRATON_CACHE_DIR"
}

# now: seconds since the epoch with milliseconds.
now() { date +%s.%N; }
# elapsed START: seconds since START (from now), one decimal.
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# wait_until TIMEOUT_S DESCRIPTION CMD...: run CMD every 0.25 s until it
# succeeds; return 1 after TIMEOUT_S seconds.
wait_until() {
    local timeout=$1 what=$2; shift 2
    local deadline
    deadline=$(( $(date +%s) + timeout ))
    while ! "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "timed out after ${timeout}s waiting for ${what}"
            return 1
        fi
        sleep 0.25
    done
}

# pid_alive PIDFILE: true if PIDFILE names a live process.
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc '0-9' <"$1")
    proc_alive "$pid"
}

# proc_alive PID: true if PID is a live process (zombies do not count).
proc_alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
    [ "$state" != Z ] && [ "$state" != X ]
}

# stop_pidfile PIDFILE SIGNAL TIMEOUT_S NAME: signal the process and wait
# until it has gone (SIGKILL after the timeout).
stop_pidfile() {
    local pidfile=$1 sig=$2 timeout=$3 name=$4 pid i
    if ! pid_alive "$pidfile"; then
        log "$name is not running (no live pid in $pidfile)"
        rm -f "$pidfile"
        return 0
    fi
    pid=$(tr -dc '0-9' <"$pidfile")
    log "stopping $name (pid $pid, SIG$sig)"
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 4; i++)); do
        proc_alive "$pid" || break
        sleep 0.25
    done
    if proc_alive "$pid"; then
        warn "$name (pid $pid) still alive after ${timeout}s: sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
    log "$name stopped"
}

# tcp_open HOST PORT: true if something accepts TCP connections there.
tcp_open() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# --- apt ---------------------------------------------------------------

# wait_for_dpkg_lock: another apt/dpkg may be running (e.g. a parallel
# install); wait for it (up to 15 min) instead of failing.
wait_for_dpkg_lock() {
    local waited=0 locks=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock
        /var/lib/apt/lists/lock /var/cache/apt/archives/lock)
    while fuser "${locks[@]}" >/dev/null 2>&1 \
            || pgrep -x 'apt-get|apt|dpkg|aptitude|unattended-upgr' >/dev/null 2>&1; do
        if [ "$waited" -eq 0 ]; then
            log "waiting for another apt/dpkg process to finish"
        fi
        if [ "$waited" -ge 900 ]; then
            die "apt/dpkg is still locked after 15 min"
        fi
        sleep 2; waited=$((waited + 2))
    done
}

# pkg_installed PKG: true if dpkg has PKG fully installed.
pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# apt_install PKG...: install the packages that are missing; runs
# `apt-get update` once per script run, only when something is missing.
apt_install() {
    local missing=() p t0
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -gt 0 ] || return 0
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l NEEDRESTART_SUSPEND=1
    local opts=(-y -q -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef
                -o Dpkg::Options::=--force-confold)
    if [ "$_CRATON_APT_UPDATED" -eq 0 ]; then
        wait_for_dpkg_lock
        t0=$(now)
        log "apt-get update"
        apt-get "${opts[@]}" update </dev/null >&2 || die "apt-get update failed"
        _CRATON_APT_UPDATED=1
        log "apt-get update took $(elapsed "$t0")s"
    fi
    wait_for_dpkg_lock
    t0=$(now)
    log "installing ${missing[*]}"
    # Keep maintainer scripts from starting the daemons themselves (a system
    # dockerd on /var/run/docker.sock, say): these scripts start them their
    # own way. policy-rc.d exit 101 = "action forbidden" (Debian policy).
    local policy=/usr/sbin/policy-rc.d ours=0 rc=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# temporary, from Craton tools/lib.sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        ours=1
    fi
    apt-get "${opts[@]}" install "${missing[@]}" </dev/null >&2 || rc=$?
    if [ "$ours" -eq 1 ]; then
        rm -f "$policy"
    fi
    [ "$rc" -eq 0 ] || die "apt-get install ${missing[*]} failed (exit $rc)"
    log "installed ${missing[*]} in $(elapsed "$t0")s"
}

# --- docker ------------------------------------------------------------

# craton_docker_url: the engine URL Craton uses.
craton_docker_url() { printf '%s\n' "${CRATON_DOCKER_URL:-$CRATON_DEFAULT_DOCKER_URL}"; }

# docker_cli: a docker client. The machine may ship a newer client in
# /usr/local/bin; it negotiates the API version, so any client works.
docker_cli() {
    if have docker; then
        command -v docker
    elif [ -x /usr/bin/docker ]; then
        echo /usr/bin/docker
    else
        return 1
    fi
}

# dk ARGS...: docker client against the Craton engine.
dk() {
    local cli
    cli=$(docker_cli) || die "no docker client found (install docker.io)"
    DOCKER_HOST='' DOCKER_CONTEXT='' "$cli" -H "$(craton_docker_url)" "$@"
}

# docker_answers: true if the engine at the URL answers `docker info`.
docker_answers() {
    docker_cli >/dev/null 2>&1 || return 1
    timeout 15 env DOCKER_HOST= DOCKER_CONTEXT= "$(docker_cli)" \
        -H "$(craton_docker_url)" info >/dev/null 2>&1
}

# serialize NAME ARGS...: run the calling script under an exclusive lock
# (/run/craton/NAME.lock), so that two runs (e.g. two engineers, or CI and a
# developer) never start the same daemon twice. Re-executes the script under
# `flock -o`, so daemons it starts do not inherit the lock. Call it early,
# with the script's own arguments: serialize NAME "$@".
serialize() {
    local name=$1; shift
    local var="CRATON_LOCK_${name//[^A-Za-z0-9]/_}"
    if [ "${!var:-}" = "$PPID" ]; then
        unset "$var"
        return 0
    fi
    mkdir -p "$CRATON_RUN_DIR"
    local lock="$CRATON_RUN_DIR/$name.lock"
    if ! flock -n "$lock" true 2>/dev/null; then
        log "another $name run holds $lock: waiting for it (up to 30 min)"
    fi
    export "$var=$$"
    exec flock -o -w 1800 "$lock" "${BASH:-bash}" "$0" "$@"
}

# usage: print the calling script's header comment (its help text).
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

# dk_at URL ARGS...: docker client against the engine at URL (e.g. a Swarm
# node of tools/swarm-cluster.sh), ignoring DOCKER_HOST/DOCKER_CONTEXT.
dk_at() {
    local cli url=$1; shift
    cli=$(docker_cli) || die "no docker client found (install docker.io)"
    DOCKER_HOST='' DOCKER_CONTEXT='' "$cli" -H "$url" "$@"
}

# kill_pids SIGNAL PID...: send SIGNAL to the live ones among PIDs.
kill_pids() {
    local sig=$1 p; shift
    for p in "$@"; do
        if proc_alive "$p"; then
            kill "-$sig" "$p" 2>/dev/null || true
        fi
    done
}

# wait_pids_gone TIMEOUT_S PID...: wait until none of PIDs is alive; return
# 1 if some still are after TIMEOUT_S seconds.
wait_pids_gone() {
    local timeout=$1 i p alive; shift
    for ((i = 0; i <= timeout * 4; i++)); do
        alive=0
        for p in "$@"; do
            if proc_alive "$p"; then alive=1; break; fi
        done
        [ "$alive" -eq 1 ] || return 0
        sleep 0.25
    done
    return 1
}
