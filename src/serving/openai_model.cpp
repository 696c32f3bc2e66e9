// A server's model as a Generator. Each batch the harness plans is sent as
// that many concurrent /v1/completions requests, started in slot order, so
// that the server's own scheduler batches them: batch size and a needle's
// position become concurrency and arrival order, which is where a served
// model's batch variance comes from.
#include "detllm_test/openai_model.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"
#include "serving/completion_response.h"
#include "serving/event_stream.h"
#include "serving/http_client.h"
#include "serving/server_flavor.h"
#include "serving/server_metrics.h"
#include "serving/server_tokenizer.h"

namespace detllm {
namespace {

using internal::HttpRequest;
using internal::HttpResponse;
using nlohmann::json;

// A one-line reason for a response that is not a success.
std::string failure_of(const HttpResponse& r) {
  if (!r.error.empty()) return r.error;
  std::string line = "HTTP " + std::to_string(r.status);
  if (r.attempts > 1) line += " after " + std::to_string(r.attempts) + " attempts";
  if (!r.body.empty()) line += ": " + internal::quote_text(r.body, 160);
  return line;
}

// GET `url`'s JSON, or nullopt when the server has no such endpoint.
std::optional<json> get_json(const std::string& url, internal::HttpOptions http) {
  http.max_retries = 0;
  const HttpResponse r = internal::send({url, ""}, http);
  if (!r.error.empty() || r.status != 200) return std::nullopt;
  json body = internal::parse_json(r.body);
  if (body.is_discarded()) return std::nullopt;
  return body;
}

class OpenAiModel final : public Generator {
 public:
  explicit OpenAiModel(const OpenAiOptions& options) : options_(options) {
    const internal::UrlParts url = internal::split_url(options.base_url);
    clean_url_ = url.clean;
    base_ = url.with_credentials;
    root_ = base_;
    if (root_.size() >= 3 && root_.compare(root_.size() - 3, 3, "/v1") == 0) {
      root_.resize(root_.size() - 3);
    }
    http_.connect_timeout_s = options.connect_timeout_s;
    http_.request_timeout_s = options.request_timeout_s;
    http_.max_concurrency = options.max_concurrency;
    http_.max_retries = options.max_retries;
    http_.retry_backoff_s = options.retry_backoff_s;
    http_.verify_tls = options.verify_tls;
    http_.ca_file = options.ca_file;
    if (!options.api_key_env.empty()) {
      if (const char* key = std::getenv(options.api_key_env.c_str())) http_.bearer_token = key;
    }
    connect();
  }

  ModelInfo info() const override { return info_; }

  std::string reset_caches() override {
    const char* path = flavor_->cache_reset;
    if (path == nullptr) return "";
    const HttpResponse r = internal::send({root_ + path, "{}"}, http_);
    if (!r.error.empty() || r.status != 200) {
      throw Error("the server at " + clean_url_ + " did not reset its prefix cache (POST " + path +
                  ": " + failure_of(r) + ")");
    }
    return std::string("POST ") + path;
  }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }

  std::vector<Generation> generate(const std::vector<TokenIds>& batch,
                                   const GenerationConfig& config) override {
    std::vector<std::string> bodies;
    for (const TokenIds& ids : batch) bodies.push_back(body(ids, config, options_.chat));
    return complete(bodies, config, options_.chat);
  }

  // One request per position: each prefix of `sequence` from `prompt_length`
  // on, one greedy token with its top-2 logprobs, sent at once as a batch
  // would be (the server batches them as it does any load). Over chat, the
  // prompt is the ids the server's chat template makes of it, and the
  // golden's tokens follow as ids, sent to /v1/completions: what the chat
  // request computed, with no answer re-tokenized.
  std::optional<SequenceScores> teacher_force(const TokenIds& sequence,
                                              size_t prompt_length) override {
    const auto prompt_end = sequence.begin() + static_cast<std::ptrdiff_t>(prompt_length);
    TokenIds context(sequence.begin(), prompt_end);
    if (options_.chat) {
      const std::optional<TokenIds> templated =
          tokenizer_->encode_chat(tokenizer_->decode(context), flavor_->chat_prompt_ids);
      if (!templated) return std::nullopt;
      context = *templated;
    }
    GenerationConfig one;
    one.max_new_tokens = 1;
    one.capture_logprobs = true;
    one.ignore_eos = true;  // the golden's next token may be any, EOS included
    SequenceScores scores;
    constexpr size_t kAtOnce = 64;  // requests in flight, bounded
    for (size_t from = prompt_length; from < sequence.size(); from += kAtOnce) {
      std::vector<std::string> bodies;
      for (size_t t = from; t < std::min(sequence.size(), from + kAtOnce); ++t) {
        TokenIds prefix = context;
        prefix.insert(prefix.end(), prompt_end, sequence.begin() + static_cast<std::ptrdiff_t>(t));
        bodies.push_back(body(prefix, one, /*chat=*/false));
      }
      const std::vector<Generation> answers = complete(bodies, one, /*chat=*/false);
      for (size_t i = 0; i < answers.size(); ++i) {
        const Generation& g = answers[i];
        if (g.tokens.size() != 1 || g.logprobs.size() != 1) {
          throw Error("the server at " + clean_url_ + " returned " +
                      std::to_string(g.tokens.size()) + " tokens for one asked for (position " +
                      std::to_string(from + i - prompt_length) + ")");
        }
        const bool golden = g.tokens[0] == sequence[from + i];
        scores.argmax.push_back(g.tokens[0]);
        scores.logprobs.push_back(golden ? g.logprobs[0]
                                         : std::numeric_limits<double>::quiet_NaN());
        scores.logit_margins.push_back(g.logit_margins.empty()
                                           ? std::numeric_limits<double>::quiet_NaN()
                                           : g.logit_margins[0]);
      }
    }
    return scores;
  }

 private:
  // Sends the request bodies at once, as one batch, to /v1/chat/completions
  // or /v1/completions, and reads each answer.
  std::vector<Generation> complete(const std::vector<std::string>& bodies,
                                   const GenerationConfig& config, bool chat) {
    std::vector<HttpRequest> requests;
    const std::string path = chat ? "/chat/completions" : "/completions";
    for (const std::string& b : bodies) requests.push_back({base_ + path, b});
    // The server's own count of what it ran at once, around the batch.
    const std::optional<internal::DecodeCounters> before = decode_counters();
    const std::vector<HttpResponse> responses = internal::send_all(requests, http_);
    const std::optional<internal::DecodeCounters> after = before ? decode_counters() : std::nullopt;
    const std::optional<double> busy =
        before && after ? internal::busy_slots_between(*before, *after) : std::nullopt;
    // Counters that went back since the last batch: the server restarted.
    const bool restarted = before && last_counters_ && before->decodes < last_counters_->decodes;
    if (after) last_counters_ = after;
    std::vector<Generation> out;
    for (size_t i = 0; i < responses.size(); ++i) {
      const std::string where = "the server at " + clean_url_ + ": the completion of row " +
                                std::to_string(i) + " of a batch of " +
                                std::to_string(bodies.size());
      if (!responses[i].error.empty() || responses[i].status != 200) {
        throw Error(where + " failed: " + failure_of(responses[i]));
      }
      const std::string body = options_.stream
                                   ? internal::merge_event_stream(responses[i].body, where)
                                   : responses[i].body;
      out.push_back(
          generation_of(internal::parse_completion(body, where, config.capture_logprobs), where));
      if (busy) out.back().server_busy_slots = *busy;
      out.back().server_restarted = restarted;
    }
    return out;
  }

  // The server's step counters from its /metrics, where it serves them.
  std::optional<internal::DecodeCounters> decode_counters() const {
    return has_metrics_ ? read_decode_counters() : std::nullopt;
  }
  std::optional<internal::DecodeCounters> read_decode_counters() const {
    const HttpResponse r = internal::send({root_ + "/metrics", ""}, http_);
    if (!r.error.empty() || r.status != 200) return std::nullopt;
    return internal::decode_counters(internal::parse_metrics(r.body));
  }

  // /v1/models (the model chosen from it), what else the server says about
  // itself, and its tokenizer.
  void connect() {
    const HttpResponse r = internal::send({base_ + "/models", ""}, http_);
    if (!r.error.empty() || r.status != 200) {
      throw Error("the server at " + clean_url_ +
                  " did not list its models (GET /models: " + failure_of(r) + ")");
    }
    const json models = internal::parse_json(r.body);
    std::vector<std::string> ids;
    if (models.is_object() && models.contains("data") && models["data"].is_array()) {
      for (const json& m : models["data"]) {
        // An id is printed and put into the model's name: a lying server's
        // escape sequences or newlines are shown escaped, never run.
        if (m.is_object() && m.contains("id") && m["id"].is_string()) {
          ids.push_back(internal::printable(m["id"].get<std::string>()));
        }
      }
    }
    if (ids.empty()) {
      throw Error("the server at " + clean_url_ + " lists no model (GET /models returned " +
                  internal::quote_text(r.body, 120) + ")");
    }
    model_ = options_.model;
    if (model_.empty()) {
      if (ids.size() > 1) {
        std::string list;
        for (const std::string& id : ids) list += (list.empty() ? "" : ", ") + id;
        throw Error("the server at " + clean_url_ + " serves " + std::to_string(ids.size()) +
                    " models (" + list + "): name one with ?model=NAME");
      }
      model_ = ids.front();
    } else if (std::find(ids.begin(), ids.end(), model_) == ids.end()) {
      throw Error("the server at " + clean_url_ + " does not serve model '" + model_ + "'");
    }
    json server = {{"base_url", clean_url_}, {"models", models}};
    if (auto version = get_json(root_ + "/version", http_)) server["version"] = *version;
    if (auto props = get_json(root_ + "/props", http_)) server["props"] = *props;
    flavor_ = &internal::server_flavor(models, server.contains("props"));
    tokenizer_ = std::make_shared<internal::ServerTokenizer>(root_, model_, http_);
    server["kind"] = flavor_->name;
    const std::optional<internal::DecodeCounters> counters = read_decode_counters();
    has_metrics_ = counters.has_value();
    server["concurrency_evidence"] =
        has_metrics_ ? std::string("GET /metrics around each batch: ") + counters->source
                     : std::string("none: the server reports no per-step concurrency");
    server["tokenizer"] = tokenizer_->endpoint() == internal::ServerTokenizer::Endpoint::kBytes
                              ? "none: prompts sent as text, tokens compared by their text"
                              : "the server's";
    server["request_options"] = request_options(options_.chat);
    server["api"] = options_.chat ? "POST /v1/chat/completions: each prompt one user message, "
                                    "through the server's chat template"
                                  : "POST /v1/completions";
    const char* reset = flavor_->cache_reset;
    server["prefix_cache"] = reset != nullptr ? std::string("reset before run 0: POST ") + reset
                             : flavor_->takes_cache_prompt && options_.disable_prompt_cache
                                 ? "not used: cache_prompt false"
                                 : "as served (no reset endpoint)";
    // A URL load_model reads back (replay), with the options that change
    // what is asked of the server.
    info_.name = clean_url_ + "?model=" + model_;
    if (options_.disable_prompt_cache) info_.name += "&disable_prompt_cache=true";
    if (options_.api_key_env != OpenAiOptions().api_key_env) {
      info_.name += "&api_key_env=" + options_.api_key_env;
    }
    if (options_.max_concurrency != OpenAiOptions().max_concurrency) {
      info_.name += "&max_concurrency=" + std::to_string(options_.max_concurrency);
    }
    if (options_.chat) info_.name += "&chat=true";
    if (options_.stream) info_.name += "&stream=true";
    info_.capabilities.max_concurrent_requests = options_.max_concurrency;
    info_.backend = "openai";
    info_.file = clean_url_;
    info_.device = "remote";
    info_.dtype = "as served";
    info_.capabilities.honours_controls = false;
    info_.capabilities.ops_unobservable =
        "the model runs on a server, whose ops this process cannot see";
    info_.server_url = clean_url_;
    info_.server_json = server.dump();
  }

  // The options every request carries beside the prompt and decoding.
  json request_options(bool chat) const {
    json o = {{"n", 1}, {"stream", options_.stream}};
    if (!chat) o["echo"] = false;
    // vLLM sends the usage (its cached-token count) in a last chunk only when
    // asked; llama.cpp sends it anyway.
    if (options_.stream) o["stream_options"] = {{"include_usage", true}};
    if (flavor_->tokens_as_ids) o["return_tokens_as_token_ids"] = true;
    if (flavor_->takes_cache_prompt && options_.disable_prompt_cache) o["cache_prompt"] = false;
    return o;
  }

  // A request for the continuation of `ids`: over chat, one user message.
  std::string body(const TokenIds& ids, const GenerationConfig& c, bool chat) const {
    json b = request_options(chat);
    b["model"] = model_;
    // Ids where the server reads them (not every server takes a list of ids).
    const bool as_ids = tokenizer_->endpoint() == internal::ServerTokenizer::Endpoint::kRoot;
    if (chat) {
      b["messages"] = json::array({{{"role", "user"}, {"content", tokenizer_->decode(ids)}}});
    } else if (as_ids) {
      b["prompt"] = ids;
    } else {
      b["prompt"] = tokenizer_->decode(ids);
    }
    b["max_tokens"] = c.max_new_tokens;
    // Greedy is temperature 0, as OpenAI's API, vLLM and llama.cpp read it.
    b["temperature"] = c.do_sample ? c.temperature : 0.0;
    b["top_p"] = c.top_p;
    if (c.do_sample) b["seed"] = c.seed;
    if (c.top_k > 0) b["top_k"] = c.top_k;
    if (c.capture_logprobs && chat) {
      b["logprobs"] = true;
      b["top_logprobs"] = 2;  // the top 2: margins and near-ties
    } else if (c.capture_logprobs) {
      b["logprobs"] = 2;
    }
    if (c.ignore_eos && flavor_->takes_ignore_eos) b["ignore_eos"] = true;
    return b.dump();
  }

  Generation generation_of(const internal::Completion& c, const std::string& where) const {
    Generation g;
    if (c.token_texts.empty() && !c.text.empty()) {
      throw Error(where + " returned text but no tokens in its logprobs");
    }
    if (!c.token_ids.empty()) {
      g.tokens = c.token_ids;
    } else {
      for (const std::string& token : c.token_texts)
        g.tokens.push_back(tokenizer_->id_of_text(token));
    }
    g.logprobs = c.logprobs;
    g.logit_margins = c.margins;
    g.cached_prompt_tokens = c.cached_prompt_tokens;
    return g;
  }

  OpenAiOptions options_;
  internal::HttpOptions http_;
  std::string clean_url_, base_, root_, model_;
  const internal::ServerFlavor* flavor_ = nullptr;  // set by connect()
  bool has_metrics_ = false;  // a /metrics with step counters (llama.cpp's, vLLM's)
  std::optional<internal::DecodeCounters> last_counters_;  // after the last batch
  std::shared_ptr<internal::ServerTokenizer> tokenizer_;
  ModelInfo info_;
};

}  // namespace

std::unique_ptr<Generator> openai_model(const OpenAiOptions& options) {
  return std::make_unique<OpenAiModel>(options);
}

bool is_endpoint(const std::string& spec) {
  return spec.rfind("http://", 0) == 0 || spec.rfind("https://", 0) == 0;
}

OpenAiOptions openai_options_from_url(const std::string& url) {
  const internal::UrlParts parts = internal::split_url(url);
  OpenAiOptions o;
  o.base_url = parts.with_credentials;
  size_t begin = 0;
  while (begin < parts.query.size()) {
    size_t end = parts.query.find('&', begin);
    if (end == std::string::npos) end = parts.query.size();
    const std::string pair = parts.query.substr(begin, end - begin);
    begin = end + 1;
    const size_t eq = pair.find('=');
    const std::string key = pair.substr(0, eq);
    const std::string value =
        eq == std::string::npos ? "" : internal::url_decode(pair.substr(eq + 1));
    auto flag = [&] {
      if (value != "true" && value != "false") {
        throw Error("?" + key + "= must be true or false, not '" + value + "'");
      }
      return value == "true";
    };
    if (key == "model") {
      o.model = value;
    } else if (key == "api_key_env") {
      o.api_key_env = value;
    } else if (key == "verify_tls") {
      o.verify_tls = flag();
    } else if (key == "disable_prompt_cache") {
      o.disable_prompt_cache = flag();
    } else if (key == "chat") {
      o.chat = flag();
    } else if (key == "stream") {
      o.stream = flag();
    } else if (key == "max_concurrency") {
      try {
        o.max_concurrency = std::stoi(value);
      } catch (const std::exception&) {
        throw Error("?max_concurrency= must be a number, not '" + value + "'");
      }
      if (o.max_concurrency < 1) throw Error("?max_concurrency= must be at least 1");
    } else if (!key.empty()) {
      throw Error("unknown server URL option '?" + key +
                  "=' (known: model, api_key_env, verify_tls, max_concurrency, "
                  "disable_prompt_cache, chat, stream)");
    }
  }
  return o;
}

}  // namespace detllm
