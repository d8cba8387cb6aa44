#!/usr/bin/env bash
# The fault suite on its own (see SAFETY.md): kill -9 of mqtui or of the broker at seeded points of
# 1,000-dead-letter replays on all four brokers, then a rerun, counting lost and duplicated messages.
# Installs what is missing and lints like scripts/test.sh; extra arguments go to pytest (-v lists every
# fault point, -k "redis" picks one broker). About 6 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/test.sh -m fault tests/faults "$@"
