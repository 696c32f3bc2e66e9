// The `detllm` command against detLLM's Python CLI, timed in the same run, as
// whole processes: wall time and peak memory (the child's max RSS from wait4).
//
//   bench/diff_vs_detllm.sh   # makes the trace pair, unpacks detLLM, runs this
//
// Environment: DETLLM_BIN (our front end), DETLLM_TRACE_DIR (left.jsonl and
// right.jsonl from ../shared/bench/make_diff_traces.py), DETLLM_PY_SRC (a
// detLLM 0.1.1 source tree; its benchmarks are skipped without it),
// DETLLM_SMALL_DIR (a small trace pair and a pack's report.json).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

struct ChildRun {
  double seconds = 0;
  double max_rss_mb = 0;
  int status = -1;
};

// Runs `argv` with stdout and stderr sent to /dev/null.
ChildRun run_child(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  ChildRun run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.max_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

void measure(benchmark::State& state, const std::vector<std::string>& argv, int expected_status) {
  double peak = 0;
  for (auto _ : state) {
    const ChildRun run = run_child(argv);
    if (run.status != expected_status) {
      state.SkipWithError(("exit status " + std::to_string(run.status)).c_str());
      return;
    }
    state.SetIterationTime(run.seconds);
    peak = std::max(peak, run.max_rss_mb);
  }
  state.counters["max_rss_mb"] = peak;
}

std::string traces() { return env_or("DETLLM_TRACE_DIR", "."); }
std::string small() { return env_or("DETLLM_SMALL_DIR", "."); }

// The trace pair of issue 10: 2,000 rows x 512 tokens with logprobs, 29 MB each.
void DiffLargeTracesDetllm(benchmark::State& state) {
  measure(state,
          {env_or("DETLLM_BIN", "detllm"), "diff", "--left", traces() + "/left.jsonl", "--right",
           traces() + "/right.jsonl", "--out", traces() + "/out_cpp"},
          0);
}

void DiffLargeTracesDetllmPython(benchmark::State& state) {
  const std::string source = env_or("DETLLM_PY_SRC", "");
  if (source.empty()) {
    state.SkipWithError("DETLLM_PY_SRC is not set");
    return;
  }
  const std::string code = "import sys; sys.path.insert(0, '" + source +
                           "'); from detllm.cli.main import main; sys.exit(main(['diff', "
                           "'--left', '" +
                           traces() + "/left.jsonl', '--right', '" + traces() +
                           "/right.jsonl', '--out', '" + traces() + "/out_py']))";
  measure(state, {"python3", "-c", code}, 0);
}

void DiffSmallTracesDetllm(benchmark::State& state) {
  measure(state,
          {env_or("DETLLM_BIN", "detllm"), "diff", "--left", small() + "/left.jsonl", "--right",
           small() + "/right.jsonl"},
          0);
}

void ReportDetllm(benchmark::State& state) {
  measure(state, {env_or("DETLLM_BIN", "detllm"), "report", "--in", small() + "/report.json"}, 0);
}

void HelpDetllm(benchmark::State& state) {
  measure(state, {env_or("DETLLM_BIN", "detllm"), "--help"}, 0);
}

}  // namespace

BENCHMARK(DiffLargeTracesDetllm)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(2);
BENCHMARK(DiffLargeTracesDetllmPython)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(5);
BENCHMARK(DiffSmallTracesDetllm)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(1);
BENCHMARK(ReportDetllm)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(1);
BENCHMARK(HelpDetllm)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(1);
BENCHMARK_MAIN();
