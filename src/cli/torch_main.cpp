// detllm-torch: the subcommands of `detllm` that need libtorch (env, run,
// check, replay). `detllm` executes it with its own arguments; it can be run directly.
#include "cli/common.h"
#include "detllm_test/determinism.h"

int main(int argc, char** argv) {
  // Before anything can create a cuBLAS handle.
  detllm::prepare_process_environment();
  using namespace detllm::cli;
  CLI::App app{"detllm: determinism checks for LLM inference (docs/cli.md)", "detllm"};
  app.require_subcommand(1);
  GlobalFlags flags;
  add_global_flags(app, flags);
  int status = kBadInput;
  add_env_command(app, flags, status);
  add_run_commands(app, flags, status);
  add_replay_command(app, flags, status);
  parse_and_run(app, argc, argv, status);
  return status;
}
