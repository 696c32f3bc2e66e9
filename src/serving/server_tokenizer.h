// Internal: a served model's tokenizer — the server's own /tokenize and
// /detokenize where it has them, else bytes — and ids for tokens a server
// names only by their text.
#ifndef DETLLM_SRC_SERVING_SERVER_TOKENIZER_H_
#define DETLLM_SRC_SERVING_SERVER_TOKENIZER_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "detllm_test/tokenizer.h"
#include "serving/http_client.h"
#include "serving/server_flavor.h"

namespace detllm::internal {

class ServerTokenizer : public Tokenizer {
 public:
  // How the server tokenizes: vLLM, SGLang and llama.cpp's server at
  // /tokenize, llama-cpp-python at /extras/tokenize, or not at all (kBytes:
  // prompts are UTF-8 bytes here and sent to the server as text).
  enum class Endpoint { kRoot, kExtras, kBytes };

  // Probes the server at `root` (its URL without /v1) for an endpoint.
  ServerTokenizer(std::string root, std::string model, HttpOptions http);

  Endpoint endpoint() const { return endpoint_; }
  // "server:<16 hex>": a fingerprint of how the server tokenizes a probe text,
  // the same for every model file of one vocabulary; ByteTokenizer's id
  // without a tokenize endpoint.
  std::string id() const override;
  TokenIds encode(const std::string& text) const override;
  // The ids the server's chat template makes of one user message, generation
  // prompt included, asked as `how` says; nullopt for kNone.
  std::optional<TokenIds> encode_chat(const std::string& user_message,
                                      ServerFlavor::ChatPromptIds how) const;
  std::string decode(const TokenIds& ids) const override;

  // An id for a generated token that the server names only by its text:
  // stable (the first bytes of the text's SHA-256, above every real id), so
  // that runs and goldens compare it, and decoded back to the text here.
  int64_t id_of_text(const std::string& token) const;
  static bool is_text_id(int64_t id) { return id >= kTextIdBase; }

 private:
  static constexpr int64_t kTextIdBase = int64_t{1} << 48;
  std::string root_, model_;
  HttpOptions http_;
  Endpoint endpoint_ = Endpoint::kBytes;
  std::string id_;  // "server:" and the vocabulary's fingerprint
  mutable std::mutex mutex_;
  mutable std::map<int64_t, std::string> texts_;  // id_of_text's ids
  // What the server tokenized or detokenized, by ids: a prompt sent as text
  // is decoded here once, not with a request per completion.
  mutable std::map<TokenIds, std::string> decoded_;
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_SERVING_SERVER_TOKENIZER_H_
