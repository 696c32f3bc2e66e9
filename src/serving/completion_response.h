// Internal: a /v1/completions or /v1/chat/completions response read into what
// a trace needs — each generated token (its id where the server names it), its
// logprob and the top-1 minus top-2 margin — from either logprobs layout
// servers write.
#ifndef DETLLM_SRC_SERVING_COMPLETION_RESPONSE_H_
#define DETLLM_SRC_SERVING_COMPLETION_RESPONSE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace detllm::internal {

struct Completion {
  std::string text;
  std::string finish_reason;
  std::vector<std::string> token_texts;  // one per generated token
  // The tokens' ids, where the server names them: vLLM's "token_id:N" tokens
  // (return_tokens_as_token_ids) or llama.cpp's "id"; else empty.
  std::vector<int64_t> token_ids;
  std::vector<double> logprobs;  // one per token; empty when none were asked for
  // Top-1 minus top-2 logprob per token (equal to the logit margin, since both
  // share the softmax's normaliser); empty where fewer than 2 came back.
  std::vector<double> margins;
  // The prompt tokens the server served from its cache:
  // usage.prompt_tokens_details.cached_tokens (OpenAI, vLLM), else
  // timings.cache_n (llama.cpp); -1 when it says neither.
  int cached_prompt_tokens = -1;
};

// Parses a response body: a completion's choices[0].text or a chat
// completion's choices[0].message.content. The logprobs layouts read: OpenAI's
// legacy completions logprobs ({tokens, token_logprobs, top_logprobs}, as
// vLLM, SGLang and llama-cpp-python write it) and the chat-style one
// ({content: [{token, logprob, top_logprobs, id?}]}, as llama.cpp's server
// and every chat completion write it). Throws detllm::Error, its message begun
// with `where`, for a body that is not JSON, an error object, a number of
// choices other than one, missing logprobs when `want_logprobs`, arrays of
// mismatched lengths, or values of the wrong type.
Completion parse_completion(const std::string& body, const std::string& where, bool want_logprobs);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_SERVING_COMPLETION_RESPONSE_H_
