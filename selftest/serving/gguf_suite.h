// A test suite against a real server from a pinned Python environment: the
// GGUFs it serves (random weights, make_gguf.py) written once per suite by that
// environment's gguf, and every test skipped, saying why, without it.
#ifndef DETLLM_SELFTEST_SERVING_GGUF_SUITE_H_
#define DETLLM_SELFTEST_SERVING_GGUF_SUITE_H_

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "detllm_test/prompt.h"
#include "test_files.h"

namespace detllm::testing {

class GgufSuite : public ::testing::Test {
 protected:
  // From SetUpTestSuite and TearDownTestSuite: the suite's GGUF, written
  // with `python` (nothing when it is ""): the 2-layer toy, or with
  // make_gguf.py's `flags` (--type, --layers, --width, --checkpoint DIR).
  static void write_gguf(const std::string& python, const std::string& name = "toy",
                         const std::vector<std::string>& flags = {});
  static void remove_gguf();
  // From SetUp: skips the test when `python` is "", with the first line of
  // `note` (where scripts/lib.sh says why the environment is missing).
  static void skip_without(const std::string& python, const std::string& note);
  static std::string gguf(const std::string& name = "toy");  // a GGUF's path
  static std::string dir();                                  // where they are written
  // The real-server suites' prompts (served_checks.h).
  static const std::vector<Prompt>& prompts();

 private:
  static TempDir* dir_;
};

}  // namespace detllm::testing

#endif  // DETLLM_SELFTEST_SERVING_GGUF_SUITE_H_
