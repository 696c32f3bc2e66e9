# detllm_discover_tests(<target> [GPU] [ARTIFACTS_DIR <dir>] [PROPERTIES <name> <value>...]
#                       [<other gtest_discover_tests options>...])
#
# Registers a GoogleTest executable's tests with CTest (gtest_discover_tests)
# for determinism testing:
#   - DETLLM_ARTIFACTS_DIR points at <dir> (default: <build dir>/artifacts), where
#     each test keeps the repro packs of its failed assertions in <Suite.Test>/;
#   - every test is labelled `determinism`; with GPU also `gpu`, and asks CTest
#     for one slot of a `gpus` resource, so that `ctest -j N --resource-spec-file
#     gpus.json` never runs two GPU tests on one GPU (the test uses the GPU CTest
#     assigned: see detllm::use_ctest_gpu_assignment).
include_guard(GLOBAL)

function(detllm_discover_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "GPU" "ARTIFACTS_DIR" "PROPERTIES")
  if(NOT arg_ARTIFACTS_DIR)
    set(arg_ARTIFACTS_DIR "${CMAKE_CURRENT_BINARY_DIR}/artifacts")
  endif()
  set(properties ENVIRONMENT "DETLLM_ARTIFACTS_DIR=${arg_ARTIFACTS_DIR}")
  if(arg_GPU)
    list(APPEND properties LABELS "determinism\\;gpu" RESOURCE_GROUPS "gpus:1")
  else()
    list(APPEND properties LABELS determinism)
  endif()
  # Included here, not at file scope: GoogleTest.cmake leaves a variable that
  # gtest_discover_tests needs in the including directory's scope only, and
  # add_subdirectory users call this from their own directory.
  include(GoogleTest)
  gtest_discover_tests(${target} ${arg_UNPARSED_ARGUMENTS} PROPERTIES ${properties} ${arg_PROPERTIES})
endfunction()
