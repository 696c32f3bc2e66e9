// The table of server flavors and how a server is matched to one.
#include "serving/server_flavor.h"

#include <cstring>
#include <string>

namespace detllm::internal {

const std::vector<ServerFlavor>& server_flavors() {
  using Chat = ServerFlavor::ChatPromptIds;
  //                     name, answers_props, owned_by, cache_reset, ids, cache_prompt, ignore_eos,
  //                     chat_prompt_ids
  static const std::vector<ServerFlavor> flavors = {
      {"llama.cpp", true, nullptr, nullptr, false, true, true, Chat::kApplyTemplate},
      {"vllm", false, "vllm", "/reset_prefix_cache", true, false, true, Chat::kTokenizeMessages},
      {"sglang", false, "sglang", "/flush_cache", false, false, true, Chat::kNone},
      {"openai-compatible", false, nullptr, nullptr, false, false, false, Chat::kNone},
  };
  return flavors;
}

const ServerFlavor& server_flavor(const nlohmann::json& models, bool answers_props) {
  std::string owner;
  if (models.is_object() && models.contains("data") && models["data"].is_array() &&
      !models["data"].empty() && models["data"][0].is_object()) {
    const nlohmann::json& first = models["data"][0];
    if (first.contains("owned_by") && first["owned_by"].is_string()) owner = first["owned_by"];
  }
  const std::vector<ServerFlavor>& flavors = server_flavors();
  for (const ServerFlavor& flavor : flavors) {
    if ((flavor.answers_props && answers_props) ||
        (flavor.owned_by != nullptr && owner == flavor.owned_by)) {
      return flavor;
    }
  }
  return flavors.back();
}

}  // namespace detllm::internal
