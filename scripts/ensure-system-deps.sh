#!/usr/bin/env bash
# Installs the few Debian packages the project needs and a fresh machine may lack:
# unixODBC (pyodbc links libodbc.so.2 even when only compiling SQL for Azure SQL).
# Idempotent and quiet when everything is there.
set -euo pipefail
missing=()
ldconfig -p 2>/dev/null | grep -q 'libodbc.so.2' || missing+=(unixodbc)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Please install: ${missing[*]} (needs root and apt-get)" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
