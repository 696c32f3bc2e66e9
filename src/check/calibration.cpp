// Calibrating a golden: how far the model's logprobs move under changes that
// must not matter, measured right after it was recorded, under its controls.
#include "check/calibration.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "artifacts/json_io.h"
#include "check/runner.h"
#include "detllm_test/tolerance.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

// The largest |Δ| between the two traces' logprobs, over the positions where
// both generated the same tokens so far; and how many positions that was.
std::pair<double, int> logprob_noise(const Trace& a, const Trace& b) {
  double largest = 0;
  int positions = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (!a[i].scores || !b[i].scores) continue;
    const TokenIds &x = a[i].generated_token_ids, &y = b[i].generated_token_ids;
    for (size_t t = 0; t < std::min({x.size(), y.size(), a[i].scores->size(), b[i].scores->size()});
         ++t) {
      if (x[t] != y[t]) break;  // the prefixes part: nothing later is comparable
      largest = std::max(largest, std::fabs((*a[i].scores)[t] - (*b[i].scores)[t]));
      ++positions;
    }
  }
  return {largest, positions};
}

}  // namespace

json calibrate(CheckRun& run) {
  Generator& model = run.model;
  const Trace& rows = run.result.runs.at(0);
  const CheckOptions& o = run.options;
  DeterminismScope scope(o.determinism, model.info().device);
  json measurements = json::array();
  const auto add = [&](const std::string& varied, const Trace& other, const Trace& against) {
    const auto [largest, positions] = logprob_noise(against, other);
    measurements.push_back(
        {{"varied", varied}, {"max_abs_logprob_diff", largest}, {"positions", positions}});
  };
  const int threads_in_force = at::get_num_threads();
  // A model that cannot score in one pass but is teacher-forced otherwise (a
  // server: one request per position) is measured doing that, as the gate
  // will; one that can do neither, at the other batch size alone.
  const std::optional<Trace> scored = rescore_if_able(model, rows);
  if (!scored) {
    if (const std::optional<Trace> forced = rescore_if_able(model, rows, true)) {
      add("teacher-forced scoring", *forced, rows);
    }
  } else {
    add("one-pass scoring", *scored, rows);
    for (const int t : {1, 2, 4}) {
      if (t == threads_in_force) continue;
      at::set_num_threads(t);
      add("threads " + std::to_string(t), rescore(model, rows, "calibration"), *scored);
    }
    at::set_num_threads(threads_in_force);
  }
  const int other_batch = o.batch_size >= 4 ? 1 : 4;
  add("batch size " + std::to_string(other_batch),
      run_plans(model, run.requests,
                plan_in_order(run.requests.size(), other_batch, o.determinism.seed.value_or(0)),
                o.decoding),
      rows);
  double noise = 0;
  int positions = 0;
  for (const json& m : measurements) {
    noise = std::max(noise, m["max_abs_logprob_diff"].get<double>());
    positions += m["positions"].get<int>();
  }
  return {{"noise", noise}, {"positions", positions}, {"measurements", measurements}};
}

std::string describe_calibration(const json& calibration) {
  // From a golden anyone can edit: printable, and only the first few.
  std::string varied;
  int shown = 0;
  const json measurements = calibration.value("measurements", json::array());
  for (const json& m : measurements.is_array() ? measurements : json::array()) {
    if (!m.is_object() || !m.contains("varied") || !m["varied"].is_string()) continue;
    if (++shown > 8) break;
    varied +=
        (varied.empty() ? "" : ", ") + printable(m["varied"].get<std::string>().substr(0, 40));
  }
  const json noise = calibration.value("noise", json());
  return "auto: noise " +
         (noise.is_number() ? format_number(noise.get<double>()) : std::string("?")) +
         (varied.empty() ? "" : " (" + varied + ")") + " x " + format_number(kAutoFactor) +
         ", floor " + format_number(kAutoFloor);
}

}  // namespace detllm::internal
