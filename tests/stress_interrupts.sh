#!/usr/bin/env bash
# Runs the tests that interrupt a process N times (default 30) while busy loops hold every
# core, and counts the failures. Not part of `make test`: it takes a long time by design.
#   bash tests/stress_interrupts.sh [N] [TEST ...]   (default: the list below)
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src"  # this tree's code, also from a git worktree
rounds=${1:-30}
shift $(( $# > 0 ? 1 : 0 ))
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(
  "tests/training/test_checkpoint.py::test_sigkill_then_resume_is_bit_identical"
  "tests/training/test_checkpoint.py::test_sigterm_saves_mid_epoch_exits_and_resumes_exactly"
  "tests/training/test_checkpoint.py::test_sigkill_during_a_background_write_keeps_the_previous_checkpoint"
  "tests/training/test_fit_stream.py"
  "tests/serving/test_server.py::test_a_prediction_past_the_timeout_is_503_and_frees_its_place"
  "tests/tuning/test_postgres.py::test_a_killed_worker_leaves_a_fail_trial_and_the_study_still_finishes"
  "tests/docs/test_runner.py::test_processes_left_running_are_killed_when_the_page_ends"
)
busy=()
for _ in $(seq "$(nproc)"); do (while :; do :; done) & busy+=($!); done
trap 'kill "${busy[@]}" 2>/dev/null' EXIT
failed=0
for i in $(seq "$rounds"); do
  if .venv/bin/python -m pytest -p no:cacheprovider -q "${tests[@]}" > "/tmp/stress-$i.log" 2>&1; then
    echo "round $i: passed"
  else
    failed=$((failed + 1)); echo "round $i: FAILED (see /tmp/stress-$i.log)"
  fi
done
echo "$((rounds - failed)) passed, $failed failed (rounds of ${#tests[@]} interrupt tests under $(nproc) busy loops)"
[ "$failed" -eq 0 ]
