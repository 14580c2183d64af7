#!/usr/bin/env bash
# The grading step of action.yml, kept in a file so that tests can run it outside GitHub with fake
# GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files. It serves plain GitHub Actions (summary, report files;
# action.yml's next steps add the annotations and apply fail-on) and, LEGACY, the payload of GitHub
# Classroom's reporter (GitHub Classroom ended on 2026-08-28; see docs/integrations.md).
#
# Reads (environment; action.yml maps its inputs to these):
#   GRADER_PATH        the submission inside the checkout (default: .)
#   GRADER_RUBRIC      rubric id or YAML file (default: homework-195)
#   GRADER_TIMEOUT     seconds the model probe may take (default: 60)
#   GRADER_LANG        es | en (default: es)
#   GRADER_ARGS        more flags for `grade`, split on spaces (default: none)
#   GRADER_REPORT_DIR  where report.html / report.json / summary.md go
#                      (default: $RUNNER_TEMP/mlflow-grader-report)
#   GRADE              the grade command (default: grade)
#   PYTHON             the Python that has the grader (default: python), to read the score
# Writes:
#   $GITHUB_OUTPUT        score, max-score, passed (true|false: the grade's verdict, which follows
#                         the rubric's required checks), report-dir, report-json, and
#                         result=<base64 Classroom reporter JSON> (LEGACY)
#   $GITHUB_STEP_SUMMARY  the Markdown summary (appended)
# Everything students can read (log, summary, artifact) is the student view (--student).
# Exits 0 whenever it ran, even for a failing grade: action.yml fails the job later, per its
# `fail-on` input, after the annotations and the artifact upload.
# The log is sanitised: a line whose first non-blank characters are `::` or `##[` (a workflow
# command, which a student's run name could smuggle in) gets a visible `» ` in front.
set -uo pipefail

path="${GRADER_PATH:-.}"
rubric="${GRADER_RUBRIC:-homework-195}"
timeout="${GRADER_TIMEOUT:-60}"
lang="${GRADER_LANG:-es}"
grade_cmd="${GRADE:-grade}"
report_dir="${GRADER_REPORT_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/mlflow-grader-report}"
output_file="${GITHUB_OUTPUT:-/dev/null}"
summary_file="${GITHUB_STEP_SUMMARY:-/dev/null}"

mkdir -p "$report_dir"
rm -f "$report_dir/result.b64" "$report_dir/summary.md" "$report_dir/report.html" "$report_dir/report.json" \
    "$report_dir/grade.log"

# shellcheck disable=SC2086  # GRADER_ARGS is a list of flags
"$grade_cmd" "$path" --rubric "$rubric" --timeout "$timeout" --lang "$lang" --student \
    --format classroom --json "$report_dir/report.json" --html "$report_dir/report.html" \
    --markdown "$report_dir/summary.md" ${GRADER_ARGS:-} >"$report_dir/result.b64" 2>"$report_dir/grade.log"
rc=$?
sed -E 's/^([[:space:]]*)(::|##\[)/\1» \2/' "$report_dir/grade.log" >&2
echo "grade exited with $rc" >&2

result="$(tr -d '\r\n' <"$report_dir/result.b64")"
if [ -z "$result" ]; then
    # grade itself could not run (not installed, crashed): report an error with 0 points.
    message="mlflow-grader could not run (exit code $rc); see the step's log."
    result="$(printf '{"version": 1, "status": "error", "max_score": 0, "tests": [{"name": "mlflow-grader", "status": "error", "score": 0, "message": "%s", "test_code": "", "filename": "", "line_no": 0, "duration": 0}]}' "$message" | base64 | tr -d '\n')"
fi

score=""
max_score=""
passed="false"
if [ -s "$report_dir/report.json" ]; then
    read -r score max_score passed < <("${PYTHON:-python}" -c 'import json, sys; r = json.load(open(sys.argv[1])); print("%g %g %s" % (r["score"], r["max_score"], str(bool(r["passed"])).lower()))' "$report_dir/report.json" 2>/dev/null || true)
fi

{
    echo "result=$result"
    echo "score=$score"
    echo "max-score=$max_score"
    echo "passed=${passed:-false}"
    echo "report-dir=$report_dir"
    echo "report-json=$report_dir/report.json"
} >>"$output_file"

if [ -s "$report_dir/summary.md" ]; then
    cat "$report_dir/summary.md" >>"$summary_file"
else
    {
        printf '## mlflow-grader\n\nThe submission could not be graded (exit code %s):\n\n```\n' "$rc"
        tail -n 20 "$report_dir/grade.log"
        printf '```\n'
    } >>"$summary_file"
fi
exit 0
