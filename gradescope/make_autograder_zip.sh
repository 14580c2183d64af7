#!/usr/bin/env bash
# Build the Gradescope autograder zip: setup.sh and run_autograder at its root, plus the grader
# as a wheel and, optionally, an instructor rubric (copied in as rubric.yaml).
#
#   bash gradescope/make_autograder_zip.sh [OUT.zip] [RUBRIC.yaml]
#
# Default OUT: dist/mlflow-grader-gradescope.zip. Needs only Python and pip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
out="${1:-$repo/dist/mlflow-grader-gradescope.zip}"
rubric="${2:-}"
python="${PYTHON:-python3}"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
# Build from a clean copy of the sources: an in-tree build/ folder can carry stale modules.
mkdir -p "$stage/src"
for item in pyproject.toml README.md LICENSE grader rubrics fixtures; do
    if [ -e "$repo/$item" ]; then
        cp -R "$repo/$item" "$stage/src/"
    fi
done
find "$stage/src" -name '__pycache__' -type d -prune -exec rm -rf {} +
"$python" -m pip wheel --no-deps --disable-pip-version-check -q -w "$stage" "$stage/src"
rm -rf "$stage/src"
cp "$here/setup.sh" "$here/run_autograder" "$stage/"
chmod +x "$stage/setup.sh" "$stage/run_autograder"
if [ -n "$rubric" ]; then
    cp "$rubric" "$stage/rubric.yaml"
fi
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
rm -f "$out"
(cd "$stage" && "$python" -m zipfile -c "$out" ./*)
"$python" -m zipfile -l "$out"
echo "-> $out"
