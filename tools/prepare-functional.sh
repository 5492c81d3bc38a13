#!/usr/bin/env bash
# Start everything the functional tests talk to, installing what is missing:
# the Docker engine and local base images, RabbitMQ, MariaDB, PostgreSQL and
# Keystone, a registry and a 3-node Docker Swarm. Running services are
# left alone. Each step prints its time.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
step() {
    local name=$1; shift
    local t0=$SECONDS
    echo "prepare-functional: $name" >&2
    "$@" >&2
    echo "prepare-functional: $name done in $((SECONDS - t0)) s" >&2
}
step "docker engine" bash "$top/tools/docker-engine.sh" start
step "base images" bash "$top/tools/build-base-images.sh"
step "rabbitmq, mariadb, postgresql" bash "$top/tools/services.sh" start
step "keystone" bash "$top/tools/keystone.sh" start
step "registry on 127.0.0.1:5001" bash "$top/tools/registry.sh" start
step "3-node swarm" bash "$top/tools/swarm-cluster.sh" start
