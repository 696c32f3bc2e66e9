// detllm env --out FILE: an environment snapshot.
#include <memory>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "cli/common.h"
#include "detllm_test/env.h"

namespace detllm::cli {
namespace {

struct EnvFlags {
  std::string out = "artifacts/env.json";
  bool redact = true;
  std::vector<std::string> redact_vars;
};

int env(const EnvFlags& f) {
  EnvOptions options;
  options.redact = f.redact;
  options.redact_vars = f.redact_vars;
  internal::write_file_atomically(f.out, internal::dump(capture_env(options), 2) + "\n",
                                  "environment snapshot");
  std::cout << f.out << "\n";
  return kPass;
}

}  // namespace

void add_env_command(CLI::App& app, const GlobalFlags&, int& status) {
  auto flags = std::make_shared<EnvFlags>();
  CLI::App* command = app.add_subcommand("env", "write an environment snapshot");
  command->add_option("--out", flags->out, "where to write it")->capture_default_str();
  command->add_flag("--redact-env,!--no-redact-env", flags->redact,
                    "redact secret-looking variables");
  command->add_option("--redact-env-var", flags->redact_vars,
                      "also redact this variable (repeatable)");
  command->callback([flags, &status] { status = env(*flags); });
}

}  // namespace detllm::cli
