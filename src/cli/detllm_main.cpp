// The `detllm` command (docs/cli.md). This executable links only
// detllm::artifacts: `diff` and `report` run here without loading libtorch or
// CUDA; `env`, `run`, `check` and `replay` are handed, arguments unchanged, to
// detllm-torch, which links detllm::core, run as a child that dies with us.
#include <string>

#include "cli/common.h"

int main(int argc, char** argv) {
  using namespace detllm::cli;
  CLI::App app{"detllm: determinism checks for LLM inference (docs/cli.md)"};
  app.require_subcommand(1);
  GlobalFlags flags;
  add_global_flags(app, flags);
  int status = kBadInput;
  // Served by detllm-torch: listed here for --help, parsed there.
  for (const auto& [name, what] :
       {std::pair{"env", "write an environment snapshot"},
        std::pair{"run", "one run of a model over prompts; writes the run pack"},
        std::pair{"check", "repeated runs and batch sizes; writes the check pack"},
        std::pair{"replay", "run a repro pack's check again: does its finding reproduce?"}}) {
    CLI::App* command = app.add_subcommand(name, what);
    command->prefix_command();
    command->fallthrough(false);  // every argument, -q included, goes on to detllm-torch
    command->set_help_flag();     // `detllm run --help` is detllm-torch's
  }
  add_diff_command(app, flags, status);
  add_report_command(app, flags, status);
  if (!parse_and_run(app, argc, argv, status)) return status;
  for (const char* name : {"env", "run", "check", "replay"}) {
    if (!app.got_subcommand(name)) continue;
    try {
      return run_torch_tool(argc, argv);
    } catch (const std::exception& e) {
      std::cerr << "detllm: " << detllm::internal::printable(e.what()) << "\n";
      return kBadInput;
    }
  }
  return status;
}
