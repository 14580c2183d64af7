#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu 22.04 by default), from
# /autograder/source: the extracted autograder zip (see README.md: make_autograder_zip.sh).
set -euo pipefail

source_dir="${AUTOGRADER_SOURCE:-/autograder/source}"
venv="${GRADER_VENV:-/autograder/venv}"

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv python3-pip
fi

python3 -m venv "$venv"
"$venv/bin/python" -m pip install --upgrade --disable-pip-version-check pip
# The grader ships in the zip as a wheel (preferred) or as its source tree.
shopt -s nullglob
wheels=("$source_dir"/mlflow_grader-*.whl)
if [ "${#wheels[@]}" -gt 0 ]; then
    "$venv/bin/python" -m pip install --disable-pip-version-check "${wheels[-1]}"
else
    "$venv/bin/python" -m pip install --disable-pip-version-check "$source_dir"
fi
"$venv/bin/grade" --version
