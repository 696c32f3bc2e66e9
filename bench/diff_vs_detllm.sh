#!/usr/bin/env bash
# detllm diff against detLLM 0.1.1's Python diff on the trace pair of
# ../shared/bench/make_diff_traces.py, side by side in one Google Benchmark run
# (bench/cli_bench.cpp). Needs the build (scripts/test) and detLLM's source:
#   DETLLM_PY_REPO=<a clone of tommasocerruti/detllm>  bench/diff_vs_detllm.sh [benchmark flags]
# (a bare clone or a work tree; its detllm/ package needs only Python's standard library).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DETLLM_BUILD:-$root/build}
work=${DETLLM_BENCH_DIR:-/tmp/detllm-diff-bench}
mkdir -p "$work/small"
if [[ ! -f $work/left.jsonl ]]; then
  (cd "$work" && python3 "$root/../shared/bench/make_diff_traces.py")
fi
# A small pair (the first 4 rows) and a report for the startup-bound commands.
head -n 4 "$work/left.jsonl" >"$work/small/left.jsonl"
head -n 4 "$work/right.jsonl" >"$work/small/right.jsonl"
"$build/detllm" diff --left "$work/small/left.jsonl" --right "$work/small/right.jsonl" \
  --out "$work/small/pack" >/dev/null
cp "$work/small/pack/report.json" "$work/small/report.json"
py_src=""
if [[ -n ${DETLLM_PY_REPO:-} ]]; then
  py_src=$work/detllm_py
  rm -rf "$py_src" && mkdir -p "$py_src"
  if git -C "$DETLLM_PY_REPO" rev-parse --is-bare-repository >/dev/null 2>&1; then
    git -C "$DETLLM_PY_REPO" archive HEAD detllm | tar -x -C "$py_src"
  fi
fi
echo "detllm: $build/detllm ($(ldd "$build/detllm" | grep -cE 'torch|cuda|cublas') libtorch/CUDA libraries linked)"
DETLLM_BIN=$build/detllm DETLLM_TRACE_DIR=$work DETLLM_SMALL_DIR=$work/small DETLLM_PY_SRC=$py_src \
  "$build/bench/detllm_cli_bench" "$@"
