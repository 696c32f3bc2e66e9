// detllm::serving — a deployment as a model: any server with an
// OpenAI-compatible /v1/completions or /v1/chat/completions (vLLM, SGLang,
// llama.cpp's server, llama-cpp-python, TensorRT-LLM's trtllm-serve), checked
// through its API like a model in this process. See docs/serving.md.
#ifndef DETLLM_TEST_OPENAI_MODEL_H_
#define DETLLM_TEST_OPENAI_MODEL_H_

#include <memory>
#include <string>

#include "detllm_test/generator.h"

namespace detllm {

// Where the server is and how to talk to it.
struct OpenAiOptions {
  // "http://127.0.0.1:8000/v1" (https too). User and password in it are sent
  // as basic auth and never written to an artifact.
  std::string base_url;
  // The served model's id; "" takes the one model /v1/models lists (several
  // are an error that lists them).
  std::string model;
  // The variable holding the API key, sent only as "Authorization: Bearer";
  // unset or empty, no key is sent. The key is never written anywhere.
  std::string api_key_env = "OPENAI_API_KEY";
  double connect_timeout_s = 10;
  double request_timeout_s = 300;  // per request, generation included
  // Requests in flight at once: a batch of the check is sent concurrently, so
  // that the server batches them as it batches its users' requests.
  int max_concurrency = 64;
  int max_retries = 3;  // for HTTP 429 and 503, with backoff; nothing else is retried
  double retry_backoff_s = 0.5;
  bool verify_tls = true;  // false only for a self-signed test server
  std::string ca_file;     // "" : the system's certificates
  // Ask the server not to reuse cached prompt prefixes (llama.cpp's
  // cache_prompt: false). Off: the cache is part of what is checked.
  bool disable_prompt_cache = false;
  // Each prompt sent to /v1/chat/completions as one user message, through
  // the server's chat template, instead of to /v1/completions as ids.
  bool chat = false;
  // Ask for the answer as server-sent events ("stream": true), put together
  // token by token; the same answer as without, at tier 2, on a sound server.
  bool stream = false;
};

// Connects (GET /v1/models, and /version or /props where the server has
// them) and returns the server's model as a Generator. Throws detllm::Error
// in one line for a server that is down, refuses the key, or lists no model.
std::unique_ptr<Generator> openai_model(const OpenAiOptions& options);

// True for "http://..." and "https://...": what load_model passes here.
bool is_endpoint(const std::string& spec);

// The options of a URL load_model is given: "http://HOST:PORT/v1" or
// "…/v1?model=NAME" (also ?api_key_env=VAR, ?verify_tls=false,
// ?max_concurrency=N, ?disable_prompt_cache=true, ?chat=true, ?stream=true).
OpenAiOptions openai_options_from_url(const std::string& url);

}  // namespace detllm

#endif  // DETLLM_TEST_OPENAI_MODEL_H_
