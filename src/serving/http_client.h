// Internal: HTTP for the serving client — many requests in flight at once
// through libcurl's multi interface, bounded retries for 429 and 503, TLS
// verified unless asked otherwise.
#ifndef DETLLM_SRC_SERVING_HTTP_CLIENT_H_
#define DETLLM_SRC_SERVING_HTTP_CLIENT_H_

#include <string>
#include <vector>

namespace detllm::internal {

struct HttpRequest {
  std::string url;
  std::string body;  // empty: GET; else a POST of this JSON
};

struct HttpResponse {
  long status = 0;  // the HTTP status; 0 when no response came
  std::string body;
  std::string error;  // why no response came (refused, timed out, ...), else ""
  int attempts = 0;   // 1 + the retries it took
};

struct HttpOptions {
  double connect_timeout_s = 10;
  double request_timeout_s = 300;
  int max_concurrency = 64;      // requests in flight at once
  int max_retries = 3;           // for 429 and 503 only
  double retry_backoff_s = 0.5;  // doubled per retry; a Retry-After header wins, up to 30 s
  bool verify_tls = true;
  std::string ca_file;       // "" : the system's certificates
  std::string bearer_token;  // sent as "Authorization: Bearer ..." when set, nowhere else
  size_t max_response_bytes = size_t{64} << 20;  // a larger body is an error, not memory
};

// Sends every request, up to max_concurrency at once, started in order (so
// request i reaches the server no later than request i+1), and returns one
// response per request, in order. Never throws for a failed request: its
// response says why.
std::vector<HttpResponse> send_all(const std::vector<HttpRequest>& requests,
                                   const HttpOptions& options);

// One request; the same rules.
HttpResponse send(const HttpRequest& request, const HttpOptions& options);

// A server URL taken apart by libcurl's URL API: "http://user:secret@host:8000/v1/?model=m"
// has clean "http://host:8000/v1" (what artifacts may hold), with_credentials
// "http://user:secret@host:8000/v1" (what requests go to: libcurl sends the
// user and password as basic auth) and query "model=m". Throws detllm::Error
// for anything but an http or https URL, without repeating it (it may hold a
// password).
struct UrlParts {
  std::string scheme, clean, with_credentials, query;
  bool had_credentials = false;
};
UrlParts split_url(const std::string& url);

// "%2F" -> "/", for a query's values.
std::string url_decode(const std::string& text);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_SERVING_HTTP_CLIENT_H_
