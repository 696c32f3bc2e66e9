// A shared object whose constructor writes a file: put inside an AOTInductor
// package in place of its model, it shows whether loading the package ran
// code (aoti_test.cpp: replay runs none from a pack's package).
#include <cstdio>
#include <cstdlib>

namespace {

__attribute__((constructor)) void write_marker() {
  if (const char* path = std::getenv("DETLLM_TEST_CONSTRUCTOR_MARKER")) {
    if (std::FILE* out = std::fopen(path, "w")) {
      std::fputs("the package's code ran\n", out);
      std::fclose(out);
    }
  }
}

}  // namespace
