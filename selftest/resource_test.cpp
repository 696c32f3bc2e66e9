// GPU tests under `ctest -j --resource-spec-file`: each uses the GPU CTest
// assigned it (detllm::detllm_test_main sets CUDA_VISIBLE_DEVICES), and no two
// hold the same GPU at once. Skipped outside a resource spec; run by the
// cmake.gpu_resource_groups test with two fake GPUs. Needs no real GPU.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "detllm_test/detllm_test.h"

namespace {

class CtestResources : public ::testing::TestWithParam<int> {};

TEST_P(CtestResources, UseTheirOwnGpu) {
  const char* assigned = std::getenv("CTEST_RESOURCE_GROUP_0_GPUS");
  if (assigned == nullptr) GTEST_SKIP() << "not run under a CTest resource spec";
  const std::string spec = assigned;  // "id:1,slots:1"
  const std::string id = spec.substr(3, spec.find(',') - 3);
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  ASSERT_NE(visible, nullptr);
  EXPECT_EQ(std::string(visible), id);
  // Hold the GPU for a while; a second test on the same GPU would find the lock.
  const std::string lock =
      std::string(std::getenv("DETLLM_RESOURCE_LOCK_DIR")) + "/gpu_" + id + ".lock";
  const int fd = open(lock.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  ASSERT_GE(fd, 0) << "two tests hold GPU " << id << " at once";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  close(fd);
  unlink(lock.c_str());
}

INSTANTIATE_TEST_SUITE_P(Four, CtestResources, ::testing::Range(0, 4));

}  // namespace
