#!/bin/bash
# Craton's DevStack plugin. Enable it in local.conf with
#
#   enable_plugin craton <this repository's URL or path> [branch]
#
# stack.sh, unstack.sh and clean.sh call this file with a mode and a phase;
# the work is done by devstack/lib/craton (see devstack/README.rst).

# Save trace setting
_XTRACE_CRATON_PLUGIN=$(set +o | grep xtrace)
set -o xtrace

# shellcheck source=devstack/lib/craton
source "$CRATON_DIR/devstack/lib/craton"

if is_service_enabled craton-api craton-conductor; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing Craton"
        install_craton

    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring Craton"
        if is_service_enabled key; then
            create_craton_accounts
        fi
        configure_craton

    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initialising and starting Craton"
        init_craton
        start_craton
    fi

    if [[ "$1" == "unstack" ]]; then
        echo_summary "Stopping Craton"
        stop_craton
    fi

    if [[ "$1" == "clean" ]]; then
        echo_summary "Cleaning up Craton"
        cleanup_craton
    fi
fi

# Restore xtrace
$_XTRACE_CRATON_PLUGIN
