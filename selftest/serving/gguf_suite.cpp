// The GGUF a real-server suite serves, written once per suite, and the skip
// where its environment is missing.
#include "gguf_suite.h"

#include <cstdlib>
#include <fstream>

#include "served_checks.h"

namespace detllm::testing {

TempDir* GgufSuite::dir_ = nullptr;

void GgufSuite::write_gguf(const std::string& python, const std::string& name,
                           const std::vector<std::string>& flags) {
  if (python.empty()) return;
  std::string command = python + " " + DETLLM_MAKE_GGUF + " " + gguf(name);
  for (const std::string& flag : flags) command += " " + flag;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

void GgufSuite::remove_gguf() {
  delete dir_;
  dir_ = nullptr;
}

void GgufSuite::skip_without(const std::string& python, const std::string& note) {
  if (!python.empty()) return;
  std::ifstream why(note);
  std::string line;
  std::getline(why, line);
  GTEST_SKIP() << "no pinned environment for this server (scripts/test makes it): " << line;
}

std::string GgufSuite::gguf(const std::string& name) { return dir() + "/" + name + ".gguf"; }

std::string GgufSuite::dir() {
  if (dir_ == nullptr) dir_ = new TempDir;
  return dir_->path();
}

const std::vector<Prompt>& GgufSuite::prompts() { return served_prompts(); }

}  // namespace detllm::testing
