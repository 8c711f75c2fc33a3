#!/usr/bin/env bash
# Installs the FastMCP contender of deskgate-bench into .tools/bench-venv (a venv of its own,
# beside scripts/test's), from PyPI. The bench finds it there by itself.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.tools/bench-venv"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -r "$ROOT/crates/deskgate-bench/requirements-fastmcp.txt"
echo "FastMCP installed in $VENV"
