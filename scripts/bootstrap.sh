#!/usr/bin/env bash
# Prepares this checkout: a virtual environment in .venv with pos and its tools, and the system
# packages it uses (libzbar0 for QR decoding, postgresql for the throwaway servers of tests and
# benchmarks). Safe to run any number of times: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "pos needs Python 3.11 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1 || echo missing)." >&2
  exit 2
fi

# System packages: only when missing, only with the rights to install them.
need_apt=()
ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0' || need_apt+=(libzbar0)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${need_apt[*]} with apt-get …" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "warning: please install ${need_apt[*]} (apt-get install ${need_apt[*]})" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "creating .venv …" >&2
  "$PYTHON" -m venv .venv
fi
stamp=$(cat pyproject.toml requirements/dev.lock | sha256sum | cut -c1-16)
if [ "$(cat .venv/.pos-installed 2>/dev/null)" != "$stamp" ]; then
  echo "installing pos and its pinned dependencies (requirements/dev.lock) into .venv …" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements/dev.lock
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  echo "$stamp" > .venv/.pos-installed
fi
