// Internal: the servers a check talks to, one table: how each is told from
// what it answers, and which of its own request options and endpoints the
// check uses. A new server's quirks are a row here, not tests spread over
// openai_model.cpp.
#ifndef DETLLM_SRC_SERVING_SERVER_FLAVOR_H_
#define DETLLM_SRC_SERVING_SERVER_FLAVOR_H_

#include <nlohmann/json.hpp>
#include <vector>

namespace detllm::internal {

struct ServerFlavor {
  const char* name;  // run_config.json's server.kind
  // Told by: answering GET /props (llama.cpp), or the owned_by of the first
  // model GET /v1/models lists; the last row, neither, is any other server.
  bool answers_props;
  const char* owned_by;
  // The POST that empties its prefix cache before run 0, or nullptr (llama.cpp
  // has none: cache_prompt false skips the cache per request instead).
  const char* cache_reset;
  bool tokens_as_ids;       // takes return_tokens_as_token_ids (its tokens then name their ids)
  bool takes_cache_prompt;  // takes cache_prompt (?disable_prompt_cache sends false)
  bool takes_ignore_eos;    // takes ignore_eos (OpenAI's API has none)
  // How the server says which ids its chat template makes of a user message
  // (teacher forcing over chat appends the golden's tokens to them, as ids):
  // llama.cpp renders it at /apply-template and tokenizes that at /tokenize;
  // vLLM's /tokenize takes the messages; others are not asked.
  enum class ChatPromptIds { kNone, kApplyTemplate, kTokenizeMessages };
  ChatPromptIds chat_prompt_ids;
};

// Every flavor, the generic OpenAI-compatible one last.
const std::vector<ServerFlavor>& server_flavors();

// The flavor of a server from its /v1/models answer and whether it answered
// /props.
const ServerFlavor& server_flavor(const nlohmann::json& models, bool answers_props);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_SERVING_SERVER_FLAVOR_H_
