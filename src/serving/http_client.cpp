// HTTP through libcurl's multi interface. The serving checks need requests
// truly concurrent (a server batches what arrives together), started in a
// known order (the needle's arrival offset), and bounded in time and size: a
// dead or lying server must end in a one-line error, never a hang.
#include "serving/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <thread>

#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw Error("libcurl failed to start");
  });
}

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  size_t limit = 0;
  bool too_large = false;
  double retry_after_s = -1;
  char error[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (t->response->body.size() + bytes > t->limit) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->response->body.append(data, bytes);
  return bytes;
}

void start(Transfer& t, const HttpOptions& o) {
  t.response->body.clear();
  t.response->status = 0;
  t.response->error.clear();
  t.too_large = false;
  t.retry_after_s = -1;
  t.error[0] = 0;
  t.limit = o.max_response_bytes;
  t.easy = curl_easy_init();
  if (!t.easy) throw Error("libcurl could not make a request handle");
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, t.request->url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout_s * 1000));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.request_timeout_s * 1000));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o.verify_tls ? 2L : 0L);
  if (!o.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, o.ca_file.c_str());
  // A redirect could carry the Authorization header to another host.
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  // One connection per request, closed when it is answered. Servers built on
  // cpp-httplib (llama.cpp's) hold a worker thread per open connection for
  // its keep-alive (5 s): a batch of more concurrent requests than they have
  // workers waited those 5 s for connections the client kept idle, so a
  // "batch of 24" arrived as 20 and then 4.
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  t.headers = curl_slist_append(nullptr, "Accept: application/json");
  if (!o.bearer_token.empty()) {
    t.headers = curl_slist_append(t.headers, ("Authorization: Bearer " + o.bearer_token).c_str());
  }
  if (!t.request->body.empty()) {
    t.headers = curl_slist_append(t.headers, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.request->body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(t.request->body.size()));
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
}

void finish(Transfer& t, CURLcode code) {
  ++t.response->attempts;
  if (code == CURLE_OK) {
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.response->status);
    // Retry-After, as seconds or an HTTP date, parsed by libcurl (-1: none).
    curl_off_t retry_after = -1;
    if (curl_easy_getinfo(t.easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
        retry_after >= 0) {
      t.retry_after_s = static_cast<double>(retry_after);
    }
  } else if (t.too_large) {
    t.response->error = "the response exceeds " + std::to_string(t.limit >> 20) + " MiB";
  } else {
    t.response->error = t.error[0] ? t.error : curl_easy_strerror(code);
  }
  curl_slist_free_all(t.headers);
  t.headers = nullptr;
  curl_easy_cleanup(t.easy);
  t.easy = nullptr;
}

bool retryable(const HttpResponse& r) {
  return r.error.empty() && (r.status == 429 || r.status == 503);
}

// One round: every transfer in `round`, max_concurrency in flight.
void run_round(std::vector<Transfer*>& round, const HttpOptions& o) {
  std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)> multi(curl_multi_init(),
                                                              curl_multi_cleanup);
  if (!multi) throw Error("libcurl could not make a multi handle");
  const size_t limit = static_cast<size_t>(std::max(1, o.max_concurrency));
  size_t next = 0, in_flight = 0;
  auto add_more = [&] {
    while (next < round.size() && in_flight < limit) {
      start(*round[next], o);
      curl_easy_setopt(round[next]->easy, CURLOPT_PRIVATE, round[next]);
      curl_multi_add_handle(multi.get(), round[next]->easy);
      ++next;
      ++in_flight;
      // Started one at a time, so that the server sees them in order.
      int running = 0;
      curl_multi_perform(multi.get(), &running);
    }
  };
  add_more();
  while (in_flight > 0) {
    int running = 0;
    curl_multi_perform(multi.get(), &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      curl_multi_remove_handle(multi.get(), message->easy_handle);
      finish(*t, message->data.result);
      --in_flight;
    }
    add_more();
    if (in_flight > 0) curl_multi_poll(multi.get(), nullptr, 0, 100, nullptr);
  }
}

}  // namespace

std::vector<HttpResponse> send_all(const std::vector<HttpRequest>& requests,
                                   const HttpOptions& options) {
  init_curl_once();
  std::vector<HttpResponse> responses(requests.size());
  std::vector<Transfer> transfers(requests.size());
  std::vector<Transfer*> round;
  for (size_t i = 0; i < requests.size(); ++i) {
    transfers[i].request = &requests[i];
    transfers[i].response = &responses[i];
    round.push_back(&transfers[i]);
  }
  double backoff = options.retry_backoff_s;
  for (int attempt = 0; !round.empty(); ++attempt) {
    run_round(round, options);
    std::vector<Transfer*> again;
    double wait = backoff;
    for (Transfer* t : round) {
      if (!retryable(*t->response) || attempt >= options.max_retries) continue;
      again.push_back(t);
      if (t->retry_after_s >= 0) wait = std::max(wait, std::min(t->retry_after_s, 30.0));
    }
    if (!again.empty()) std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    backoff *= 2;
    round = std::move(again);
  }
  return responses;
}

HttpResponse send(const HttpRequest& request, const HttpOptions& options) {
  return send_all({request}, options).front();
}

UrlParts split_url(const std::string& url) {
  init_curl_once();
  // The message never repeats the URL: it may hold a password.
  const Error bad(
      "the server URL is not a URL libcurl can parse (expected "
      "http[s]://HOST:PORT/v1[?model=NAME])");
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> handle(curl_url(), curl_url_cleanup);
  if (!handle || curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) throw bad;
  auto part = [&](CURLUPart which) {
    char* text = nullptr;
    if (curl_url_get(handle.get(), which, &text, 0) != CURLUE_OK || !text) return std::string();
    std::string out = text;
    curl_free(text);
    return out;
  };
  UrlParts parts;
  parts.scheme = part(CURLUPART_SCHEME);
  if (parts.scheme != "http" && parts.scheme != "https") throw bad;
  parts.query = part(CURLUPART_QUERY);
  const std::string user = part(CURLUPART_USER), password = part(CURLUPART_PASSWORD);
  curl_url_set(handle.get(), CURLUPART_QUERY, nullptr, 0);
  curl_url_set(handle.get(), CURLUPART_FRAGMENT, nullptr, 0);
  parts.with_credentials = part(CURLUPART_URL);
  curl_url_set(handle.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(handle.get(), CURLUPART_PASSWORD, nullptr, 0);
  parts.clean = part(CURLUPART_URL);
  if (parts.clean.empty()) throw bad;
  parts.had_credentials = !user.empty() || !password.empty();
  // No trailing slash, so that "/models" can be appended.
  while (!parts.clean.empty() && parts.clean.back() == '/') parts.clean.pop_back();
  while (!parts.with_credentials.empty() && parts.with_credentials.back() == '/') {
    parts.with_credentials.pop_back();
  }
  return parts;
}

std::string url_decode(const std::string& text) {
  init_curl_once();
  int length = 0;
  char* decoded = curl_easy_unescape(nullptr, text.c_str(), static_cast<int>(text.size()), &length);
  if (!decoded) return text;
  std::string out(decoded, static_cast<size_t>(length));
  curl_free(decoded);
  return out;
}

}  // namespace detllm::internal
