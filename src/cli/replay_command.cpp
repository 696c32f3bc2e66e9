// detllm replay PACK_DIR [--model PATH] [--out DIR]: the pack's check again, on
// this machine; exit 0 reproduced, 1 differs, 3 vanished, 2 bad input.
#include <memory>

#include "artifacts/json_io.h"
#include "cli/common.h"
#include "detllm_test/replay.h"

namespace detllm::cli {
namespace {

inline constexpr int kVanished = 3;

struct ReplayFlags {
  std::string pack;
  ReplayOptions options;
};

int replay_pack(ReplayFlags f, const GlobalFlags& global) {
  // Said before anything is loaded or contacted, on stderr: stdout is the verdict.
  if (!global.quiet) {
    f.options.announce = [](const std::string& source) {
      std::cerr << "detllm replay: " << source << "\n";
    };
  }
  const ReplayResult r = replay(f.pack, f.options);
  if (!global.quiet) {
    std::cout << "replay of " << f.pack << ": " << to_string(r.outcome) << "\n"
              << "  in the pack: " << r.original.headline() << "\n"
              << "  now:         " << r.now.headline() << "\n";
    for (const std::string& change : r.model_changes) {
      std::cout << "  note: " << internal::printable(change) << "\n";  // names from the pack
    }
    if (!r.now.passed) std::cout << render_findings(r.now, 2);
    if (!r.pack_dir.empty()) std::cout << "repro pack: " << r.pack_dir << "\n";
  }
  switch (r.outcome) {
    case ReplayOutcome::kReproduced:
      return kPass;
    case ReplayOutcome::kDiffers:
      return kDiverged;
    case ReplayOutcome::kVanished:
      return kVanished;
  }
  return kBadInput;
}

}  // namespace

void add_replay_command(CLI::App& app, const GlobalFlags& global, int& status) {
  auto flags = std::make_shared<ReplayFlags>();
  CLI::App* command = app.add_subcommand(
      "replay", "run a repro pack's check again and say whether its finding reproduces");
  command->add_option("pack", flags->pack, "the repro pack directory")->required();
  command->add_option("--model", flags->options.model,
                      "replay with this model instead of the pack's (e.g. a fixed build); the "
                      "pack's own is used only if built in, a server (sent no key), or trusted");
  command->add_option("--api-key-env", flags->options.api_key_env,
                      "with --model URL: the variable holding that server's API key");
  command->add_flag("--trust-pack-model", flags->options.trust_pack_model,
                    "load the local model file the pack names (a .pt2 or .pt runs code when "
                    "loaded): only for a pack you made or reviewed");
  command->add_option("--out", flags->options.out_dir, "root of the replay's pack (on failure)")
      ->capture_default_str();
  command->callback([flags, &global, &status] { status = replay_pack(*flags, global); });
}

}  // namespace detllm::cli
