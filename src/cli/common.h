// Internal to the CLI: what every subcommand shares — exit statuses, schema
// checks and the subcommand registry.
#ifndef DETLLM_SRC_CLI_COMMON_H_
#define DETLLM_SRC_CLI_COMMON_H_

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm::cli {

// Exit statuses: 0 PASS or done, 1 a divergence was found, 2 bad usage, bad
// input or an unsupported request.
inline constexpr int kPass = 0, kDiverged = 1, kBadInput = 2;

// Global flags, given before or after the subcommand.
struct GlobalFlags {
  bool verbose = false;
  bool quiet = false;
};

// Both executables' -v/--verbose and -q/--quiet. Called before the
// subcommands are added, which inherit fallthrough: `detllm check -q ...` and
// `detllm -q check ...` mean the same, as in git or kubectl.
inline void add_global_flags(CLI::App& app, GlobalFlags& flags) {
  app.fallthrough();
  app.add_flag("-v,--verbose", flags.verbose,
               "also print the controls applied, downgrades and warnings");
  app.add_flag("-q,--quiet", flags.quiet,
               "print nothing but errors; the exit status tells the result");
}

// Parses the command line and runs the chosen subcommand's callback. Returns
// true if it ran; otherwise `status` is the exit status (kPass after --help,
// kBadInput for bad usage or an error, printed).
inline bool parse_and_run(CLI::App& app, int argc, char** argv, int& status) {
  try {
    app.parse(argc, argv);
    return true;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help
      status = app.exit(e) == 0 ? kPass : kBadInput;
    } else {  // one line, as every other error
      std::cerr << "detllm: " << internal::printable(e.what()) << " (see --help)\n";
      status = kBadInput;
    }
  } catch (const std::exception& e) {
    // One line, whatever a file or a server put into the message.
    std::cerr << "detllm: " << internal::printable(e.what()) << "\n";
    status = kBadInput;
  }
  return false;
}

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
void add_replay_command(CLI::App& app, const GlobalFlags& flags, int& status);

// Runs detllm-torch, the half of detllm that links libtorch, for the
// subcommands needing it, with the same arguments, and returns its exit
// status. It runs as a child that dies with this process (PR_SET_PDEATHSIG):
// a CI step that kills `detllm` never leaves a model running on. SIGINT,
// SIGTERM, SIGHUP and SIGQUIT are passed on to it; a child killed by a
// signal kills this process with the same signal. Looks in
// $DETLLM_TORCH_TOOL, beside this executable, then the installed libexec
// directory; throws detllm::Error naming where it looked if it is nowhere.
int run_torch_tool(int argc, char** argv);

}  // namespace detllm::cli

#endif  // DETLLM_SRC_CLI_COMMON_H_
