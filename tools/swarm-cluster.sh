#!/usr/bin/env bash
# A real 3-node Docker Swarm on this one machine, plus the registry its
# nodes pull from. Each node is a dockerd (with its own containerd) in a
# network namespace of its own, with its own data root, exec root, socket,
# cgroup parent and host name (craton-node1..3); node1 is the manager.
#
#   tools/swarm-cluster.sh [start|stop [--purge]|status|env|stop-node N|start-node N]
#
# start: (default) set up what is missing and start what is not running:
#   namespaces and veths, the registry (tools/registry.sh --netns), the three
#   engines, the swarm (init/join), the base images craton/busybox:latest and
#   craton/python3:bookworm in the manager engine (copied from the main engine
#   with docker save | docker load) and in the registry; waits until the 3
#   nodes are Ready. Prints the exports of `env`. Fast when all runs already.
# stop: stop the engines and the registry, kill what is left in the
#   namespaces, delete namespaces, veths and cgroups. Engine data roots (the
#   swarm state, images) and the registry storage are kept, so the next start
#   is quick; --purge deletes them too.
# status: exit 0 if the manager answers with 3 nodes Ready and the registry
#   answers from this (root) namespace; prints the node list.
# env: shell exports for the cluster (eval "$(tools/swarm-cluster.sh env)").
# stop-node N: SIGKILL node N's dockerd and containerd (an engine death: its
#   containers' shims stay). start-node N: start it again, wait until Ready.
#
# Layout: netns craton-swbr holds bridge br0 10.250.0.254/24 (the registry
# listens on 10.250.0.254:5001); netns craton-nodeN has eth0 10.250.0.N/24,
# a veth into br0; a veth craton-sw0 10.250.0.253/24 in the root namespace
# (routing only, no bridge there) lets the conductor reach the registry.
# Overlay networks use 10.251.0.0/16. Sockets /run/craton/swarm/nodeN/docker.sock,
# data /var/lib/craton/swarm/nodeN, logs /var/log/craton/swarm-nodeN.log.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/lib.sh"

NODES=(1 2 3)
MANAGER=1
SUBNET=10.250.0
BR_NS=craton-swbr
BR_DEV=br0
BR_IP=$SUBNET.254
ROOT_VETH=craton-sw0
ROOT_PEER=vroot
ROOT_IP=$SUBNET.253
REGISTRY_PORT=5001
REGISTRY="$BR_IP:$REGISTRY_PORT"
ADDR_POOL=10.251.0.0/16
HEARTBEAT=1s
BASE_IMAGES=(craton/busybox:latest craton/python3:bookworm)
SW_RUN="$CRATON_RUN_DIR/swarm"
SW_STATE="$CRATON_STATE_DIR/swarm"
START_TIMEOUT="${CRATON_SWARM_START_TIMEOUT:-90}"

ACTION=${1:-start}
ARG=${2:-}

node_ns() { echo "craton-node$1"; }
node_ip() { echo "$SUBNET.$1"; }
node_dir() { echo "$SW_RUN/node$1"; }
node_data() { echo "$SW_STATE/node$1"; }
node_sock() { echo "$SW_RUN/node$1/docker.sock"; }
node_url() { echo "unix://$SW_RUN/node$1/docker.sock"; }
node_log() { echo "$CRATON_LOG_DIR/swarm-node$1.log"; }
node_cgroup() { echo "craton-swarm-node$1"; }
dockerd_pidfile() { echo "$SW_RUN/node$1/dockerd.pid"; }
containerd_pidfile() { echo "$SW_RUN/node$1/exec/containerd/containerd.pid"; }
holder_pidfile() { echo "$SW_RUN/node$1/holder.pid"; }
MGR_URL="$(node_url "$MANAGER")"

# dn N ARGS...: docker client against node N.
dn() { local n=$1; shift; dk_at "$(node_url "$n")" "$@"; }

check_node_arg() {
    case "$ARG" in 1|2|3) ;; *) die "usage: $0 $ACTION N   (N = 1, 2 or 3)" ;; esac
}

case "$ACTION" in
    start|stop|stop-node|start-node) serialize swarm-cluster "$@" ;;
esac

# ------------------------------------------------------------ prerequisites
ensure_tools() {
    local pkgs=()
    have ip || pkgs+=(iproute2)
    { have nsenter && have unshare; } || pkgs+=(util-linux)
    have curl || pkgs+=(curl)
    have dockerd || pkgs+=(docker.io)
    if [ "${#pkgs[@]}" -gt 0 ]; then
        apt_install "${pkgs[@]}"
    fi
    have dockerd || die "docker.io installed but dockerd is still not on PATH"
    docker_cli >/dev/null || die "no docker client (install docker.io)"
}

# ------------------------------------------------------------ network
netns_exists() { [ -e "/run/netns/$1" ]; }
ensure_netns() { netns_exists "$1" || ip netns add "$1" || die "cannot create netns $1"; }

ensure_network() {
    # Our /24 must be free in the root namespace (except for our own veth).
    local clash
    clash=$(ip -4 -o addr show 2>/dev/null | awk -v me="$ROOT_VETH" -v net="$SUBNET." \
        '$2 != me && index($4, net) == 1 { print $2 " " $4 }')
    [ -z "$clash" ] || die "$SUBNET.0/24 is already used in the root namespace ($clash)"
    clash=$(ip -4 route show "$SUBNET.0/24" 2>/dev/null | grep -v "dev $ROOT_VETH " || true)
    [ -z "$clash" ] || die "a route for $SUBNET.0/24 already exists in the root namespace ($clash)"

    ensure_netns "$BR_NS"
    ip -n "$BR_NS" link set lo up
    ip -n "$BR_NS" link show "$BR_DEV" >/dev/null 2>&1 \
        || ip -n "$BR_NS" link add "$BR_DEV" type bridge || die "cannot create bridge $BR_DEV in $BR_NS"
    ip -n "$BR_NS" addr replace "$BR_IP/24" dev "$BR_DEV"
    ip -n "$BR_NS" link set "$BR_DEV" up

    local n ns peer
    for n in "${NODES[@]}"; do
        ns=$(node_ns "$n"); peer="vnode$n"
        ensure_netns "$ns"
        ip -n "$ns" link set lo up
        if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
            ip -n "$BR_NS" link del "$peer" >/dev/null 2>&1 || true
            ip -n "$BR_NS" link add "$peer" type veth peer name eth0 netns "$ns" \
                || die "cannot create the veth of node $n"
        fi
        ip -n "$BR_NS" link set "$peer" master "$BR_DEV" up
        ip -n "$ns" addr replace "$(node_ip "$n")/24" dev eth0
        ip -n "$ns" link set eth0 up
    done

    if ! ip link show "$ROOT_VETH" >/dev/null 2>&1; then
        ip -n "$BR_NS" link del "$ROOT_PEER" >/dev/null 2>&1 || true
        ip link add "$ROOT_VETH" type veth peer name "$ROOT_PEER" netns "$BR_NS" \
            || die "cannot create veth $ROOT_VETH"
        # No IPv6 chatter from the root namespace into the bridge.
        sysctl -qw "net.ipv6.conf.$ROOT_VETH.disable_ipv6=1" 2>/dev/null || true
    fi
    ip -n "$BR_NS" link set "$ROOT_PEER" master "$BR_DEV" up
    ip addr replace "$ROOT_IP/24" dev "$ROOT_VETH"
    ip link set "$ROOT_VETH" up
}

# ------------------------------------------------------------ registry
registry_cmd() { "$HERE/registry.sh" "$1" --netns "$BR_NS" --addr "$REGISTRY"; }

# registry_root_answers: GET /v2/ answers from the root namespace (the
# conductor's view, through craton-sw0).
registry_root_answers() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' --connect-timeout 2 \
        --max-time 5 "http://$REGISTRY/v2/" 2>/dev/null)" = 200 ]
}

# registry_config_digest REPO TAG: digest of the image config (= the image
# ID) of the manifest the registry holds for REPO:TAG, or nothing.
registry_config_digest() {
    # In a schema 2 manifest "config" comes before "layers": the first digest.
    nsenter --net="/run/netns/$BR_NS" -- curl -sf --noproxy '*' --max-time 10 \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$REGISTRY/v2/$1/manifests/$2" 2>/dev/null \
        | grep -o '"digest": *"sha256:[0-9a-f]*"' | head -n 1 | grep -o 'sha256:[0-9a-f]*' || true
}

# ------------------------------------------------------------ node engines
# ns_inode NETNS: inode of the namespace, to recognise processes inside it.
ns_inode() { stat -L -c %i "/run/netns/$1" 2>/dev/null; }

# in_node_netns PID N: true if PID lives in node N's network namespace.
in_node_netns() {
    local want have_
    want=$(ns_inode "$(node_ns "$2")") || return 1
    have_=$(stat -L -c %i "/proc/$1/ns/net" 2>/dev/null) || return 1
    [ "$want" = "$have_" ]
}

# holder_pid N: pid of node N's namespace holder (a `sleep infinity` that
# keeps the node's mount and UTS namespaces, so a restarted engine finds
# its shims and mounts again).
holder_pid() {
    local f pid
    f=$(holder_pidfile "$1")
    pid_alive "$f" || return 1
    pid=$(tr -dc '0-9' <"$f")
    in_node_netns "$pid" "$1" || return 1
    echo "$pid"
}

# Runs as the holder, inside `unshare --mount --uts --propagation slave`.
# `ip netns exec` would remount /sys and lose /sys/fs/cgroup: keep the
# cgroup mounts aside, mount a sysfs of this network namespace, move them
# back. /run/containerd is a per-node directory, so that dockerd never
# mistakes a system containerd for its own and shim sockets persist.
# shellcheck disable=SC2016
HOLDER_SCRIPT='set -e
n=$1; dir=$2
echo "craton-node$n" >/proc/sys/kernel/hostname
mkdir -p "$dir/cgroup-aside" "$dir/containerd-run" /run/containerd
mount --rbind /sys/fs/cgroup "$dir/cgroup-aside"
mount -t sysfs sysfs /sys
mount --move "$dir/cgroup-aside" /sys/fs/cgroup
mount --bind "$dir/containerd-run" /run/containerd
echo $$ >"$dir/holder.pid"
exec -a "craton-swarm-node$n-holder" sleep infinity'

ensure_holder() {
    local n=$1 dir pid i
    holder_pid "$n" >/dev/null && return 0
    dir=$(node_dir "$n")
    mkdir -p "$dir"
    rm -f "$dir/holder.pid"
    setsid nohup nsenter --net="/run/netns/$(node_ns "$n")" -- \
        unshare --mount --uts --propagation slave -- \
        bash -c "$HOLDER_SCRIPT" holder "$n" "$dir" </dev/null >>"$(node_log "$n")" 2>&1 &
    pid=$!
    disown "$pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
        holder_pid "$n" >/dev/null && return 0
        proc_alive "$pid" || break
        sleep 0.25
    done
    tail -n 5 "$(node_log "$n")" | sed 's/^/    /' >&2 || true
    die "could not set up the namespaces of node $n (see $(node_log "$n"))"
}

node_answers() {
    [ "$(curl -s --max-time 5 --unix-socket "$(node_sock "$1")" http://docker/_ping 2>/dev/null)" = OK ]
}

# daemon_pid N WHAT: pid of node N's dockerd or containerd, by pidfile, else
# by name among the processes in the node's network namespace.
daemon_pid() {
    local n=$1 what=$2 f pid
    if [ "$what" = dockerd ]; then
        f=$(dockerd_pidfile "$n")
    else
        f=$(containerd_pidfile "$n")
    fi
    if pid_alive "$f"; then
        pid=$(tr -dc '0-9' <"$f")
        if in_node_netns "$pid" "$n"; then
            echo "$pid"; return 0
        fi
    fi
    netns_exists "$(node_ns "$n")" || return 1
    for pid in $(ip netns pids "$(node_ns "$n")" 2>/dev/null); do
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$what" ]; then
            echo "$pid"; return 0
        fi
    done
    return 1
}

# launch_dockerd N: start node N's dockerd (if not running) in its namespaces.
launch_dockerd() {
    local n=$1 dir hpid
    if daemon_pid "$n" dockerd >/dev/null; then
        return 0
    fi
    hpid=$(holder_pid "$n") || die "node $n has no namespace holder"
    dir=$(node_dir "$n")
    mkdir -p "$dir/exec" "$(node_data "$n")"
    echo '{}' >"$dir/daemon.json"   # never read /etc/docker/daemon.json
    rm -f "$(dockerd_pidfile "$n")"
    # A killed containerd may linger as a zombie (pid 1 here does not always
    # reap at once); dockerd would take it for alive and wait for it in vain.
    if [ -e "$(containerd_pidfile "$n")" ] && ! pid_alive "$(containerd_pidfile "$n")"; then
        rm -f "$(containerd_pidfile "$n")"
    fi
    echo "==== $(date -Is) tools/swarm-cluster.sh: starting dockerd of node $n" >>"$(node_log "$n")"
    log "starting node $n (craton-node$n, $(node_ip "$n")): dockerd on $(node_url "$n")"
    setsid nohup nsenter --target "$hpid" --net --mount --uts -- dockerd \
        --config-file "$dir/daemon.json" \
        --host "$(node_url "$n")" \
        --data-root "$(node_data "$n")" \
        --exec-root "$dir/exec" \
        --pidfile "$(dockerd_pidfile "$n")" \
        --cgroup-parent "/$(node_cgroup "$n")" \
        --insecure-registry "$REGISTRY" \
        --swarm-default-advertise-addr "$(node_ip "$n")" \
        --shutdown-timeout 5 \
        </dev/null >>"$(node_log "$n")" 2>&1 &
    disown $! 2>/dev/null || true
}

wait_node_answers() {
    local n=$1 deadline
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    until node_answers "$n"; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            tail -n 20 "$(node_log "$n")" | sed 's/^/    /' >&2 || true
            die "node $n's dockerd did not answer at $(node_url "$n") within ${START_TIMEOUT}s (log $(node_log "$n"))"
        fi
        if ! daemon_pid "$n" dockerd >/dev/null && [ "$(( $(date +%s) + START_TIMEOUT - deadline ))" -ge 3 ]; then
            tail -n 20 "$(node_log "$n")" | sed 's/^/    /' >&2 || true
            die "node $n's dockerd exited during start-up (log $(node_log "$n"))"
        fi
        sleep 0.2
    done
}

# ------------------------------------------------------------ swarm
swarm_state() { dn "$1" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}' 2>/dev/null; }

manager_init() {
    log "swarm init on node $MANAGER (advertise $(node_ip "$MANAGER"), address pool $ADDR_POOL, heartbeat $HEARTBEAT)"
    dn "$MANAGER" swarm init --advertise-addr "$(node_ip "$MANAGER")" \
        --listen-addr "$(node_ip "$MANAGER"):2377" \
        --default-addr-pool "$ADDR_POOL" --default-addr-pool-mask-length 24 \
        --dispatcher-heartbeat "$HEARTBEAT" >/dev/null || die "docker swarm init failed on node $MANAGER"
}

ensure_manager() {
    local st deadline
    deadline=$(( $(date +%s) + 30 ))
    while :; do
        st=$(swarm_state "$MANAGER") || st="unknown"
        case "$st" in
            "active true "*) break ;;
            inactive*) manager_init; continue ;;
        esac
        if [ "$(date +%s)" -ge "$deadline" ]; then
            warn "manager swarm state is '$st' after 30s: leaving that swarm and creating a new one"
            dn "$MANAGER" swarm leave --force >/dev/null 2>&1 || true
            manager_init
            deadline=$(( $(date +%s) + 30 ))
        fi
        sleep 0.5
    done
    local hb
    hb=$(dn "$MANAGER" info --format '{{.Swarm.Cluster.Spec.Dispatcher.HeartbeatPeriod}}' 2>/dev/null || true)
    # docker info renders it as a duration ("1s"); older clients as ns.
    if [ "$hb" != "$HEARTBEAT" ] && [ "$hb" != 1000000000 ]; then
        log "swarm update --dispatcher-heartbeat $HEARTBEAT (was ${hb:-?})"
        dn "$MANAGER" swarm update --dispatcher-heartbeat "$HEARTBEAT" >/dev/null \
            || die "docker swarm update --dispatcher-heartbeat failed"
    fi
}

worker_join() {
    local n=$1 token
    token=$(dn "$MANAGER" swarm join-token -q worker) || die "cannot read the worker join token"
    log "node $n joins the swarm as a worker"
    dn "$n" swarm join --token "$token" --advertise-addr "$(node_ip "$n")" \
        --listen-addr "$(node_ip "$n"):2377" "$(node_ip "$MANAGER"):2377" >/dev/null \
        || die "node $n could not join the swarm"
}

ensure_worker() {
    local n=$1 st id known
    st=$(swarm_state "$n") || st="unknown"
    id=$(awk '{ print $3 }' <<<"$st")
    known=no
    if [ -n "$id" ] && dn "$MANAGER" node inspect "$id" >/dev/null 2>&1; then
        known=yes
    fi
    case "$st" in
        active*|pending*) [ "$known" = no ] || return 0 ;;
    esac
    case "$st" in
        inactive*) ;;
        *)
            log "node $n is in another swarm or in state '${st%% *}': leaving it"
            dn "$n" swarm leave --force >/dev/null 2>&1 || true
            ;;
    esac
    worker_join "$n"
}

# node_table: "ID HOSTNAME STATUS AVAILABILITY MANAGERSTATUS" per node.
node_table() {
    dk_at "$MGR_URL" node ls --format '{{.ID}} {{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}' 2>/dev/null
}

# node_ready N: node N (by its own node ID) is Ready on the manager.
node_ready() {
    local id
    id=$(dn "$1" info --format '{{.Swarm.NodeID}}' 2>/dev/null) || return 1
    [ -n "$id" ] || return 1
    node_table | awk -v id="$id" '$1 == id && $3 == "Ready" { ok = 1 } END { exit !ok }'
}

all_ready() {
    local t
    t=$(node_table) || return 1
    local n
    for n in "${NODES[@]}"; do
        awk -v h="craton-node$n" '$2 == h && $3 == "Ready" { ok = 1 } END { exit !ok }' <<<"$t" || return 1
    done
}

wait_all_ready() {
    local n deadline rejoined=0
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    for n in "${NODES[@]}"; do
        until node_ready "$n"; do
            if [ "$(date +%s)" -ge "$deadline" ]; then
                if [ "$n" != "$MANAGER" ] && [ "$rejoined" -eq 0 ]; then
                    warn "node $n is not Ready after ${START_TIMEOUT}s: making it leave and join again"
                    rejoined=1
                    dn "$n" swarm leave --force >/dev/null 2>&1 || true
                    worker_join "$n"
                    deadline=$(( $(date +%s) + START_TIMEOUT ))
                    continue
                fi
                node_table | sed 's/^/    /' >&2 || true
                die "node $n is not Ready in the swarm"
            fi
            sleep 0.25
        done
    done
}

# remove_stale_nodes: drop Down entries left by earlier joins of our nodes.
remove_stale_nodes() {
    local ids=() n id line nid host state
    for n in "${NODES[@]}"; do
        id=$(dn "$n" info --format '{{.Swarm.NodeID}}' 2>/dev/null) && ids+=("$id")
    done
    while read -r line; do
        [ -n "$line" ] || continue
        read -r nid host state _ <<<"$line"
        case " ${ids[*]} " in *" $nid "*) continue ;; esac
        case "$state" in
            Down|Unknown|Disconnected)
                log "removing stale swarm node $nid ($host, $state)"
                dk_at "$MGR_URL" node rm --force "$nid" >/dev/null 2>&1 || true ;;
        esac
    done < <(node_table)
}

# ------------------------------------------------------------ base images
image_id_at() { dk_at "$1" image inspect --format '{{.Id}}' "$2" 2>/dev/null || true; }

sync_base_images() {
    local main_url img lacking=0 main_ok=0 t0
    main_url=$(craton_docker_url)
    if docker_answers; then
        main_ok=1
    fi
    if [ "$main_ok" -eq 0 ]; then
        for img in "${BASE_IMAGES[@]}"; do
            [ -n "$(image_id_at "$MGR_URL" "$img")" ] || lacking=1
        done
        if [ "$lacking" -eq 1 ]; then
            log "starting the main engine (tools/docker-engine.sh) to copy the base images from"
            main_url=$("$HERE/docker-engine.sh" start) || die "tools/docker-engine.sh start failed"
            main_ok=1
        else
            log "main engine $main_url is not running: keeping the base images the manager has"
        fi
    fi
    if [ "$main_ok" -eq 1 ] && [ "$main_url" != "$MGR_URL" ]; then
        lacking=0
        for img in "${BASE_IMAGES[@]}"; do
            [ -n "$(image_id_at "$main_url" "$img")" ] || lacking=1
        done
        if [ "$lacking" -eq 1 ]; then
            log "base images missing in $main_url: tools/build-base-images.sh"
            CRATON_DOCKER_URL="$main_url" "$HERE/build-base-images.sh" >&2 \
                || die "tools/build-base-images.sh failed"
        fi
        local src dst
        for img in "${BASE_IMAGES[@]}"; do
            src=$(image_id_at "$main_url" "$img")
            [ -n "$src" ] || die "$img is missing in $main_url"
            dst=$(image_id_at "$MGR_URL" "$img")
            if [ "$src" != "$dst" ]; then
                t0=$(now)
                log "copying $img from the main engine to the manager (docker save | docker load)"
                dk_at "$main_url" save "$img" | dk_at "$MGR_URL" load -q >/dev/null \
                    || die "docker save $img | docker load (manager) failed"
                log "copied $img in $(elapsed "$t0")s"
            fi
        done
    fi
    local ref id
    for img in "${BASE_IMAGES[@]}"; do
        id=$(image_id_at "$MGR_URL" "$img")
        [ -n "$id" ] || die "$img is missing in the manager engine"
        ref="$REGISTRY/$img"
        dk_at "$MGR_URL" tag "$img" "$ref" || die "docker tag $img $ref failed"
        # Already there if the registry's manifest for the tag has this image
        # as its config (pushing again would recompress every layer).
        [ "$(registry_config_digest "${img%:*}" "${img##*:}")" != "$id" ] || continue
        t0=$(now)
        log "pushing $ref"
        dk_at "$MGR_URL" push -q "$ref" >/dev/null || die "docker push $ref failed"
        log "pushed $ref in $(elapsed "$t0")s"
    done
}

# ------------------------------------------------------------ commands
print_env() {
    echo "export CRATON_SWARM_MANAGER_URL=$MGR_URL"
    echo "export CRATON_SWARM_REGISTRY=$REGISTRY"
    local n
    for n in "${NODES[@]}"; do
        echo "export CRATON_SWARM_NODE${n}_URL=$(node_url "$n")"
    done
}

cmd_start() {
    require_root
    ensure_dirs
    local t0 t1 n
    t0=$(now)
    ensure_tools
    mkdir -p "$SW_RUN" "$SW_STATE"
    ensure_network
    registry_cmd start >/dev/null || die "the registry did not start (tools/registry.sh)"
    registry_root_answers || die "the registry at $REGISTRY does not answer from the root namespace (veth $ROOT_VETH)"
    t1=$(now)
    for n in "${NODES[@]}"; do
        ensure_holder "$n"; launch_dockerd "$n"
    done
    for n in "${NODES[@]}"; do
        wait_node_answers "$n"
    done
    log "engines answer ($(elapsed "$t1")s)"
    t1=$(now)
    ensure_manager
    for n in "${NODES[@]}"; do
        [ "$n" = "$MANAGER" ] || ensure_worker "$n"
    done
    wait_all_ready
    remove_stale_nodes
    log "swarm ready ($(elapsed "$t1")s)"
    t1=$(now)
    sync_base_images
    log "base images in the manager and the registry ($(elapsed "$t1")s)"
    all_ready || { node_table | sed 's/^/    /' >&2; die "not all 3 nodes are Ready"; }
    local t
    t=$(node_table)
    awk '$4 != "Active" { print $2 }' <<<"$t" | while read -r h; do
        [ -n "$h" ] && warn "node $h is Ready but not Active (drained or paused by someone)"
    done
    awk '{ print "    " $2 " " $3 " " $4 " " $5 }' <<<"$t" >&2
    log "swarm of 3 nodes up, registry $REGISTRY ($(elapsed "$t0")s)"
    print_env
}

# stop_daemons N: stop node N's dockerd (SIGTERM, it stops its containers and
# containerd), then containerd if it is still there.
stop_daemons() {
    local n=$1 pid
    if pid=$(daemon_pid "$n" dockerd); then
        echo "$pid" >"$(dockerd_pidfile "$n")"
        stop_pidfile "$(dockerd_pidfile "$n")" TERM 20 "node $n dockerd"
    fi
    if pid=$(daemon_pid "$n" containerd); then
        echo "$pid" >"$(containerd_pidfile "$n")"
        stop_pidfile "$(containerd_pidfile "$n")" TERM 10 "node $n containerd"
    fi
}

# cgroup_dirs N: node N's cgroup directories, in every hierarchy.
cgroup_dirs() {
    local d
    for d in /sys/fs/cgroup/*/"$(node_cgroup "$1")" /sys/fs/cgroup/"$(node_cgroup "$1")"; do
        [ -d "$d" ] && echo "$d"
    done
    return 0
}

cgroup_pids() {
    local d
    for d in $(cgroup_dirs "$1"); do
        find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true
    done | sort -u
}

cmd_stop() {
    local purge=0
    [ "$ARG" = --purge ] && purge=1
    [ -z "$ARG" ] || [ "$purge" -eq 1 ] || die "usage: $0 stop [--purge]"
    require_root
    local t0 n ns p d pids=() more=()
    t0=$(now)
    for n in "${NODES[@]}"; do
        stop_daemons "$n" &
    done
    wait
    if [ -e "/run/netns/$BR_NS" ] || [ -e "$CRATON_RUN_DIR/registry-$BR_NS-$REGISTRY_PORT.pid" ]; then
        registry_cmd stop || warn "tools/registry.sh stop failed"
    fi
    # What is left: holders, shims, containers (in their own netns, so found
    # by cgroup), a registry not started by us.
    for ns in "$BR_NS" $(for n in "${NODES[@]}"; do
        node_ns "$n"
    done); do
        if netns_exists "$ns"; then
            read -ra more <<<"$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
            pids+=("${more[@]}")
        fi
    done
    for n in "${NODES[@]}"; do
        read -ra more <<<"$(cgroup_pids "$n" | tr '\n' ' ')"
        pids+=("${more[@]}")
    done
    if [ "${#pids[@]}" -gt 0 ]; then
        local names
        names=$(for p in "${pids[@]}"; do cat "/proc/$p/comm" 2>/dev/null; done | sort | uniq -c \
            | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
        log "killing ${#pids[@]} remaining process(es) in the cluster's namespaces and cgroups ($names)"
        kill_pids KILL "${pids[@]}"
        wait_pids_gone 10 "${pids[@]}" || warn "some processes did not exit: ${pids[*]}"
    fi
    for n in "${NODES[@]}"; do
        # Containers the engine left behind: kill again, then remove the dirs.
        read -ra pids <<<"$(cgroup_pids "$n" | tr '\n' ' ')"
        if [ "${#pids[@]}" -gt 0 ]; then
            kill_pids KILL "${pids[@]}"; wait_pids_gone 5 "${pids[@]}" || true
        fi
        for d in $(cgroup_dirs "$n"); do
            find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [ ! -d "$d" ] || warn "cannot remove cgroup $d"
        done
    done
    for ns in $(for n in "${NODES[@]}"; do
        node_ns "$n"
    done) "$BR_NS"; do
        if netns_exists "$ns"; then
            ip netns del "$ns" || warn "cannot delete netns $ns"
        fi
    done
    if ip link show "$ROOT_VETH" >/dev/null 2>&1; then
        ip link del "$ROOT_VETH" || warn "cannot delete $ROOT_VETH"
    fi
    for n in "${NODES[@]}"; do
        [ -d "$(node_dir "$n")" ] && rm -rf --one-file-system "$(node_dir "$n")"
    done
    if [ "$purge" -eq 1 ]; then
        log "--purge: deleting the engines' data roots and the registry storage"
        rm -rf --one-file-system "$SW_STATE" "$CRATON_STATE_DIR/registry-$BR_NS-$REGISTRY_PORT"
    fi
    log "swarm cluster stopped ($(elapsed "$t0")s)"
}

cmd_status() {
    local rc=0 t n
    if ! node_answers "$MANAGER"; then
        log "the manager does not answer at $MGR_URL"
        return 1
    fi
    t=$(node_table) || { log "the manager answers but lists no swarm nodes"; return 1; }
    awk '{ print $2 " " $3 " " $4 " " $5 }' <<<"$t"
    for n in "${NODES[@]}"; do
        if ! awk -v h="craton-node$n" '$2 == h && $3 == "Ready" { ok = 1 } END { exit !ok }' <<<"$t"; then
            log "node craton-node$n is not Ready"
            rc=1
        fi
    done
    if ! registry_root_answers; then
        log "the registry does not answer at http://$REGISTRY/v2/"
        rc=1
    fi
    [ "$rc" -ne 0 ] || log "3 nodes Ready, registry $REGISTRY answers"
    return "$rc"
}

cmd_stop_node() {
    check_node_arg
    require_root
    local n=$ARG pids=() p t0
    t0=$(now)
    p=$(daemon_pid "$n" dockerd) && pids+=("$p")
    p=$(daemon_pid "$n" containerd) && pids+=("$p")
    if [ "${#pids[@]}" -eq 0 ]; then
        log "node $n's dockerd and containerd are not running"
        return 0
    fi
    log "killing node $n's dockerd and containerd (SIGKILL, pids ${pids[*]})"
    kill_pids KILL "${pids[@]}"
    wait_pids_gone 10 "${pids[@]}" || die "node $n's daemons did not die"
    rm -f "$(dockerd_pidfile "$n")" "$(containerd_pidfile "$n")"
    log "node $n's engine is dead ($(elapsed "$t0")s)"
}

cmd_start_node() {
    check_node_arg
    require_root
    local n=$ARG t0
    t0=$(now)
    netns_exists "$(node_ns "$n")" && netns_exists "$BR_NS" \
        || die "the cluster is not set up: run $0 start"
    ensure_network
    ensure_holder "$n"
    launch_dockerd "$n"
    wait_node_answers "$n"
    log "node $n's engine answers ($(elapsed "$t0")s)"
    if [ "$n" = "$MANAGER" ]; then
        ensure_manager
    fi
    local deadline
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    until node_ready "$n"; do
        [ "$(date +%s)" -lt "$deadline" ] || die "node $n is not Ready in the swarm after ${START_TIMEOUT}s"
        sleep 0.2
    done
    if [ "$n" = "$MANAGER" ]; then
        # A restarted manager first lists every node as Unknown: wait for the
        # running workers to register again.
        local w
        for w in "${NODES[@]}"; do
            [ "$w" != "$MANAGER" ] && node_answers "$w" || continue
            until node_ready "$w"; do
                [ "$(date +%s)" -lt "$deadline" ] || die "node $w is not Ready again after ${START_TIMEOUT}s"
                sleep 0.2
            done
        done
    fi
    log "node $n Ready ($(elapsed "$t0")s)"
    node_url "$n"
}

case "$ACTION" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) print_env ;;
    stop-node) cmd_stop_node ;;
    start-node) cmd_start_node ;;
    -h|--help|help) usage ;;
    *) die "usage: $0 [start|stop [--purge]|status|env|stop-node N|start-node N]" ;;
esac
