#!/usr/bin/env bash
# Prove the DevStack plugin for real: run DevStack's stack.sh with Craton's
# plugin in a throwaway systemd container, then drive the deployed service
# through Keystone with `openstack craton`.
#
#   tools/devstack-check.sh [run|prepare|shell|clean] [--keep]
#
# run (default): build (once, cached) a Debian 12 root with debootstrap
#   (systemd, sudo, git, ...), import it into the engine at
#   $CRATON_DOCKER_URL (tools/docker-engine.sh starts it), start it as a
#   privileged container with systemd as PID 1, add a `stack` user, put
#   DevStack, requirements and Keystone under /opt/stack as git repositories
#   (from $CRATON_VENDOR_DIR: devstack.tar.gz, requirements.tar.gz,
#   keystone.tar.gz as `git archive` made them; else cloned from
#   opendev.org), this repository's HEAD as /opt/stack/craton, write a
#   local.conf (key, mysql, rabbit and the plugin; everything on 127.0.0.1;
#   ERROR_ON_CLONE=True) and run stack.sh as `stack`. Then, with the admin
#   credentials DevStack wrote: create a region, a host and a task, approve
#   it, run a job and read its logs. Then unstack.sh, checking that the
#   plugin's services are gone. Changes no DevStack file.
#   The container is removed at the end unless --keep.
# prepare: only the container, ready for stack.sh (kept). shell: a shell as
#   `stack` in a kept container. clean: remove the container.
# Output: the log of each stage and the CLI transcript under
#   $CRATON_CHECK_DIR (default /var/log/craton/devstack-check/); the last
#   line says how long it took. Exit status 0 only if every stage passed.
#
# Environment: CRATON_VENDOR_DIR, CRATON_CHECK_DIR, CRATON_CHECK_NAME
#   (container name, default craton-devstack-check),
#   CRATON_CHECK_BASE_IMAGES (CRATON_BASE_IMAGES for the plugin, default
#   "busybox"), CRATON_CHECK_CA_BUNDLE (CA bundle pip inside the container
#   trusts, default the host's /etc/ssl/certs/ca-certificates.crt, for
#   networks whose TLS is intercepted by a local CA).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOP="$(cd "$HERE/.." && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/lib.sh"

NAME=${CRATON_CHECK_NAME:-craton-devstack-check}
IMAGE=craton/devstack-host:bookworm
VOLUME=$NAME-docker
OUT=${CRATON_CHECK_DIR:-$CRATON_LOG_DIR/devstack-check}
BASE_IMAGES=${CRATON_CHECK_BASE_IMAGES:-busybox}
CA_BUNDLE=${CRATON_CHECK_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
ROOTFS_TAR=$CRATON_CACHE_DIR/rootfs-bookworm-devstack-host.tar
ROOTFS_INCLUDE=systemd,systemd-sysv,dbus,sudo,git,ca-certificates,iproute2,procps,curl,lsb-release,python3,locales,gnupg,psmisc,kmod
KEEP=0
ACTION=run
for arg in "$@"; do
    case "$arg" in
        run|prepare|shell|clean) ACTION=$arg ;;
        --keep) KEEP=1 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$arg' (usage: $0 [run|prepare|shell|clean] [--keep])" ;;
    esac
done

require_root
ensure_dirs
URL="$("$HERE/docker-engine.sh" start)" || die "no Docker engine (tools/docker-engine.sh start failed)"
export CRATON_DOCKER_URL="$URL"

# in_box [-u USER] CMD...: run CMD in the container (stdin passed through).
in_box() {
    local user=root
    if [ "${1:-}" = -u ]; then
        user=$2; shift 2
    fi
    dk exec -i -u "$user" "$NAME" "$@"
}

remove_box() {
    if dk container inspect "$NAME" >/dev/null 2>&1; then
        log "removing container $NAME"
        dk rm -f "$NAME" >/dev/null
    fi
    if dk volume inspect "$VOLUME" >/dev/null 2>&1; then
        dk volume rm "$VOLUME" >/dev/null
    fi
}

case "$ACTION" in
    clean) remove_box; exit 0 ;;
    shell) exec "$(docker_cli)" -H "$URL" exec -it -u stack -w /opt/stack/devstack "$NAME" bash ;;
esac

serialize devstack-check "$@"
mkdir -p "$OUT"
T0=$(now)
STAGE_TIMES=()

# stage NAME CMD...: run CMD, its output appended to $OUT/NAME.log, timed.
stage() {
    local name=$1 t0 rc=0; shift
    t0=$(now)
    log "stage $name (log $OUT/$name.log)"
    "$@" >"$OUT/$name.log" 2>&1 || rc=$?
    STAGE_TIMES+=("$name: $(elapsed "$t0")s")
    if [ "$rc" -ne 0 ]; then
        tail -n 40 "$OUT/$name.log" | sed 's/^/    /' >&2
        die "stage $name failed (exit $rc, full log $OUT/$name.log)"
    fi
    log "stage $name done in $(elapsed "$t0")s"
}

# ------------------------------------------------------------ the image
# sources_uris: the URIs of this machine's apt sources (both formats).
sources_uris() {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }'
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' /etc/apt/sources.list 2>/dev/null \
        | awk '$1 == "deb" { print $2 }'
}

debian_mirror() {
    local u
    for u in $(sources_uris); do
        case "$u" in
            */deb.debian.org/debian|*/deb.debian.org/debian/) echo "${u%/}"; return 0 ;;
        esac
    done
    echo http://deb.debian.org/debian
}

build_image() {
    if dk image inspect "$IMAGE" >/dev/null 2>&1; then
        echo "$IMAGE exists"
        return 0
    fi
    apt_install debootstrap
    if [ ! -s "$ROOTFS_TAR" ]; then
        local root mirror
        root=$(mktemp -d /var/tmp/craton-devstack-root.XXXXXX)
        mirror=$(debian_mirror)
        echo "debootstrap --variant=minbase --include=$ROOTFS_INCLUDE bookworm from $mirror"
        if ! debootstrap --variant=minbase --include="$ROOTFS_INCLUDE" \
                --cache-dir="$CRATON_CACHE_DIR/debootstrap-debs" bookworm "$root" "$mirror"; then
            rm -rf --one-file-system "$root"
            return 1
        fi
        # The mirror for apt inside, with bookworm-updates and security.
        printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' \
            "$mirror" "$mirror" "$mirror" >"$root/etc/apt/sources.list"
        echo devstack >"$root/etc/hostname"
        : >"$root/etc/resolv.conf"
        # systemd in a container: no getty, no udev-triggered hardware.
        ln -sf /dev/null "$root/etc/systemd/system/getty@.service"
        ln -sf /dev/null "$root/etc/systemd/system/systemd-udevd.service"
        ln -sf /dev/null "$root/etc/systemd/system/systemd-timesyncd.service"
        sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' "$root/etc/locale.gen"
        chroot "$root" locale-gen >/dev/null
        rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
        tar -C "$root" --numeric-owner -cf "$ROOTFS_TAR.tmp" .
        mv -f "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
        rm -rf --one-file-system "$root"
    fi
    dk import -c 'ENV container=docker' \
        -c 'CMD ["/sbin/init"]' - "$IMAGE" <"$ROOTFS_TAR"
}

# ------------------------------------------------------------ the box
# The container's PID 1 until it execs systemd: /sys writable, and the
# cgroup v1 hierarchies (and v2's, if any) mounted afresh, writable, as
# seen from the container's own cgroup namespace.
# shellcheck disable=SC2016  # expanded inside the container
BOX_INIT='
mount -o remount,rw /sys
subs=$(awk '"'"'$9 == "cgroup" { n = split($NF, o, ","); for (i = 1; i <= n; i++) if (o[i] != "rw") { print $5 "=" $NF; break } }'"'"' /proc/self/mountinfo)
umount -R /sys/fs/cgroup
mount -t tmpfs -o mode=755,nosuid,nodev,noexec cgroup /sys/fs/cgroup
for s in $subs; do
    dir=${s%%=*}; opts=${s#*=}; opts=${opts#rw,}
    mkdir -p "$dir"; mount -t cgroup -o "$opts" cgroup "$dir"
done
mkdir -p /sys/fs/cgroup/unified
mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified || rmdir /sys/fs/cgroup/unified
exec /sbin/init
'
start_box() {
    remove_box
    dk volume create "$VOLUME" >/dev/null
    # systemd as PID 1 and the plugin's own dockerd inside need what
    # --privileged gives, but an engine whose own capability set lacks one
    # (CAP_SYS_RESOURCE here) cannot start a --privileged container: so
    # every capability it has, no seccomp/AppArmor profile, all devices,
    # and its own cgroup namespace with fresh, writable cgroup mounts made
    # by BOX_INIT before systemd starts. The inner engine's data root is a
    # volume: overlay2 cannot stack on the container's own overlay root.
    local caps
    caps=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
    local drop=()
    # Bit 24 is CAP_SYS_RESOURCE; the others an engine lacks are rarer.
    if (( (16#$caps >> 24 & 1) == 0 )); then
        drop=(--cap-drop SYS_RESOURCE)
    fi
    dk run -d --name "$NAME" --hostname devstack \
        --cap-add ALL "${drop[@]}" \
        --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm' \
        --cgroupns=private --stop-signal SIGRTMIN+3 \
        --tmpfs /run --tmpfs /run/lock --tmpfs /tmp:exec \
        -v "$VOLUME:/var/lib/craton-devstack-docker" \
        --entrypoint /bin/bash "$IMAGE" -c "$BOX_INIT" >/dev/null
    local i
    local state=""
    for ((i = 0; i < 120; i++)); do
        if [ "$(dk container inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
            dk logs "$NAME" 2>&1 | tail -n 20
            return 1
        fi
        state=$(in_box systemctl is-system-running 2>/dev/null || true)
        case "$state" in running|degraded) break ;; esac
        sleep 0.5
    done
    echo "systemd: ${state:-no answer}"
    case "$state" in running|degraded) ;; *) return 1 ;; esac
    in_box systemctl --failed --no-legend || true
    echo "nameserver for the container: $(in_box cat /etc/resolv.conf | grep -m1 nameserver || true)"
}

prepare_box() {
    # The CA bundle pip must trust (TLS may be intercepted by a local CA).
    dk cp "$CA_BUNDLE" "$NAME:/etc/ssl/certs/host-ca-bundle.crt"
    in_box bash -ec '
        printf "[global]\ncert = /etc/ssl/certs/host-ca-bundle.crt\n" >/etc/pip.conf
        useradd -m -s /bin/bash stack
        echo "stack ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/stack
        chmod 0440 /etc/sudoers.d/stack
        install -d -o stack -g stack /opt/stack
    '
    local repo tarball
    for repo in devstack requirements keystone; do
        tarball=""
        if [ -n "$VENDOR" ]; then
            tarball="$VENDOR/$repo.tar.gz"
        fi
        if [ -n "$tarball" ] && [ -s "$tarball" ]; then
            echo "$repo: from $tarball"
            local strip=0
            # git archive --prefix puts the repository under one top dir.
            if [ "$(tar -tzf "$tarball" | cut -d/ -f1 | sort -u | wc -l)" = 1 ]; then
                strip=1
            fi
            in_box -u stack mkdir -p "/opt/stack/$repo"
            in_box -u stack tar -xz --strip-components="$strip" -C "/opt/stack/$repo" <"$tarball"
        else
            echo "$repo: cloning https://opendev.org/openstack/$repo"
            in_box -u stack git clone -q "https://opendev.org/openstack/$repo" "/opt/stack/$repo"
        fi
    done
    # The plugin as it is in this working tree: HEAD plus uncommitted
    # changes of tracked files (git stash create makes that commit without
    # touching the tree); untracked files are left out.
    local rev
    rev=$(git -C "$TOP" stash create)
    echo "craton: $TOP at ${rev:-HEAD} (HEAD $(git -C "$TOP" rev-parse --short HEAD))"
    in_box -u stack mkdir -p /opt/stack/craton
    git -C "$TOP" archive --format=tar "${rev:-HEAD}" | in_box -u stack tar -x -C /opt/stack/craton
    in_box -u stack bash -ec '
        git config --global user.email stack@devstack.invalid
        git config --global user.name stack
        git config --global init.defaultBranch master
        for d in /opt/stack/*; do
            [ -d "$d/.git" ] && continue
            git -C "$d" init -q && git -C "$d" add -A && git -C "$d" commit -q -m snapshot
            echo "$d: $(git -C "$d" log --oneline | head -1)"
        done'
    in_box -u stack tee /opt/stack/devstack/local.conf >/dev/null <<EOF
[[local|localrc]]
ADMIN_PASSWORD=check-admin-pw
DATABASE_PASSWORD=check-db-pw
RABBIT_PASSWORD=check-rabbit-pw
SERVICE_PASSWORD=check-service-pw
HOST_IP=127.0.0.1
SERVICE_HOST=127.0.0.1
SERVICE_LISTEN_ADDRESS=127.0.0.1
ERROR_ON_CLONE=True
LOGFILE=/opt/stack/logs/stack.sh.log
disable_all_services
enable_service key mysql rabbit
enable_plugin craton file:///opt/stack/craton
CRATON_DOCKER_DATA_ROOT=/var/lib/craton-devstack-docker
CRATON_BASE_IMAGES="$BASE_IMAGES"
EOF
    in_box -u stack cat /opt/stack/devstack/local.conf
}

run_stack() {
    in_box -u stack bash -c 'cd /opt/stack/devstack && ./stack.sh'
}

# The CLI part: each command echoed, then its output, into the transcript.
run_cli() {
    in_box -u stack bash -s <<'EOF'
set -eo pipefail
export PATH=/opt/stack/data/venv/bin:$PATH
source /opt/stack/devstack/openrc admin admin >/dev/null
run() { printf '\n$ %s\n' "$*"; "$@"; }
mkdir -p /tmp/hello-task
cat >/tmp/hello-task/Dockerfile <<'DOCKERFILE'
FROM craton/busybox:latest
CMD ["sh", "-c", "echo hello from a Craton step on $(hostname); echo inventory: $(cat /run/craton/payload.json 2>/dev/null | head -c 200)"]
DOCKERFILE
run openstack catalog show craton-workflow
run openstack craton region create devstack-region --description 'made by tools/devstack-check.sh'
run openstack craton host create host-1 --region devstack-region --ip-address 127.0.0.2 --label check
run openstack craton task create hello --command "sh -c 'echo hello from a Craton step; id'" --from-dir /tmp/hello-task --wait
run openstack craton task approve hello
run openstack craton task show hello -c uuid -c name -c status -c approval
run openstack craton job run --task hello --host host-1 --wait
job=$(openstack craton job list --task hello -f value -c uuid | head -1)
run openstack craton job logs "$job"
run openstack craton job list
EOF
}

run_unstack() {
    in_box -u stack bash -c 'cd /opt/stack/devstack && ./unstack.sh'
    local left
    left=$(in_box systemctl list-units --no-legend --state=active 'devstack@craton*' || true)
    if [ -n "$left" ]; then
        echo "still active after unstack.sh: $left"
        return 1
    fi
    echo "no devstack@craton-* unit active after unstack.sh"
}

VENDOR=${CRATON_VENDOR_DIR:-}
if [ -z "$VENDOR" ] && [ -d "$TOP/../shared/vendor" ]; then
    VENDOR=$(cd "$TOP/../shared/vendor" && pwd)
fi

rc=0
stage image build_image
stage box start_box
stage prepare prepare_box
if [ "$ACTION" = prepare ]; then
    log "container $NAME is ready: tools/devstack-check.sh shell, then ./stack.sh"
    exit 0
fi
stage stack run_stack
stage cli run_cli
cp "$OUT/cli.log" "$OUT/transcript.txt"
stage unstack run_unstack
if [ "$KEEP" -eq 0 ]; then
    remove_box
fi
for t in "${STAGE_TIMES[@]}"; do
    log "$t"
done
log "devstack check passed in $(elapsed "$T0")s (transcript: $OUT/transcript.txt)"
exit $rc
