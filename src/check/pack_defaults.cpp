// The default pack location of run() and check(), as the gtest layer sets it.
#include "check/pack_defaults.h"

#include <utility>

namespace detllm::internal {
namespace {

std::function<std::optional<PackDefaults>()>& provider() {
  static std::function<std::optional<PackDefaults>()> instance;
  return instance;
}

// The provider's defaults where `out_dir` is the default one, else nullopt.
std::optional<PackDefaults> defaults_for(const std::string& out_dir) {
  if (out_dir != RunOptions().out_dir || !provider()) return std::nullopt;
  return provider()();
}

}  // namespace

void set_pack_defaults(std::function<std::optional<PackDefaults>()> p) {
  provider() = std::move(p);
}

CheckOptions with_pack_defaults(const CheckOptions& options) {
  const std::optional<PackDefaults> d = defaults_for(options.out_dir);
  if (!d) return options;
  CheckOptions o = options;
  o.out_dir = d->out_dir;
  o.keep_passing_pack = o.keep_passing_pack && d->keep_passing_pack;
  return o;
}

}  // namespace detllm::internal
