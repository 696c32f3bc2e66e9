// The `detllm` command: env, run, check, diff, report (docs/cli.md).
// Exit status: 0 PASS / done, 1 a divergence was found, 2 bad usage, bad input
// or an unsupported request; every error is one line on stderr.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/schema_check.h"
#include "detllm_test/check.h"
#include "detllm_test/determinism.h"
#include "detllm_test/diff.h"
#include "detllm_test/env.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "detllm_test/report.h"
#include "detllm_test/trace.h"
#include "internal/json_io.h"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kPass = 0, kDiverged = 1, kBadInput = 2;

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
  uint64_t seed = 0;
  int max_new_tokens = 16;
  double temperature = 1.0, top_p = 1.0;
  int top_k = 0;
  std::string dtype = "float32", device = "cpu", out = "artifacts";
  bool redact = true;
  std::vector<std::string> redact_vars;
  bool validate_schema = false;
  bool preflight = false;
};

// Prints the schema problems of `pack_dir` (or a file); true if there are none.
bool schema_valid(const std::vector<std::string>& problems) {
  for (const std::string& problem : problems) std::cerr << "detllm: schema: " << problem << "\n";
  return problems.empty();
}

void add_run_flags(CLI::App& app, RunFlags& f, bool check) {
  app.add_option("--model", f.model,
                 "builtin:tiny, builtin:small, a GPT-2 checkpoint directory or a TorchScript file")
      ->capture_default_str();
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
  }
  app.add_option("--batch-size", f.batch_size, "batch size of the runs")->capture_default_str();
  app.add_flag("--preflight", f.preflight,
               "one forward pass before the runs, to name an op without a deterministic kernel "
               "first (warms the model up, so a cold first call is not caught)");
  app.add_option("--seed", f.seed, "seed of libtorch's generators and of sampling")
      ->capture_default_str();
  app.add_option("--max-new-tokens", f.max_new_tokens)->capture_default_str();
  app.add_option("--temperature", f.temperature, "sampling when != 1 or with --top-p/--top-k")
      ->capture_default_str();
  app.add_option("--top-p", f.top_p)->capture_default_str();
  app.add_option("--top-k", f.top_k)->capture_default_str();
  app.add_option("--dtype", f.dtype, "float32, bfloat16 or float16")->capture_default_str();
  app.add_option("--device", f.device, "cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--out", f.out, "root of the repro packs")->capture_default_str();
  app.add_flag("--redact-env,!--no-redact-env", f.redact,
               "redact secret-looking environment variables");
  app.add_option("--redact-env-var", f.redact_vars, "also redact this variable (repeatable)");
  app.add_flag("--validate-schema", f.validate_schema,
               "validate the pack against the JSON Schemas");
}

std::vector<detllm::Prompt> read_prompts(const RunFlags& f) {
  std::vector<detllm::Prompt> prompts(f.prompts.begin(), f.prompts.end());
  if (!f.prompt_file.empty()) {
    std::ifstream in(f.prompt_file);
    if (!in) throw detllm::Error("cannot read prompt file '" + f.prompt_file + "'");
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where =
          "prompt file '" + f.prompt_file + "' line " + std::to_string(number);
      json value;
      try {
        value = json::parse(line);
      } catch (const json::parse_error&) {
        throw detllm::Error(where + " is not valid JSON");
      }
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
  o.determinism.tier = f.tier;
  o.determinism.mode = detllm::mode_from_string(f.mode);
  o.determinism.seed = f.seed;
  o.decoding.max_new_tokens = f.max_new_tokens;
  o.decoding.seed = f.seed;
  o.decoding.temperature = f.temperature;
  o.decoding.top_p = f.top_p;
  o.decoding.top_k = f.top_k;
  o.decoding.do_sample = f.temperature != 1.0 || f.top_p != 1.0 || f.top_k != 0;
  o.out_dir = f.out;
  o.env.redact = f.redact;
  o.env.redact_vars = f.redact_vars;
  return o;
}

// Rejects an artifact of another major schema version than ours.
void require_schema_1(const json& artifact, const std::string& path) {
  if (!artifact.is_object() || !artifact.contains("schema_version")) return;
  const json& version = artifact["schema_version"];
  if (!version.is_string() || version.get<std::string>().rfind("1.", 0) != 0) {
    throw detllm::Error("'" + path + "' has schema version " + version.dump() +
                        "; this detllm reads schema 1.x");
  }
}

// A one-line progress display on stderr: "run 2 of 5 · prompts 3/4 · 812 tokens/s".
void show_progress(const detllm::Progress& p) {
  const double rate = p.seconds > 0 ? static_cast<double>(p.tokens_generated) / p.seconds : 0.0;
  std::fprintf(stderr, "\r\033[K%s · prompts %d/%d · %.0f tokens/s", p.phase.c_str(),
               p.prompts_done, p.prompts_total, rate);
  std::fflush(stderr);
}

// A trace file, or a pack directory's trace.jsonl.
detllm::Trace read_trace_or_pack(const std::string& path) {
  std::error_code error;
  return detllm::read_trace(fs::is_directory(path, error) ? path + "/trace.jsonl" : path);
}

}  // namespace

int main(int argc, char** argv) {
  detllm::prepare_process_environment();
  CLI::App app{"detllm: determinism checks for LLM inference (docs/cli.md)"};
  app.require_subcommand(1);
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "also print the controls applied, downgrades and warnings");
  app.add_flag("-q,--quiet", quiet, "print nothing but errors; the exit status tells the result");

  std::string env_out = "artifacts/env.json";
  bool env_redact = true;
  std::vector<std::string> env_redact_vars;
  CLI::App* env = app.add_subcommand("env", "write an environment snapshot");
  env->add_option("--out", env_out, "where to write it")->capture_default_str();
  env->add_flag("--redact-env,!--no-redact-env", env_redact, "redact secret-looking variables");
  env->add_option("--redact-env-var", env_redact_vars, "also redact this variable (repeatable)");

  RunFlags run_flags, check_flags;
  CLI::App* run = app.add_subcommand("run", "one run of a model over prompts; writes the run pack");
  add_run_flags(*run, run_flags, /*check=*/false);
  CLI::App* check =
      app.add_subcommand("check", "repeated runs and batch sizes; writes the check pack");
  add_run_flags(*check, check_flags, /*check=*/true);

  std::string left, right;
  CLI::App* diff = app.add_subcommand("diff", "compare two traces or two packs");
  diff->add_option("--left", left, "a trace (.jsonl) or a pack directory")->required();
  diff->add_option("--right", right, "a trace (.jsonl) or a pack directory")->required();

  std::string report_in, report_out;
  bool report_validate = false;
  CLI::App* report = app.add_subcommand("report", "render a report.json as text");
  report->add_option("--in", report_in, "report.json, or a repro pack directory")->required();
  report->add_option("--out", report_out, "write the text here instead of stdout");
  report->add_flag("--validate-schema", report_validate,
                   "validate report.json against its JSON Schema first");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    return status == 0 ? 0 : kBadInput;
  }

  try {
    if (*env) {
      detllm::EnvOptions options;
      options.redact = env_redact;
      options.redact_vars = env_redact_vars;
      const fs::path out(env_out);
      if (out.has_parent_path()) fs::create_directories(out.parent_path());
      const std::string temp = env_out + ".partial";
      std::ofstream(temp) << detllm::internal::dump(detllm::capture_env(options), 2) << "\n";
      std::error_code error;
      fs::rename(temp, env_out, error);
      if (error) throw detllm::Error("cannot write '" + env_out + "': " + error.message());
      std::cout << env_out << "\n";
      return kPass;
    }
    if (*run || *check) {
      const RunFlags& f = *run ? run_flags : check_flags;
      auto model = detllm::load_model(f.model, {f.device, f.dtype});
      const std::vector<detllm::Prompt> prompts = read_prompts(f);
      detllm::CheckOptions options = check_options(f);
      const bool progress = !quiet && isatty(STDERR_FILENO);
      if (progress) options.on_progress = show_progress;
      auto finish_progress = [&] {
        if (progress) std::fprintf(stderr, "\r\033[K");
      };
      auto print_verbose = [&](const detllm::DeterminismRecord& record) {
        if (!verbose) return;
        std::cerr << "controls: " << record.summary() << "\n";
        for (const auto& d : record.downgrades) {
          std::cerr << "downgrade: tier " << d.from << " -> " << d.to << ": " << d.reason << "\n";
        }
        for (const auto& w : record.warnings) std::cerr << "warning: " << w << "\n";
      };
      if (*run) {
        const detllm::RunResult result = detllm::run(*model, prompts, options);
        finish_progress();
        print_verbose(result.determinism);
        if (!quiet) std::cout << "repro pack: " << result.pack_dir << "\n";
        if (f.validate_schema && !schema_valid(detllm::cli::validate_pack(result.pack_dir)))
          return kBadInput;
        return kPass;
      }
      const detllm::CheckResult result = detllm::check(*model, prompts, options);
      finish_progress();
      print_verbose(result.determinism);
      if (!quiet)
        std::cout << detllm::render_text(result.report) << "repro pack: " << result.pack_dir
                  << "\n";
      if (f.validate_schema && !schema_valid(detllm::cli::validate_pack(result.pack_dir)))
        return kBadInput;
      if (result.report.category == detllm::Category::kUnsupportedRequest) return kBadInput;
      return result.passed() ? kPass : kDiverged;
    }
    if (*diff) {
      const detllm::Trace l = read_trace_or_pack(left), r = read_trace_or_pack(right);
      auto divergence =
          detllm::diff_traces(l, r, {detllm::Category::kRunVarianceFixedBatch, true, left, right});
      std::error_code error;
      if (fs::is_directory(left, error) && fs::is_directory(right, error)) {
        const json le =
            detllm::internal::read_json_file(left + "/env.json", "environment snapshot");
        const json re =
            detllm::internal::read_json_file(right + "/env.json", "environment snapshot");
        require_schema_1(le, left + "/env.json");
        require_schema_1(re, right + "/env.json");
        const auto fields = detllm::env_differences(le, re);
        std::cout << "environment fields that differ:" << (fields.empty() ? " none" : "") << "\n";
        for (const std::string& field : fields) std::cout << "  " << field << "\n";
      }
      if (!divergence) {
        std::cout << "no divergence: " << l.size() << " rows agree (tokens and logprobs)\n";
        return kPass;
      }
      if (auto tokenizer = detllm::find_tokenizer(l.empty() ? "" : l[0].tokenizer_id)) {
        detllm::describe_text(*divergence, l, *tokenizer);
      }
      std::cout << detllm::to_string(divergence->category) << "\n"
                << detllm::render_divergence_text(*divergence, 2);
      return kDiverged;
    }
    if (*report) {
      // A pack directory stands for its report.json.
      if (std::filesystem::is_directory(report_in)) {
        report_in = (std::filesystem::path(report_in) / "report.json").string();
      }
      if (report_validate && !schema_valid(detllm::cli::validate_file(report_in))) return kBadInput;
      const json report_json = detllm::internal::read_json_file(report_in, "report");
      require_schema_1(report_json, report_in);
      const std::string text = detllm::render_report_text(report_json);
      if (report_out.empty()) {
        std::cout << text;
      } else if (!(std::ofstream(report_out) << text)) {
        throw detllm::Error("cannot write '" + report_out + "'");
      }
      return kPass;
    }
  } catch (const detllm::Error& e) {
    std::cerr << "detllm: " << e.what() << "\n";
    return kBadInput;
  } catch (const std::exception& e) {
    std::cerr << "detllm: " << e.what() << "\n";
    return kBadInput;
  }
  return kBadInput;
}
