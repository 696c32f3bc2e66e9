// The ready-made main of detllm::detllm_test_main: CUDA-related environment first,
// then GoogleTest/GoogleMock, then the global determinism environment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "detllm_test/determinism.h"
#include "detllm_test/fixture.h"

int main(int argc, char** argv) {
  // --detllm_update_golden: record golden files instead of comparing (the
  // same as DETLLM_UPDATE_GOLDEN=1); taken out before GoogleTest sees it.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--detllm_update_golden") == 0) {
      setenv("DETLLM_UPDATE_GOLDEN", "1", /*overwrite=*/0);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  // Before anything can create a CUDA context or a cuBLAS handle.
  detllm::use_ctest_gpu_assignment();
  detllm::prepare_process_environment();
  ::testing::InitGoogleMock(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new detllm::DeterminismEnvironment);
  return RUN_ALL_TESTS();
}
