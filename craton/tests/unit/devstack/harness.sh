#!/bin/bash
# Run the phases of Craton's DevStack plugin with DevStack's real function
# libraries, the calls that would start services or change the machine
# stubbed. Used by test_plugin.py.
#
#   harness.sh DEVSTACK_DIR PLUGIN_REPO ROOT
#
# Everything the plugin writes goes under ROOT; every stubbed call is one
# line of ROOT/calls.log ("WHAT<TAB>arg<TAB>arg..."); the configuration as
# it stands after each phase is copied to ROOT/after-PHASE/.
# shellcheck disable=SC2034  # globals read by the DevStack libraries sourced below
set -o errexit -o nounset -o pipefail
DEVSTACK_DIR=$1
PLUGIN_REPO=$2
ROOT=$3
CALLS=$ROOT/calls.log
: >"$CALLS"

# record WHAT ARGS...: one line of calls.log.
function record {
    local IFS=$'\t'
    echo "$*" >>"$CALLS"
}

# What stack.sh and stackrc set before any plugin runs, for this test.
TOP_DIR=$DEVSTACK_DIR
set +o nounset  # DevStack's libraries read unset variables
# shellcheck source=/dev/null
source "$DEVSTACK_DIR/functions"
DEST=$ROOT/opt/stack
DATA_DIR=$DEST/data
STACK_USER=$(id -un)
SERVICE_HOST=127.0.0.1
SERVICE_PROTOCOL=http
SERVICE_LISTEN_ADDRESS=127.0.0.1
SERVICE_TIMEOUT=5
API_WORKERS=2
WORKER_TIMEOUT=90
ENABLE_DEBUG_LOG_LEVEL=True
REGION_NAME=RegionOne
ENABLED_SERVICES=key,mysql,rabbit
DEVSTACK_PLUGINS=craton
GLOBAL_VENV=True
DEVSTACK_VENV=$ROOT/venv
KEYSTONE_SERVICE_URI=http://127.0.0.1/identity
SERVICE_PASSWORD=service-pw
SERVICE_DOMAIN_NAME=Default
SERVICE_PROJECT_NAME=service
MEMCACHE_SERVERS=localhost:11211
SSL_BUNDLE_FILE=$ROOT/ca-bundle.pem
DATABASE_TYPE=mysql
DATABASE_USER=root
DATABASE_PASSWORD=database-pw
DATABASE_HOST=127.0.0.1
MYSQL_HOST=127.0.0.1
RABBIT_USERID=stackrabbit
RABBIT_PASSWORD=rabbit-pw
RABBIT_HOST=127.0.0.1
SYSTEMCTL="record systemctl"
for lib in apache database keystone rpc_backend; do
    # shellcheck source=/dev/null
    source "$DEVSTACK_DIR/lib/$lib"
done
initialize_database_backends
define_database_baseurl

# Stubs: what would install packages, touch the machine outside ROOT or
# start services is recorded instead.
function echo_summary {
    record summary "$@"
}
function install_package {
    record install_package "$@"
}
function install_apache_uwsgi {
    record install_apache_uwsgi
}
function setup_develop {
    record setup_develop "$@"
}
function pip_install {
    record pip_install "$@"
}
function run_process {
    record run_process "$@"
}
function stop_process {
    record stop_process "$@"
}
function restart_apache_server {
    record restart_apache_server
}
function enable_apache_site {
    record enable_apache_site "$@"
}
function disable_apache_site {
    record disable_apache_site "$@"
}
function wait_for_service {
    record wait_for_service "$@"
}

# sudo runs what stays under ROOT, and records the rest without running it.
function sudo {
    while [[ "${1:-}" == -* ]]; do
        if [[ "$1" == -u ]]; then
            shift
        fi
        shift
    done
    local arg inside=1
    for arg in "$@"; do
        if [[ "$arg" == /* && "$arg" != "$ROOT"/* ]]; then
            inside=0
        fi
    done
    case "$1" in
        mkdir|install|rm|tee|chown|chmod|touch|cp|mv|ln) ;;
        *) inside=0 ;;
    esac
    if [[ $inside == 1 ]]; then
        "$@"
    else
        record sudo "$@"
        if [[ "$1" == tee ]]; then
            cat >/dev/null
        fi
    fi
}

# Commands on PATH: the keystone client, the database client, the daemons
# the plugin names by path, and the plugin's own console scripts.
mkdir -p "$ROOT/bin" "$DEVSTACK_VENV/bin"
stubs=("$ROOT/bin/mysql" "$ROOT/bin/curl" "$ROOT/bin/dockerd" "$ROOT/bin/uwsgi"
    "$DEVSTACK_VENV/bin/craton-dbsync" "$DEVSTACK_VENV/bin/craton-conductor")
for cmd in "${stubs[@]}"; do
    # Asked for an HTTP status (-w), curl answers 200.
    cat >"$cmd" <<STUB
#!/bin/bash
words=" \$* "
IFS=\$'\t'; echo "$(basename "$cmd")	\$*" >>"$CALLS"
if [[ "\$words" == *" -w "* ]]; then
    echo 200
fi
STUB
    chmod +x "$cmd"
done
# openstack: nothing exists yet ("show" fails, "list" is empty), a
# "create" prints a made-up id.
cat >"$ROOT/bin/openstack" <<STUB
#!/bin/bash
words=" \$* "
IFS=\$'\t'; echo "openstack	\$*" >>"$CALLS"
case "\$words" in
    *" show "*) exit 1 ;;
    *" list "*) exit 0 ;;
    *) echo "id-\$RANDOM" ;;
esac
STUB
chmod +x "$ROOT/bin/openstack"
PATH=$ROOT/bin:$PATH

# Deployer settings that keep the plugin's files under ROOT.
CRATON_DIR=$PLUGIN_REPO
CRATON_CONF_DIR=$ROOT/etc/craton
CRATON_DOCKER_RUN_DIR=$ROOT/run/craton-devstack

# stack.sh loads each plugin's settings once, then calls plugin.sh per phase.
# shellcheck source=/dev/null
source "$PLUGIN_REPO/devstack/settings"
phases=("stack pre-install" "stack install" "stack post-config" "stack extra"
    "stack test-config" "unstack" "clean")
for phase in "${phases[@]}"; do
    record phase "$phase"
    # shellcheck disable=SC2086  # mode and phase are two arguments
    source "$PLUGIN_REPO/devstack/plugin.sh" $phase
    mkdir -p "$ROOT/after-${phase// /-}"
    if [[ -d "$CRATON_CONF_DIR" ]]; then
        cp -r "$CRATON_CONF_DIR/." "$ROOT/after-${phase// /-}/"
    fi
done
record enabled_services "$ENABLED_SERVICES"
