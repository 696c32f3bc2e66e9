// Finding detllm-torch beside `detllm` (or where it was installed) and running
// it as a child that dies with us, arguments unchanged.
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/common.h"

namespace detllm::cli {
namespace {

std::string executable_dir() {
  char path[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) return ".";
  const std::string self(path, static_cast<size_t>(length));
  return self.substr(0, self.find_last_of('/'));
}

volatile sig_atomic_t child_pid = 0;

// Passes a termination signal on to the child; ours ends when it does.
void forward(int signal) {
  if (child_pid > 0) kill(child_pid, signal);
}

// The child's exit status, as this process's: a signal that killed it kills
// us too, so that a shell or CI runner sees what happened.
int exit_status_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    ::signal(signal, SIG_DFL);
    raise(signal);
    return 128 + signal;
  }
  return kBadInput;
}

}  // namespace

int run_torch_tool(int argc, char** argv) {
  std::vector<std::string> candidates;
  if (const char* explicit_path = std::getenv("DETLLM_TORCH_TOOL")) {
    candidates.push_back(explicit_path);
  } else {
    const std::string here = executable_dir();
    candidates = {here + "/detllm-torch", here + "/../libexec/detllm_test/detllm-torch",
                  DETLLM_INSTALLED_TORCH_TOOL};
  }
  for (const std::string& candidate : candidates) {
    if (access(candidate.c_str(), X_OK) != 0) continue;
    std::vector<char*> args(argv, argv + argc);
    args[0] = const_cast<char*>(candidate.c_str());
    args.push_back(nullptr);
    const pid_t parent = getpid();
    int ready[2];  // closed on exec: the parent learns whether exec failed
    if (pipe2(ready, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
    const pid_t child = fork();
    if (child < 0) throw Error(std::string("cannot start detllm-torch: ") + std::strerror(errno));
    if (child == 0) {
      close(ready[0]);
      // A death signal survives exec; checked after setting it, in case the
      // parent died in between.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(kBadInput);
      execv(candidate.c_str(), args.data());
      const int error = errno;
      (void)!write(ready[1], &error, sizeof error);
      _exit(kBadInput);
    }
    close(ready[1]);
    child_pid = child;
    struct sigaction action {};
    action.sa_handler = forward;
    sigemptyset(&action.sa_mask);
    for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(signal, &action, nullptr);
    int error = 0;
    ssize_t got;
    do {
      got = read(ready[0], &error, sizeof error);
    } while (got < 0 && errno == EINTR);
    close(ready[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (got == static_cast<ssize_t>(sizeof error)) {
      throw Error("cannot run '" + candidate + "': " + std::strerror(error));
    }
    return exit_status_of(status);
  }
  std::string looked;
  for (const std::string& candidate : candidates)
    looked += (looked.empty() ? "" : ", ") + candidate;
  throw Error("this subcommand needs detllm-torch (the libtorch half of detllm), not found at " +
              looked + "; set DETLLM_TORCH_TOOL to its path");
}

}  // namespace detllm::cli
