#!/usr/bin/env bash
# Installs the tools the benchmark compares Casebook with, explicitly (never assumed present):
#   - DuckDB, from PyPI (`pip install duckdb`), driven from Python;
#   - GoAccess, Debian's C access-log analyzer (`apt-get install goaccess`).
# Usage: bash Tests/Benchmarks/install-peers.sh
set -euo pipefail

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import duckdb' 2>/dev/null; then
    "$PYTHON" -m pip install --quiet duckdb
fi
"$PYTHON" -c 'import duckdb; print("duckdb", duckdb.__version__)'

if ! command -v goaccess >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq goaccess
fi
goaccess --version | head -1
