// A server the serving tests start themselves: a child process on
// 127.0.0.1, bounded in time, killed when the object goes.
#ifndef DETLLM_SELFTEST_SERVING_SERVER_PROCESS_H_
#define DETLLM_SELFTEST_SERVING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "test_files.h"

namespace detllm::testing {

class ServerProcess {
 public:
  // Starts argv[0] (looked up in PATH) with its arguments; its output goes to
  // log() (read it when a test fails).
  explicit ServerProcess(std::vector<std::string> argv);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Waits up to `seconds` for `path` to exist; throws if the process died or
  // the time ran out (naming its log's last line).
  void wait_for_file(const std::string& path, double seconds) const;
  // Waits up to `seconds` until GET `url` answers 200.
  void wait_until_serving(const std::string& url, double seconds) const;
  const std::string& dir() const { return dir_.path(); }
  std::string log() const;

 private:
  void check_alive(const std::string& waiting_for) const;
  TempDir dir_;
  pid_t pid_ = 0;
};

// A TCP port on 127.0.0.1 that nothing listens on now.
int free_port();

// toy_server.py run by Debian's python3: its port is read from its port file.
class ToyServer {
 public:
  explicit ToyServer(std::vector<std::string> flags);
  std::string url(const std::string& query = "", const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + "/v1" + query;
  }
  const std::string& dir() const { return process_.dir(); }

 private:
  static std::vector<std::string> argv(const std::string& port_file,
                                       std::vector<std::string> flags);
  TempDir files_;
  ServerProcess process_;
  int port_ = 0;
};

// llama.cpp's own server (llama_server.py, run by the pinned xllamacpp
// environment's `python`) on `gguf`, on a free 127.0.0.1 port: continuous
// batching over `slots` slots, one thread, its KV cache per slot unless
// `unified`. The tests and the benchmark start it the same way.
class LlamaServer {
 public:
  struct Options {
    int slots = 8;
    bool unified = false;
    int port = 0;  // 0: a free one
    // A Jinja chat template that replaces the GGUF's own; "": the GGUF's.
    std::string chat_template_file;
    // The KV cache's storage type: "f16" (llama.cpp's default) or "f32".
    std::string kv_cache_type = "f16";
    // llama.cpp's flash-attention kernel: "auto" (its default), "on", "off".
    std::string flash_attn = "auto";
  };
  LlamaServer(const std::string& python, const std::string& script, const std::string& gguf,
              const Options& options);
  std::string url(const std::string& query = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1" + query;
  }
  int port() const { return port_; }
  const ServerProcess& process() const { return process_; }

 private:
  static std::vector<std::string> argv(const std::string& python, const std::string& script,
                                       const std::string& gguf, const Options& options, int port);
  int port_;
  ServerProcess process_;
};

}  // namespace detllm::testing

#endif  // DETLLM_SELFTEST_SERVING_SERVER_PROCESS_H_
