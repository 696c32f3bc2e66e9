// Internal: tokenizer.json's `decoder` section, which turns the tokens of ids
// back into text. Each step maps the list of token strings to a new list, as
// tokenizers' decoders do; the text is the final list joined.
#ifndef DETLLM_SRC_HF_TOKEN_DECODER_H_
#define DETLLM_SRC_HF_TOKEN_DECODER_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace detllm::internal {

class TokenDecoder {
 public:
  // `section`: a file's "decoder" (ByteLevel, Metaspace, Replace, ByteFallback,
  // Fuse, Strip, Sequence); null joins the tokens with spaces, as tokenizers
  // does without a decoder. Throws detllm::Error "<where> has decoder X, which
  // is not supported (...)" for any other.
  TokenDecoder(const nlohmann::json& section, const std::string& where);
  // GPT-2's: the ByteLevel decoder (vocab.json and merges.txt declare none).
  static TokenDecoder byte_level();

  std::string decode(std::vector<std::string> tokens) const;

 private:
  using Step = std::function<void(std::vector<std::string>&)>;
  TokenDecoder() = default;
  void read(const nlohmann::json& section, const std::string& where);

  std::vector<Step> steps_;
  bool join_with_spaces_ = false;
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_HF_TOKEN_DECODER_H_
