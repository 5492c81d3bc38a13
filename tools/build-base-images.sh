#!/usr/bin/env bash
# Build Craton's local base images into the engine at $CRATON_DOCKER_URL
# (default unix:///run/craton/docker.sock; started by docker-engine.sh if
# it does not answer). No image can be pulled here, so both are made from
# Debian packages:
#
#   craton/busybox:latest    /bin/busybox of busybox-static + applet links
#   craton/python3:bookworm  debootstrap minbase + python3 (+ openstacksdk)
#
#   tools/build-base-images.sh [--force] [--no-cache] [busybox] [python3]
#
# An image that already exists is skipped unless --force. The python3 rootfs
# tarball is cached under /var/cache/craton/ (--no-cache rebuilds it).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/lib.sh
. "$HERE/lib.sh"

IMAGE_PATH_ENV='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
BUSYBOX_IMAGE=craton/busybox:latest
PYTHON_IMAGE=craton/python3:bookworm
SUITE=bookworm
# debootstrap does not resolve virtual packages: python3-cryptography needs
# python3-cffi-backend-api-{min,max}, provided by python3-cffi-backend, which
# must be named, or configuring python3-cryptography fails (seen on bookworm).
PY_INCLUDE_FULL=python3,python3-openstacksdk,python3-cffi-backend
PY_INCLUDE_MIN=python3

FORCE=0
NO_CACHE=0
WANT=()
for arg in "$@"; do
    case "$arg" in
        --force|-f) FORCE=1 ;;
        --no-cache) NO_CACHE=1; FORCE=1 ;;
        busybox|python3) WANT+=("$arg") ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$arg' (usage: $0 [--force] [--no-cache] [busybox] [python3])" ;;
    esac
done
[ "${#WANT[@]}" -gt 0 ] || WANT=(busybox python3)

require_root
serialize build-base-images "$@"
ensure_dirs
URL="$("$HERE/docker-engine.sh" start)" || die "no Docker engine (tools/docker-engine.sh start failed)"
export CRATON_DOCKER_URL="$URL"

WORK="$(mktemp -d /var/tmp/craton-images.XXXXXX)"
cleanup() {
    # debootstrap may leave /proc etc. mounted inside a failed rootfs.
    local m
    for m in $(awk -v w="$WORK" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

image_exists() { dk image inspect "$1" >/dev/null 2>&1; }
image_id() { dk image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# drop_replaced OLD_ID NAME: after a --force rebuild, remove the image that
# NAME pointed to before, if nothing else uses it (keeps no dangling copies).
drop_replaced() {
    [ -n "$1" ] || return 0
    [ "$1" != "$(image_id "$2")" ] || return 0
    dk image rm "$1" >/dev/null 2>&1 || true
}

SUMMARY=()

# ---------------------------------------------------------------- busybox
build_busybox() {
    local t0 root bb
    t0=$(now)
    if [ "$FORCE" -eq 0 ] && image_exists "$BUSYBOX_IMAGE"; then
        log "$BUSYBOX_IMAGE exists: skipped (use --force to rebuild)"
        SUMMARY+=("$BUSYBOX_IMAGE: exists, skipped")
        return 0
    fi
    local old
    old=$(image_id "$BUSYBOX_IMAGE")
    apt_install busybox-static
    bb=/bin/busybox
    [ -x "$bb" ] || die "$bb missing although busybox-static is installed"
    if ldd "$bb" >/dev/null 2>&1; then
        die "$bb is dynamically linked: it cannot run in an empty image"
    fi
    root="$WORK/busybox"
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,var/tmp,home}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    cp "$bb" "$root/bin/busybox"
    local applet
    while read -r applet; do
        [ -n "$applet" ] || continue
        [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
    done < <("$bb" --list-full)
    [ -e "$root/bin/sh" ] || ln -s /bin/busybox "$root/bin/sh"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    log "importing $BUSYBOX_IMAGE ($("$bb" --list | wc -l) applets)"
    tar -C "$root" --numeric-owner --owner=0 --group=0 -c . \
        | dk import -c "ENV $IMAGE_PATH_ENV" -c 'CMD ["sh"]' \
            -c 'LABEL org.craton.base=busybox' - "$BUSYBOX_IMAGE" >/dev/null \
        || die "docker import of $BUSYBOX_IMAGE failed"
    local out
    out=$(dk run --rm "$BUSYBOX_IMAGE" sh -c 'echo hi' 2>&1) || die "$BUSYBOX_IMAGE does not run sh: $out"
    [ "$out" = hi ] || die "$BUSYBOX_IMAGE: sh -c 'echo hi' printed '$out'"
    drop_replaced "$old" "$BUSYBOX_IMAGE"
    log "$BUSYBOX_IMAGE built and checked in $(elapsed "$t0")s"
    SUMMARY+=("$BUSYBOX_IMAGE: built in $(elapsed "$t0")s")
}

# ---------------------------------------------------------------- python3
# debian_mirror: the deb.debian.org (or first) Debian URI of the apt sources.
debian_mirror() {
    local uris
    uris=$(
        {
            # deb822 files: URIs: lines
            cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
                | awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }'
            # one-line format: deb [opts] URI suite comps
            cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
                | sed -e 's/#.*//' -e 's/\[[^]]*\]//' \
                | awk '$1 == "deb" { print $2 }'
        } | sed 's:/*$::'
    )
    local u
    for u in $uris; do
        case "$u" in */deb.debian.org/debian) echo "$u"; return 0 ;; esac
    done
    for u in $uris; do
        case "$u" in *security*|*updates*|*backports*) ;; http*://*) echo "$u"; return 0 ;; esac
    done
    echo "http://deb.debian.org/debian"
}

# make_rootfs INCLUDE TARBALL: debootstrap and pack into TARBALL.
make_rootfs() {
    local include=$1 tarball=$2 mirror root t0 dlog
    mirror=$(debian_mirror)
    root="$WORK/rootfs"
    rm -rf --one-file-system "$root"
    mkdir -p "$root" "$CRATON_CACHE_DIR/debootstrap-debs"
    dlog="$CRATON_LOG_DIR/debootstrap.log"
    t0=$(now)
    log "debootstrap --variant=minbase --include=$include $SUITE from $mirror (log $dlog)"
    if ! debootstrap --variant=minbase --include="$include" \
            --cache-dir="$CRATON_CACHE_DIR/debootstrap-debs" \
            "$SUITE" "$root" "$mirror" >"$dlog" 2>&1; then
        log "debootstrap failed; last lines of $dlog:"
        tail -n 15 "$dlog" | sed 's/^/    /' >&2
        tail -n 15 "$root/debootstrap/debootstrap.log" 2>/dev/null | sed 's/^/    /' >&2 || true
        return 1
    fi
    log "debootstrap took $(elapsed "$t0")s"
    # Slim it down: no package caches or lists, no host resolv.conf.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
        "$root"/var/cache/apt/*.bin "$root"/etc/resolv.conf
    : >"$root/etc/resolv.conf"
    echo "craton" >"$root/etc/hostname"
    tar -C "$root" --numeric-owner -cf "$tarball.tmp" . || die "cannot pack $root"
    mv -f "$tarball.tmp" "$tarball"
    rm -rf --one-file-system "$root"
    log "rootfs cached in $tarball ($(du -m "$tarball" | cut -f1) MB)"
}

build_python3() {
    local t0 tarball include sdk=yes
    t0=$(now)
    if [ "$FORCE" -eq 0 ] && image_exists "$PYTHON_IMAGE"; then
        log "$PYTHON_IMAGE exists: skipped (use --force to rebuild)"
        SUMMARY+=("$PYTHON_IMAGE: exists, skipped")
        return 0
    fi
    apt_install debootstrap
    local full="$CRATON_CACHE_DIR/rootfs-$SUITE-minbase-python3-openstacksdk.tar"
    local mini="$CRATON_CACHE_DIR/rootfs-$SUITE-minbase-python3.tar"
    if [ "$NO_CACHE" -eq 1 ]; then
        rm -f "$full" "$mini"
    fi
    if [ -s "$full" ]; then
        tarball=$full
        log "using cached rootfs $tarball"
    elif make_rootfs "$PY_INCLUDE_FULL" "$full"; then
        tarball=$full
    else
        warn "debootstrap with --include=$PY_INCLUDE_FULL FAILED: falling back to python3 only;"
        warn "$PYTHON_IMAGE will NOT have openstacksdk ('import openstack' fails in it)"
        sdk=no
        if [ -s "$mini" ]; then
            tarball=$mini
        else
            make_rootfs "$PY_INCLUDE_MIN" "$mini" || die "debootstrap of $SUITE with python3 failed too"
            tarball=$mini
        fi
    fi
    local t1 old
    old=$(image_id "$PYTHON_IMAGE")
    t1=$(now)
    log "importing $PYTHON_IMAGE from $tarball"
    dk import -c "ENV $IMAGE_PATH_ENV" -c 'ENV LANG=C.UTF-8' -c 'CMD ["python3"]' \
        -c "LABEL org.craton.base=python3 org.craton.openstacksdk=$sdk" \
        - "$PYTHON_IMAGE" <"$tarball" >/dev/null || die "docker import of $PYTHON_IMAGE failed"
    log "import took $(elapsed "$t1")s"
    local out
    out=$(dk run --rm "$PYTHON_IMAGE" python3 -c 'import sys; print(sys.version.split()[0])' 2>&1) \
        || die "python3 does not run in $PYTHON_IMAGE: $out"
    log "$PYTHON_IMAGE runs Python $out"
    if [ "$sdk" = yes ]; then
        out=$(dk run --rm "$PYTHON_IMAGE" python3 -c 'import openstack, openstack.version; print(openstack.version.__version__)' 2>&1) \
            || die "'import openstack' fails in $PYTHON_IMAGE: $out"
        log "$PYTHON_IMAGE: import openstack OK (openstacksdk $out)"
    fi
    drop_replaced "$old" "$PYTHON_IMAGE"
    log "$PYTHON_IMAGE ready in $(elapsed "$t0")s"
    SUMMARY+=("$PYTHON_IMAGE: built in $(elapsed "$t0")s (openstacksdk: $sdk)")
}

for w in "${WANT[@]}"; do
    case "$w" in
        busybox) build_busybox ;;
        python3) build_python3 ;;
    esac
done
for line in "${SUMMARY[@]}"; do
    log "$line"
done
dk image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E '^craton/(busybox|python3):' >&2 || true
