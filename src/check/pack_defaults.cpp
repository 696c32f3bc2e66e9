// The default pack location of run() and check(), as the gtest layer sets it.
#include "check/pack_defaults.h"

#include <utility>

namespace detllm::internal {
namespace {

std::function<std::optional<PackDefaults>()>& provider() {
  static std::function<std::optional<PackDefaults>()> instance;
  return instance;
}

template <typename Options>
Options resolved(const Options& options) {
  if (options.out_dir != RunOptions().out_dir || !provider()) return options;
  const std::optional<PackDefaults> defaults = provider()();
  if (!defaults) return options;
  Options o = options;
  o.out_dir = defaults->out_dir;
  return o;
}

}  // namespace

void set_pack_defaults(std::function<std::optional<PackDefaults>()> p) {
  provider() = std::move(p);
}

RunOptions with_pack_defaults(const RunOptions& options) { return resolved(options); }

CheckOptions with_pack_defaults(const CheckOptions& options) {
  CheckOptions o = resolved(options);
  if (o.out_dir != options.out_dir && o.keep_passing_pack) {
    o.keep_passing_pack = provider()()->keep_passing_pack;
  }
  return o;
}

}  // namespace detllm::internal
