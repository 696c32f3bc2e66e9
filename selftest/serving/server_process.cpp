// Child processes for the serving tests: spawned with their output in a log,
// waited for with a deadline, killed at the end whatever the test did.
#include "server_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "artifacts/file_util.h"
#include "serving/http_client.h"

extern char** environ;

namespace detllm::testing {
namespace {

std::string last_line(const std::string& text) {
  std::string line;
  for (size_t end = text.size(); end > 0; --end) {
    const size_t begin = text.rfind('\n', end - 1);
    line = text.substr(begin == std::string::npos ? 0 : begin + 1,
                       end - (begin == std::string::npos ? 0 : begin + 1));
    if (!line.empty()) break;
    if (begin == std::string::npos) break;
    end = begin + 1;
  }
  return line;
}

}  // namespace

ServerProcess::ServerProcess(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  const std::string log_path = dir_.path() + "/server.log";
  posix_spawn_file_actions_addopen(&files, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  const int rc = posix_spawnp(&pid_, args[0], &files, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
}

ServerProcess::~ServerProcess() {
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

std::string ServerProcess::log() const {
  std::ifstream in(dir_.path() + "/server.log");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void ServerProcess::check_alive(const std::string& waiting_for) const {
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    throw std::runtime_error("the server exited while waiting for " + waiting_for + ": " +
                             last_line(log()));
  }
}

void ServerProcess::wait_for_file(const std::string& path, double seconds) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!std::ifstream(path).good()) {
    check_alive(path);
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("no " + path + " after " + std::to_string(seconds) +
                               " s: " + last_line(log()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ServerProcess::wait_until_serving(const std::string& url, double seconds) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  internal::HttpOptions quick;
  quick.connect_timeout_s = 1;
  quick.request_timeout_s = 2;
  quick.max_retries = 0;
  while (internal::send({url, ""}, quick).status != 200) {
    check_alive(url);
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(url + " did not answer within " + std::to_string(seconds) +
                               " s: " + last_line(log()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

std::vector<std::string> ToyServer::argv(const std::string& port_file,
                                         std::vector<std::string> flags) {
  std::vector<std::string> argv = {"python3", DETLLM_TOY_SERVER, "--port-file",
                                   port_file, "--lifetime-s",    "300"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

ToyServer::ToyServer(std::vector<std::string> flags)
    : process_(argv(files_.path() + "/port", std::move(flags))) {
  process_.wait_for_file(files_.path() + "/port", 20);
  std::ifstream(files_.path() + "/port") >> port_;
}

LlamaServer::LlamaServer(const std::string& python, const std::string& script,
                         const std::string& gguf, const Options& options)
    : port_(options.port > 0 ? options.port : free_port()),
      process_(argv(python, script, gguf, options, port_)) {
  process_.wait_until_serving(url("/models"), 120);
}

std::vector<std::string> LlamaServer::argv(const std::string& python, const std::string& script,
                                           const std::string& gguf, const Options& options,
                                           int port) {
  std::vector<std::string> argv = {python,       script,
                                   "--model",    gguf,
                                   "--port",     std::to_string(port),
                                   "--parallel", std::to_string(options.slots)};
  if (options.unified) argv.push_back("--kv-unified");
  argv.insert(argv.end(),
              {"--kv-cache-type", options.kv_cache_type, "--flash-attn", options.flash_attn});
  if (!options.chat_template_file.empty()) {
    argv.insert(argv.end(), {"--chat-template-file", options.chat_template_file});
  }
  return argv;
}

}  // namespace detllm::testing
