// A check killed (SIGKILL) at any point leaves only complete packs, and
// temporary folders that the next write into the same root removes; killing
// `detllm` kills the detllm-torch it runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "artifacts/file_util.h"
#include "detllm_test/repro_pack.h"
#include "test_models.h"

namespace detllm {
namespace {

namespace fs = std::filesystem;

// Makes this process the reaper of its orphaned descendants: detllm-torch,
// once `detllm` is killed, is reaped here (and so counts as dead) rather than
// by an init that may never reap it.
void adopt_orphans() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

// Waits for every descendant to end (each killed one's detllm-torch too).
void reap_all() {
  int status = 0;
  while (waitpid(-1, &status, 0) > 0 || errno == EINTR) {
  }
}

// Starts `detllm check` on the padding bug (a failing check writes a pack),
// kills it after `delay` (never, when negative), and waits for it.
void run_and_kill(const std::string& model, const std::string& root,
                  std::chrono::microseconds delay) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(DETLLM_CLI_PATH, DETLLM_CLI_PATH, "check", "--model", model.c_str(), "--prompt", "Hello",
          "--prompt", "A longer prompt so that the others are padded.", "--vary-batch", "1,4",
          "--runs", "2", "--out", root.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (delay.count() >= 0) {
    std::this_thread::sleep_for(delay);
    kill(child, SIGKILL);
  }
  int status = 0;
  waitpid(child, &status, 0);
  reap_all();
}

TEST(KillTest, AKilledCheckLeavesOnlyCompletePacksAndItsTempIsCleanedNextTime) {
  adopt_orphans();
  testing::TempDir dir;
  const std::string root = dir.path() + "/packs";
  const std::string model =
      testing::write_torchscript_model(dir.path(), testing::Defect::kIgnoresPadding);
  // The pack is written at the end of the check, so the kills are spread over
  // the second half of an unkilled run's time, however fast this machine is.
  const auto start = std::chrono::steady_clock::now();
  run_and_kill(model, dir.path() + "/timing", std::chrono::microseconds(-1));
  const auto whole = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  int partials = 0, complete = 0;
  for (int i = 0; i <= 30; ++i) {
    run_and_kill(model, root, whole / 2 + whole * i / 60);
    if (!fs::exists(root)) continue;
    for (const auto& entry : fs::directory_iterator(root)) {
      const std::string name = entry.path().filename().string();
      if (name.front() == '.') {
        EXPECT_THAT(name, ::testing::EndsWith(".partial"));
        ++partials;
        continue;
      }
      // Anything under its final name is whole.
      for (const char* file :
           {"report.json", "report.txt", "env.json", "run_config.json", "determinism_applied.json",
            "trace.jsonl", "diffs/first_divergence.json", "report.html"}) {
        EXPECT_TRUE(fs::exists(entry.path() / file)) << name << " lacks " << file;
      }
      ++complete;
    }
  }
  EXPECT_GT(partials, 0) << "no kill landed while a pack was being written";
  // The next write into the root removes the dead checks' temporary folders.
  { PackWriter next(root, new_run_id()); }
  for (const auto& entry : fs::directory_iterator(root)) {
    EXPECT_THAT(entry.path().filename().string(), ::testing::Not(::testing::EndsWith(".partial")));
  }
  RecordProperty("complete_packs", complete);
  RecordProperty("partial_folders_cleaned", partials);
}

// `detllm` runs detllm-torch as a child with a death signal: a CI step that
// kills detllm (a timeout, a cancelled job) leaves no model running on.
TEST(KillTest, KillingDetllmKillsItsTorchWorker) {
  adopt_orphans();
  testing::TempDir dir;
  const pid_t detllm = fork();
  ASSERT_GE(detllm, 0);
  if (detllm == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(DETLLM_CLI_PATH, DETLLM_CLI_PATH, "check", "--model", "builtin:small", "--prompt",
          "Hello", "--runs", "1000", "--max-new-tokens", "1000", "--ignore-eos", "--out",
          dir.path().c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Its worker, once started: the one child /proc lists.
  pid_t worker = 0;
  for (int i = 0; i < 500 && worker == 0; ++i) {
    std::ifstream children("/proc/" + std::to_string(detllm) + "/task/" + std::to_string(detllm) +
                           "/children");
    children >> worker;
    if (worker == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(worker, 0) << "detllm started no detllm-torch";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // into its runs
  kill(detllm, SIGKILL);
  int status = 0;
  waitpid(detllm, &status, 0);
  // The worker, now this process's child, must die of its death signal, not
  // run its thousand runs on.
  pid_t ended = 0;
  for (int i = 0; i < 1000 && ended == 0; ++i) {
    ended = waitpid(worker, &status, WNOHANG);
    if (ended == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (ended == 0) {
    kill(worker, SIGKILL);
    reap_all();
    FAIL() << "detllm-torch ran on for 10 s after detllm was killed";
  }
  ASSERT_EQ(ended, worker);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  reap_all();
}

}  // namespace
}  // namespace detllm
