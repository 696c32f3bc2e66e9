// The determinism scope: applies, reads back and restores every control of the
// table, seeds the generators, records it all; and tier gating.
#include "detllm_test/determinism.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>

#include "controls/control_table.h"
#include "detllm_test/error.h"
#include "detllm_test/version.h"

namespace detllm {

using nlohmann::json;

namespace {

constexpr char kCublasWorkspaceVar[] = "CUBLAS_WORKSPACE_CONFIG";
constexpr char kCublasWorkspaceValue[] = ":4096:8";

}  // namespace

std::string to_string(Mode mode) { return mode == Mode::kStrict ? "strict" : "best-effort"; }

Mode mode_from_string(const std::string& name) {
  if (name == "strict") return Mode::kStrict;
  if (name == "best-effort" || name == "best_effort") return Mode::kBestEffort;
  throw Error("unknown mode '" + name + "'; expected strict or best-effort");
}

const AppliedControl* DeterminismRecord::find(const std::string& name) const {
  for (const AppliedControl& control : controls) {
    if (control.name == name) return &control;
  }
  return nullptr;
}

std::string DeterminismRecord::summary() const {
  auto value = [this](const char* name) {
    const AppliedControl* control = find(name);
    return control ? control->effective : std::string("?");
  };
  // libtorch 2.11 and later have no tf32_cublas: their CUDA matmul precision,
  // in the same words (ieee, or none, which inherits full precision, is off).
  std::string tf32 = value("tf32_cublas");
  if (!find("tf32_cublas")) {
    tf32 = value("fp32_precision_cuda_matmul");
    if (tf32 == "ieee" || tf32 == "none") tf32 = "off";
    if (tf32 == "tf32") tf32 = "on";
  }
  return "deterministic_algorithms=" + value("deterministic_algorithms") + " tf32=" + tf32 + " " +
         kCublasWorkspaceVar + "=" + value(kCublasWorkspaceVar) +
         " seed=" + (seed ? std::to_string(*seed) : "none") + " threads=" + value("threads");
}

json determinism_applied_json(const DeterminismRecord& record) {
  json groups = {{"seed", json::object()}, {"torch", json::object()}, {"env", json::object()}};
  for (const AppliedControl& c : record.controls) {
    groups[c.group][c.name] = {{"requested", c.requested},
                               {"effective", c.effective},
                               {"previous", c.previous},
                               {"honoured", c.honoured},
                               {"note", c.note}};
  }
  json downgrades = json::array();
  for (const Downgrade& d : record.downgrades) {
    downgrades.push_back({{"from", d.from}, {"to", d.to}, {"reason", d.reason}});
  }
  return json{
      {"schema_version", kSchemaVersion},
      {"detllm_version", kVersion},
      {"artifact_type", "determinism_applied"},
      {"tier_requested", record.tier_requested},
      {"tier_effective", record.tier_effective},
      {"mode", to_string(record.mode)},
      {"seed", record.seed ? json(*record.seed) : json(nullptr)},
      {"seed_controls", groups["seed"]},
      {"torch_controls", groups["torch"]},
      {"env_controls", groups["env"]},
      {"downgrades", downgrades},
      {"warnings", record.warnings},
      {"capability_failures", record.capability_failures},
      {"threads", record.threads},
  };
}

// Internal: the global state found when the scope opened.
struct DeterminismScope::Saved {
  std::vector<std::string> controls;  // read() of each entry of internal::controls()
  at::Tensor cpu_rng_state;
};

DeterminismScope::DeterminismScope(const DeterminismOptions& options, const std::string& device)
    : saved_(std::make_unique<Saved>()) {
  // Checked before anything is set: a constructor that throws restores nothing.
  for (const std::string& name : options.sdpa_backends) {
    if (std::find(std::begin(internal::kSdpaBackends), std::end(internal::kSdpaBackends), name) ==
        std::end(internal::kSdpaBackends)) {
      throw Error("unknown attention backend '" + name +
                  "' in sdpa_backends; expected math, flash, mem_efficient or cudnn");
    }
  }
  record_.tier_requested = options.tier;
  record_.tier_effective = options.tier;
  record_.mode = options.mode;
  record_.seed = options.seed;
  apply_controls(options, device.rfind("cuda", 0) == 0);
  record_.threads = at::get_num_threads();
  apply_seeds(options);
}

void DeterminismScope::apply_controls(const DeterminismOptions& options, bool on_cuda) {
  const DeterminismOptions defaults;
  for (const internal::Control& control : internal::controls()) {
    const std::string previous = control.read();
    saved_->controls.push_back(previous);
    const std::string wanted = control.wanted(options);
    if (control.write && !wanted.empty() && wanted != previous) control.write(wanted);
    const std::string effective = control.read();
    std::string problem;
    if (!wanted.empty()) {
      problem = control.problem       ? control.problem(previous, effective, wanted, on_cuda)
                : effective != wanted ? "effective " + effective
                                      : "";
    }
    const bool applies = on_cuda || !control.cuda_only;
    std::string note = control.note;
    if (!applies) {
      note = "applies to CUDA only";
    } else if (wanted != control.wanted(defaults)) {
      note = "set to " + wanted + " on request; " + note;
    }
    if (!problem.empty() && applies) {
      note = problem;
      if (control.write) record_.warnings.push_back(std::string(control.name) + ": " + problem);
    }
    if (applies && !control.write && effective == "unavailable") {
      record_.warnings.push_back(std::string(control.name) + ": " + control.note);
    }
    record_.controls.push_back({control.group, control.name,
                                wanted.empty() ? "(unchanged)" : wanted, effective, previous,
                                !applies || problem.empty(), note});
  }
}

void DeterminismScope::apply_seeds(const DeterminismOptions& options) {
  // Seeds last: seeding touches the generators only, never CUDA handles.
  at::Generator cpu_generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu_generator.mutex());
    saved_->cpu_rng_state = cpu_generator.get_state();
  }
  if (options.seed) {
    at::manual_seed(*options.seed);
    const uint64_t effective = at::detail::getDefaultCPUGenerator().current_seed();
    const std::string seed = std::to_string(*options.seed);
    record_.controls.push_back(
        {"seed", "torch_manual_seed", seed, std::to_string(effective), "",
         effective == *options.seed,
         "libtorch's global CPU generator, seeded once per check (runs are not reseeded)"});
    const bool gpus = at::hasCUDA() && at::getNumGPUs() > 0;
    record_.controls.push_back({"seed", "cuda_manual_seed_all", seed,
                                gpus ? seed : "no CUDA device", "", true,
                                "every CUDA device's default generator"});
  }
  record_.controls.push_back(
      {"seed", "sampling_generators", "per request", "per request", "", true,
       "each request samples from its own generator seeded from (seed, its token ids)"});
}

DeterminismScope::~DeterminismScope() {
  // In reverse: CUBLAS_WORKSPACE_CONFIG, set first, is restored last.
  const auto& table = internal::controls();
  for (size_t i = table.size(); i-- > 0;) {
    if (table[i].write && table[i].read() != saved_->controls[i]) {
      table[i].write(saved_->controls[i]);
    }
  }
  at::Generator cpu_generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(cpu_generator.mutex());
  cpu_generator.set_state(saved_->cpu_rng_state);
}

void gate_tier(const ModelInfo& info, DeterminismRecord& record) {
  if (record.tier_requested < 0 || record.tier_requested > kMaxTier) {
    throw Error("tier " + std::to_string(record.tier_requested) + " does not exist; use 0, 1 or 2");
  }
  std::vector<std::string> tier1_unmet, tier2_unmet;
  if (!info.server_url.empty()) {
    // The server's determinism is its own configuration; what it returns is
    // still compared at the tier asked for.
    record.warnings.push_back("the model runs on the server at " + info.server_url +
                              ": this process's determinism controls do not reach it");
  } else if (!info.capabilities.honours_controls) {
    tier1_unmet.push_back("model '" + info.name +
                          "' is not governed by libtorch's determinism controls");
  }
  for (const AppliedControl& control : record.controls) {
    if (!control.honoured) {
      tier1_unmet.push_back(
          "control " + control.name + " is not in force (" +
          (control.note.empty() ? "effective " + control.effective : control.note) + ")");
    }
  }
  if (!info.capabilities.logprobs) {
    tier2_unmet.push_back("model '" + info.name + "' cannot give log-probabilities");
  }
  const int supported = !tier1_unmet.empty() ? 0 : !tier2_unmet.empty() ? 1 : kMaxTier;
  if (record.tier_requested <= supported) {
    record.tier_effective = record.tier_requested;
    return;
  }
  std::vector<std::string> reasons = tier1_unmet;
  if (record.tier_requested >= 2)
    reasons.insert(reasons.end(), tier2_unmet.begin(), tier2_unmet.end());
  record.tier_effective = supported;
  if (record.mode == Mode::kStrict) {
    for (const std::string& reason : reasons) {
      record.capability_failures.push_back("tier " + std::to_string(record.tier_requested) +
                                           " requires it, but " + reason);
    }
    return;
  }
  for (const std::string& reason : reasons) {
    record.downgrades.push_back({record.tier_requested, supported, reason});
    record.warnings.push_back("tier " + std::to_string(record.tier_requested) + " lowered to " +
                              std::to_string(supported) + ": " + reason);
  }
}

void prepare_process_environment() {
  setenv(kCublasWorkspaceVar, kCublasWorkspaceValue, /*overwrite=*/0);
}

}  // namespace detllm
