#!/usr/bin/env bash
# Installs what is missing and opens the console on the built-in demo profile, with local brokers
# and a traffic generator that it starts itself and stops on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/mqtui --profile demo "$@"
