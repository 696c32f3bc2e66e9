// detllm run / detllm check: a model over prompts, with the pack written.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>

#include "artifacts/json_io.h"
#include "artifacts/line_reader.h"
#include "artifacts/schema_check.h"
#include "cli/common.h"
#include "detllm_test/check.h"
#include "detllm_test/determinism.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/model_config.h"
#include "detllm_test/models.h"
#include "detllm_test/report.h"

namespace detllm::cli {
namespace {

using nlohmann::json;

// Flags shared by run and check.
struct RunFlags {
  std::string model = "builtin:tiny";
  std::vector<std::string> prompts;
  std::string prompt_file;
  int tier = 1;
  std::string mode = "best-effort";
  int runs = 3;
  int batch_size = 1;
  std::vector<int> vary_batch;
  std::vector<int> vary_threads;
  int needle_trials = 0;
  int needle_max_batch_size = 16;
  bool prefill_vs_decode = false;
  bool explain = true;
  uint64_t seed = 0;
  int max_new_tokens = 16;
  bool ignore_eos = false;
  double temperature = 0.0, top_p = 1.0;
  int top_k = 0;
  std::string dtype = "float32", device = "cpu", out = "artifacts";
  bool redact = true;
  std::vector<std::string> redact_vars;
  bool validate_schema = false;
  bool preflight = false;
  bool split_k = true;
  bool deterministic_algorithms = true, allow_tf32 = false;
  std::vector<std::string> sdpa_backends;
  // check --golden: compare with (or, with --update-golden, record) a golden.
  std::string golden;
  bool update_golden = false, force_update_golden = false;
  int64_t logprob_ulps = 0;
  std::string tolerance = "exact";
  std::vector<std::string> given;  // the settings given on the command line
};

// Settings a golden comparison takes from the command line only when given.
constexpr const char* kGoldenSettingFlags[] = {"--tier",  "--mode",           "--batch-size",
                                               "--seed",  "--max-new-tokens", "--temperature",
                                               "--top-p", "--top-k",          "--ignore-eos"};

// --model's help, from the loader's own lists: every preset, every
// model_type a checkpoint may have (a test compares it with those lists).
std::string model_help() {
  std::string presets;
  for (const std::string& name : BuiltinConfig::preset_names()) presets += "builtin:" + name + ", ";
  return presets + "a Hugging Face checkpoint directory (model_type " +
         BuiltinConfig::supported_model_types() +
         "), an AOTInductor .pt2 package, a TorchScript file, or a server's OpenAI-compatible "
         "API: http[s]://HOST:PORT/v1[?model=NAME] (docs/serving.md)";
}

void add_run_flags(CLI::App& app, RunFlags& f, bool check) {
  app.add_option("--model", f.model, model_help())->capture_default_str();
  app.add_option("--prompt", f.prompts, "a prompt (repeatable)");
  app.add_option("--prompt-file", f.prompt_file,
                 "JSON Lines: a string, or an object with prompt or text");
  app.add_option("--tier", f.tier, "0 artifacts only, 1 tokens, 2 tokens and bitwise logprobs")
      ->capture_default_str();
  app.add_option("--mode", f.mode, "strict or best-effort")->capture_default_str();
  if (check) {
    app.add_option("--runs", f.runs, "runs at --batch-size")->capture_default_str();
    app.add_option("--vary-batch", f.vary_batch, "batch sizes to compare, e.g. 1,2,8")
        ->delimiter(',');
    app.add_flag("!--no-explain", f.explain,
                 "on failure, do not re-run the two sides to name the first ATen op that differs");
    app.add_flag("--prefill-vs-decode", f.prefill_vs_decode,
                 "also score each prompt and its tokens in one forward pass and compare with "
                 "the decoding (PREFILL_DECODE_MISMATCH)");
    app.add_option("--vary-threads", f.vary_threads,
                   "intra-op CPU thread counts to compare with the first, e.g. 1,2,4")
        ->delimiter(',');
    app.add_option("--needle-trials", f.needle_trials,
                   "trials that put each prompt at a random position among fillers of other "
                   "lengths, in a batch of random size (vLLM's and SGLang's method); the report "
                   "counts distinct completions per prompt")
        ->capture_default_str();
    app.add_option("--needle-max-batch-size", f.needle_max_batch_size,
                   "the largest batch of a needle trial (at least 2)")
        ->capture_default_str();
  }
  app.add_option("--batch-size", f.batch_size, "batch size of the runs")->capture_default_str();
  app.add_flag("--preflight", f.preflight,
               "one forward pass before the runs, to name an op without a deterministic kernel "
               "first (warms the model up, so a cold first call is not caught)");
  app.add_flag("!--no-split-k", f.split_k,
               "disallow cuBLAS split-K in float16/bfloat16 GEMMs (libtorch 2.x)");
  // Controls turned off on purpose, to measure what they buy (the record says so).
  app.add_flag("!--no-deterministic-algorithms", f.deterministic_algorithms,
               "leave libtorch's deterministic algorithms off");
  app.add_flag("--allow-tf32", f.allow_tf32, "allow TF32 in float32 matmuls and convolutions");
  app.add_option("--sdpa-backends", f.sdpa_backends,
                 "attention backends to allow, of math, flash, mem_efficient, cudnn (libtorch 2.x)")
      ->delimiter(',');
  app.add_option("--seed", f.seed, "seed of libtorch's generators and of sampling")
      ->capture_default_str();
  app.add_option("--max-new-tokens", f.max_new_tokens)->capture_default_str();
  app.add_flag("--ignore-eos", f.ignore_eos,
               "generate max-new-tokens tokens even past the model's eos tokens "
               "(generation_config.json)");
  app.add_option("--temperature", f.temperature,
                 "0 is greedy; above 0 samples at that temperature, seeded by --seed (as in "
                 "OpenAI's API, vLLM and transformers)")
      ->capture_default_str();
  app.add_option("--top-p", f.top_p, "with --temperature above 0")->capture_default_str();
  app.add_option("--top-k", f.top_k, "with --temperature above 0")->capture_default_str();
  app.add_option("--dtype", f.dtype, "float32, bfloat16 or float16")->capture_default_str();
  app.add_option("--device", f.device, "cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--out", f.out, "root of the repro packs")->capture_default_str();
  app.add_flag("--redact-env,!--no-redact-env", f.redact,
               "redact secret-looking environment variables");
  app.add_option("--redact-env-var", f.redact_vars, "also redact this variable (repeatable)");
  app.add_flag("--validate-schema", f.validate_schema,
               "validate the pack against the JSON Schemas");
  if (check) {
    app.add_option("--golden", f.golden,
                   "compare one run, under the golden's settings, with this golden file "
                   "(docs/release-gating.md)");
    app.add_flag("--update-golden", f.update_golden, "with --golden: record it instead");
    app.add_flag("--force-update-golden", f.force_update_golden,
                 "with --golden: record it even when CI is set");
    app.add_option("--logprob-ulps", f.logprob_ulps,
                   "with --golden at tier 2: logprobs within this many float32 ULPs agree");
    app.add_option("--tolerance", f.tolerance,
                   "with --golden: exact (default), auto (from the golden's calibration) or "
                   "logprob=X[,margin=Y]: the golden's tokens scored by the model and each "
                   "position judged by the tolerance (docs/release-gating.md)");
  }
}

std::vector<detllm::Prompt> read_prompts(const RunFlags& f) {
  std::vector<detllm::Prompt> prompts(f.prompts.begin(), f.prompts.end());
  if (!f.prompt_file.empty()) {
    internal::LineReader lines(f.prompt_file, "prompt file");
    std::string_view line;
    bool unterminated = false;
    while (lines.next(line, unterminated)) {
      const std::string where = lines.where();
      std::string why;
      const json value = internal::parse_json(line, &why);
      if (value.is_discarded()) throw detllm::Error(where + " is not valid JSON: " + why);
      if (value.is_string()) {
        prompts.emplace_back(value.get<std::string>());
      } else if (value.is_object() && (value.contains("prompt") || value.contains("text")) &&
                 value.value(value.contains("prompt") ? "prompt" : "text", json()).is_string()) {
        prompts.emplace_back(
            value[value.contains("prompt") ? "prompt" : "text"].get<std::string>());
      } else {
        throw detllm::Error(where +
                            ": expected a string or an object with a string prompt or text");
      }
    }
  }
  if (prompts.empty()) throw detllm::Error("no prompts: give --prompt or --prompt-file");
  return prompts;
}

detllm::CheckOptions check_options(const RunFlags& f) {
  detllm::CheckOptions o;
  o.runs = f.runs;
  o.batch_size = f.batch_size;
  o.preflight = f.preflight;
  o.vary_batch = f.vary_batch;
  o.vary_threads = f.vary_threads;
  o.needle_trials = f.needle_trials;
  o.needle_max_batch_size = f.needle_max_batch_size;
  o.prefill_vs_decode = f.prefill_vs_decode;
  o.explain = f.explain;
  if (!f.vary_threads.empty()) o.determinism.threads = f.vary_threads.front();
  o.determinism.tier = f.tier;
  o.determinism.mode = detllm::mode_from_string(f.mode);
  o.determinism.seed = f.seed;
  o.determinism.cublas_split_k = f.split_k;
  o.determinism.deterministic_algorithms = f.deterministic_algorithms;
  o.determinism.allow_tf32 = f.allow_tf32;
  o.determinism.sdpa_backends = f.sdpa_backends;
  o.decoding.max_new_tokens = f.max_new_tokens;
  o.decoding.ignore_eos = f.ignore_eos;
  o.decoding.seed = f.seed;
  // Temperature as OpenAI's API, vLLM and transformers read it: 0 (the
  // default) is greedy, recorded as the greedy settings every trace and golden
  // has always had (do_sample false, temperature 1); anything above 0 samples,
  // temperature 1 included.
  if (!(f.temperature >= 0.0)) {
    throw detllm::Error("--temperature must be 0 (greedy) or above (sampling), not " +
                        std::to_string(f.temperature));
  }
  const bool greedy = f.temperature == 0.0;
  if (greedy && (f.top_p != 1.0 || f.top_k != 0)) {
    throw detllm::Error(
        "--top-p and --top-k shape sampling, which --temperature 0 (greedy, the default) does not "
        "do: give --temperature above 0 too");
  }
  o.decoding.do_sample = !greedy;
  o.decoding.temperature = greedy ? 1.0 : f.temperature;
  o.decoding.top_p = f.top_p;
  o.decoding.top_k = f.top_k;
  o.out_dir = f.out;
  o.env.redact = f.redact;
  o.env.redact_vars = f.redact_vars;
  return o;
}

// A one-line progress display on stderr: "run 2 of 5 · prompts 3/4 · 812 tokens/s".
void show_progress(const detllm::Progress& p) {
  const double rate = p.seconds > 0 ? static_cast<double>(p.tokens_generated) / p.seconds : 0.0;
  std::fprintf(stderr, "\r\033[K%s · prompts %d/%d · %.0f tokens/s", p.phase.c_str(),
               p.prompts_done, p.prompts_total, rate);
  std::fflush(stderr);
}

void print_verbose(const GlobalFlags& global, const DeterminismRecord& record) {
  if (!global.verbose) return;
  std::cerr << "controls: " << record.summary() << "\n";
  for (const auto& d : record.downgrades) {
    std::cerr << "downgrade: tier " << d.from << " -> " << d.to << ": " << d.reason << "\n";
  }
  for (const auto& w : record.warnings) std::cerr << "warning: " << w << "\n";
}

// check --golden: exit 0 when the run matches (or the golden was recorded),
// 1 when it diverges; a missing or corrupt golden throws (exit 2).
int check_with_golden(Generator& model, const std::vector<Prompt>& prompts,
                      const CheckOptions& options, const RunFlags& f, const GlobalFlags& global) {
  GoldenOptions g;
  g.path = f.golden;
  g.base = options;
  g.base.keep_passing_pack = false;
  g.update = f.update_golden || f.force_update_golden;
  g.force = f.force_update_golden;
  g.logprob_ulps = f.logprob_ulps;
  g.tolerance = Tolerance::parse(f.tolerance);
  g.overrides = [given = f.given, options](CheckOptions& o) {
    auto was_given = [&](const char* flag) {
      return std::find(given.begin(), given.end(), flag) != given.end();
    };
    if (was_given("--tier")) o.determinism.tier = options.determinism.tier;
    if (was_given("--mode")) o.determinism.mode = options.determinism.mode;
    if (was_given("--batch-size")) o.batch_size = options.batch_size;
    if (was_given("--seed")) {  // as check_options() sets it: libtorch's and sampling's
      o.determinism.seed = options.determinism.seed;
      o.decoding.seed = options.decoding.seed;
    }
    if (was_given("--max-new-tokens")) o.decoding.max_new_tokens = options.decoding.max_new_tokens;
    if (was_given("--ignore-eos")) o.decoding.ignore_eos = true;
    if (was_given("--temperature") || was_given("--top-p") || was_given("--top-k")) {
      o.decoding = options.decoding;
    }
  };
  const GoldenResult result = check_golden(model, prompts, g);
  print_verbose(global, result.determinism);
  if (result.recorded) {
    if (!global.quiet) {
      std::cout << "golden '" << f.golden << "' recorded:\n";
      for (const std::string& change : result.changes) std::cout << "  " << change << "\n";
    }
    return kPass;
  }
  if (!global.quiet) {
    std::cout << render_text(result.report);
    if (!result.pack_dir.empty()) std::cout << "repro pack: " << result.pack_dir << "\n";
  }
  if (f.validate_schema && !result.pack_dir.empty() &&
      !schema_valid(internal::validate_pack(result.pack_dir))) {
    return kBadInput;
  }
  return result.passed() ? kPass : kDiverged;
}

int run_or_check(const RunFlags& f, const GlobalFlags& global, bool is_check) {
  auto model = load_model(f.model, {f.device, f.dtype});
  const std::vector<Prompt> prompts = read_prompts(f);
  CheckOptions options = check_options(f);
  const bool progress = !global.quiet && isatty(STDERR_FILENO);
  if (progress) options.on_progress = show_progress;
  auto finish_progress = [&] {
    if (progress) std::fprintf(stderr, "\r\033[K");
  };
  if (!is_check) {
    const RunResult result = run(*model, prompts, options);
    finish_progress();
    print_verbose(global, result.determinism);
    if (!global.quiet) std::cout << "repro pack: " << result.pack_dir << "\n";
    if (f.validate_schema && !schema_valid(internal::validate_pack(result.pack_dir))) {
      return kBadInput;
    }
    return kPass;
  }
  if (!f.golden.empty()) return check_with_golden(*model, prompts, options, f, global);
  const CheckResult result = check(*model, prompts, options);
  finish_progress();
  print_verbose(global, result.determinism);
  if (!global.quiet)
    std::cout << render_text(result.report) << "repro pack: " << result.pack_dir << "\n";
  if (f.validate_schema && !schema_valid(internal::validate_pack(result.pack_dir))) {
    return kBadInput;
  }
  if (result.report.category == Category::kUnsupportedRequest) return kBadInput;
  return result.passed() ? kPass : kDiverged;
}

}  // namespace

void add_run_commands(CLI::App& app, const GlobalFlags& global, int& status) {
  for (const bool is_check : {false, true}) {
    auto flags = std::make_shared<RunFlags>();
    CLI::App* command =
        is_check
            ? app.add_subcommand("check", "repeated runs and batch sizes; writes the check pack")
            : app.add_subcommand("run", "one run of a model over prompts; writes the run pack");
    add_run_flags(*command, *flags, is_check);
    command->callback([flags, command, &global, &status, is_check] {
      for (const char* flag : kGoldenSettingFlags) {
        if (command->count(flag) > 0) flags->given.push_back(flag);
      }
      status = run_or_check(*flags, global, is_check);
    });
  }
}

}  // namespace detllm::cli
