// detllm-torch: the subcommands of `detllm` that need libtorch (env, run,
// check). `detllm` executes it with its own arguments; it can be run directly.
#include "cli/common.h"
#include "detllm_test/determinism.h"

int main(int argc, char** argv) {
  // Before anything can create a cuBLAS handle.
  detllm::prepare_process_environment();
  using namespace detllm::cli;
  CLI::App app{"detllm: determinism checks for LLM inference (docs/cli.md)", "detllm"};
  app.require_subcommand(1);
  GlobalFlags flags;
  app.add_flag("-v,--verbose", flags.verbose,
               "also print the controls applied, downgrades and warnings");
  app.add_flag("-q,--quiet", flags.quiet,
               "print nothing but errors; the exit status tells the result");
  int status = kBadInput;
  add_env_command(app, flags, status);
  add_run_commands(app, flags, status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kPass : kBadInput;
  } catch (const std::exception& e) {
    std::cerr << "detllm: " << e.what() << "\n";
    return kBadInput;
  }
  return status;
}
