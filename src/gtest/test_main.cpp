// The ready-made main of detllm::detllm_test_main: CUDA-related environment first,
// then GoogleTest/GoogleMock, then the global determinism environment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "detllm_test/determinism.h"
#include "detllm_test/fixture.h"

int main(int argc, char** argv) {
  // Before anything can create a CUDA context or a cuBLAS handle.
  detllm::use_ctest_gpu_assignment();
  detllm::prepare_process_environment();
  ::testing::InitGoogleMock(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new detllm::DeterminismEnvironment);
  return RUN_ALL_TESTS();
}
