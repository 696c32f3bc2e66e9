// Internal to the CLI: what every subcommand shares — exit statuses, schema
// checks and the subcommand registry.
#ifndef DETLLM_SRC_CLI_COMMON_H_
#define DETLLM_SRC_CLI_COMMON_H_

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "detllm_test/error.h"

namespace detllm::cli {

// Exit statuses: 0 PASS or done, 1 a divergence was found, 2 bad usage, bad
// input or an unsupported request.
inline constexpr int kPass = 0, kDiverged = 1, kBadInput = 2;

// Global flags, given before the subcommand.
struct GlobalFlags {
  bool verbose = false;
  bool quiet = false;
};

// Prints schema problems to stderr; true if there are none.
inline bool schema_valid(const std::vector<std::string>& problems) {
  for (const std::string& problem : problems) std::cerr << "detllm: schema: " << problem << "\n";
  return problems.empty();
}

// Rejects an artifact of another major schema version than ours.
inline void require_schema_1(const nlohmann::json& artifact, const std::string& path) {
  if (!artifact.is_object() || !artifact.contains("schema_version")) return;
  const nlohmann::json& version = artifact["schema_version"];
  if (!version.is_string() || version.get<std::string>().rfind("1.", 0) != 0) {
    throw Error("'" + path + "' has schema version " + version.dump() +
                "; this detllm reads schema 1.x");
  }
}

// Each subcommand registers itself on `app`; when it is chosen, `status` is
// set to its exit status (from CLI11's callback, after parsing).
void add_diff_command(CLI::App& app, const GlobalFlags& flags, int& status);
void add_report_command(CLI::App& app, const GlobalFlags& flags, int& status);
void add_env_command(CLI::App& app, const GlobalFlags& flags, int& status);
void add_run_commands(CLI::App& app, const GlobalFlags& flags, int& status);

// Replaces this process by detllm-torch, the executable that serves the
// subcommands needing libtorch, with the same arguments. Looks in
// $DETLLM_TORCH_TOOL, beside this executable, then the installed libexec
// directory; throws detllm::Error naming where it looked if it is nowhere.
[[noreturn]] void exec_torch_tool(int argc, char** argv);

}  // namespace detllm::cli

#endif  // DETLLM_SRC_CLI_COMMON_H_
