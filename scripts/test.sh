#!/usr/bin/env bash
# The whole test suite: installs what is missing (from requirements/dev.lock), then lint, format check,
# the type check, the layering contracts and pytest
# (the fixtures start redis-server, rabbitmq-server, nats-server and tansu on 127.0.0.1 themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check mqtui tests bench
.venv/bin/ruff format --check mqtui tests bench
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest "$@"
