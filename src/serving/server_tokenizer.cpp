// The tokenizer of a served model. Sending token ids (not text) is what keeps
// a check exact: the server cannot re-tokenize them differently between runs.
// A server that cannot tokenize gets text, and its tokens are compared by
// their text (docs/serving.md#tiers).
#include "serving/server_tokenizer.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "artifacts/json_io.h"
#include "artifacts/sha256.h"
#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

// The token ids a tokenize response holds, or nullopt for one that is not.
std::optional<TokenIds> tokens_of(const HttpResponse& response) {
  if (!response.error.empty() || response.status != 200) return std::nullopt;
  const json body = internal::parse_json(response.body);
  if (!body.is_object() || !body.contains("tokens") || !body["tokens"].is_array()) {
    return std::nullopt;
  }
  TokenIds ids;
  for (const json& id : body["tokens"]) {
    if (!id.is_number_integer()) return std::nullopt;
    ids.push_back(id.get<int64_t>());
  }
  return ids;
}

// Text whose tokens tell vocabularies apart: words, numbers, punctuation,
// whitespace, code and scripts beyond ASCII.
constexpr const char* kVocabularyProbe =
    "Hello, world! The quick brown fox jumps over 13 lazy dogs; 2024-06-01.\n\t"
    "def f(x): return x ** 2  # naïve café, Ärger, 東京, Москва, 🙂";

}  // namespace

ServerTokenizer::ServerTokenizer(std::string root, std::string model, HttpOptions http)
    : root_(std::move(root)), model_(std::move(model)), http_(std::move(http)) {
  http_.max_retries = 0;  // a probe that fails means "no such endpoint"
  // Both field names: vLLM and SGLang read "prompt", llama.cpp "content".
  const std::string probe =
      json{{"model", model_}, {"prompt", "Hello"}, {"content", "Hello"}}.dump();
  if (tokens_of(send({root_ + "/tokenize", probe}, http_))) {
    endpoint_ = Endpoint::kRoot;
  } else if (tokens_of(
                 send({root_ + "/extras/tokenize", json{{"input", "Hello"}}.dump()}, http_))) {
    endpoint_ = Endpoint::kExtras;
  }
  http_.max_retries = http.max_retries;
  if (endpoint_ != Endpoint::kBytes) {
    // The vocabulary's fingerprint, not the model's name: llama.cpp names a
    // model by its file, and an f16 and a Q8_0 file of one vocabulary must
    // compare as one tokenizer (their prompts' ids are compared anyway).
    id_ = "server:" + sha256_hex(json(encode(kVocabularyProbe)).dump()).substr(0, 16);
  }
}

std::string ServerTokenizer::id() const {
  return endpoint_ == Endpoint::kBytes ? std::string(ByteTokenizer::kId) : id_;
}

TokenIds ServerTokenizer::encode(const std::string& text) const {
  if (endpoint_ == Endpoint::kBytes) return ByteTokenizer().encode(text);
  const HttpResponse response =
      endpoint_ == Endpoint::kRoot
          ? send({root_ + "/tokenize",
                  json{{"model", model_}, {"prompt", text}, {"content", text}}.dump()},
                 http_)
          : send({root_ + "/extras/tokenize", json{{"input", text}}.dump()}, http_);
  const std::optional<TokenIds> ids = tokens_of(response);
  if (!ids) {
    throw Error(
        "the server at " + root_ + " did not tokenize a prompt (" +
        (response.error.empty() ? "HTTP " + std::to_string(response.status) : response.error) +
        ")");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  decoded_.emplace(*ids, text);
  return *ids;
}

std::optional<TokenIds> ServerTokenizer::encode_chat(const std::string& user_message,
                                                     ServerFlavor::ChatPromptIds how) const {
  using How = ServerFlavor::ChatPromptIds;
  if (how == How::kNone) return std::nullopt;
  const json messages = json::array({{{"role", "user"}, {"content", user_message}}});
  const std::string failed = "the server at " + root_ + " did not apply its chat template (";
  const auto failure = [&](const HttpResponse& r) {
    return r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error;
  };
  HttpResponse response;
  if (how == How::kTokenizeMessages) {
    response = send(
        {root_ + "/tokenize",
         json{{"model", model_}, {"messages", messages}, {"add_generation_prompt", true}}.dump()},
        http_);
  } else {
    // The rendered text, tokenized as a chat request's prompt is: special
    // tokens parsed, BOS added where the model adds one.
    const HttpResponse rendered =
        send({root_ + "/apply-template", json{{"messages", messages}}.dump()}, http_);
    const json body = rendered.error.empty() && rendered.status == 200
                          ? internal::parse_json(rendered.body)
                          : json();
    if (!body.is_object() || !body.contains("prompt") || !body["prompt"].is_string()) {
      throw Error(failed + "POST /apply-template: " + failure(rendered) + ")");
    }
    response = send(
        {root_ + "/tokenize",
         json{{"content", body["prompt"]}, {"add_special", true}, {"parse_special", true}}.dump()},
        http_);
  }
  std::optional<TokenIds> ids = tokens_of(response);
  if (!ids) throw Error(failed + "POST /tokenize: " + failure(response) + ")");
  // A template makes ids of any message; none is a server that ignored it.
  if (ids->empty()) throw Error(failed + "POST /tokenize returned no ids for a user message)");
  return ids;
}

std::string ServerTokenizer::decode(const TokenIds& ids) const {
  // Text ids first: they never reach the server.
  std::string out;
  TokenIds run;
  auto flush = [&] {
    if (run.empty()) return;
    std::unique_lock<std::mutex> lock(mutex_);
    const auto known = decoded_.find(run);
    if (endpoint_ == Endpoint::kBytes) {
      out += ByteTokenizer().decode(run);
    } else if (known != decoded_.end()) {
      out += known->second;
    } else {
      lock.unlock();
      const std::string path = endpoint_ == Endpoint::kRoot ? "/detokenize" : "/extras/detokenize";
      const HttpResponse response =
          send({root_ + path, json{{"model", model_}, {"tokens", run}}.dump()}, http_);
      const json body = internal::parse_json(response.body);
      // vLLM answers "prompt", llama.cpp "content", llama-cpp-python "text".
      std::string text;
      for (const char* key : {"prompt", "content", "text"}) {
        if (body.is_object() && body.contains(key) && body[key].is_string()) {
          text = body[key].get<std::string>();
          break;
        }
      }
      if (text.empty()) {
        for (int64_t id : run) text += "<|" + std::to_string(id) + "|>";
      } else {
        lock.lock();
        decoded_.emplace(run, text);
      }
      out += text;
    }
    run.clear();
  };
  for (const int64_t id : ids) {
    if (!is_text_id(id)) {
      run.push_back(id);
      continue;
    }
    flush();
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = texts_.find(id);
    out += found == texts_.end() ? "<|" + std::to_string(id) + "|>" : found->second;
  }
  flush();
  return out;
}

int64_t ServerTokenizer::id_of_text(const std::string& token) const {
  const std::string hex = sha256_hex(token).substr(0, 11);  // 44 bits
  const int64_t id = kTextIdBase + std::stoll(hex, nullptr, 16);
  std::lock_guard<std::mutex> lock(mutex_);
  texts_.emplace(id, token);
  return id;
}

}  // namespace detllm::internal
