# detllm_discover_tests(<target> [GPU] [ARTIFACTS_DIR <dir>] [PROPERTIES <name> <value>...]
#                       [<other gtest_discover_tests options>...])
#
# Registers a GoogleTest executable's tests with CTest (gtest_discover_tests)
# for determinism testing:
#   - DETLLM_ARTIFACTS_DIR points at <dir> (default: <build dir>/artifacts), where
#     each test keeps the repro packs of its failed assertions in <Suite.Test>/;
#   - a failing test's `failures.txt` (every failed assertion's message, with its
#     pack's path) is attached with ATTACHED_FILES_ON_FAIL, for CDash;
#   - listing the tests may take 60 s (DISCOVERY_TIMEOUT, unless given);
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
  # Labels are a list, which gtest_discover_tests cannot pass through: they are
  # set below, with the attachments, together with the caller's own LABELS.
  set(labels determinism)
  if(arg_GPU)
    list(APPEND labels gpu)
  endif()
  set(properties ENVIRONMENT "DETLLM_ARTIFACTS_DIR=${arg_ARTIFACTS_DIR}")
  list(LENGTH arg_PROPERTIES count)
  set(i 0)
  while(i LESS count)
    math(EXPR j "${i} + 1")
    list(GET arg_PROPERTIES ${i} name)
    list(GET arg_PROPERTIES ${j} value)
    if(name STREQUAL "LABELS")
      list(APPEND labels ${value})
    else()
      list(APPEND properties ${name} ${value})
    endif()
    math(EXPR i "${i} + 2")
  endwhile()
  set(gpu_slot "")
  if(arg_GPU)
    set(gpu_slot "RESOURCE_GROUPS gpus:1")
  endif()
  # Included here, not at file scope: GoogleTest.cmake leaves a variable that
  # gtest_discover_tests needs in the including directory's scope only, and
  # add_subdirectory users call this from their own directory.
  include(GoogleTest)
  # Listing the tests loads libtorch, which takes seconds on a loaded CI machine
  # or under a sanitizer: more than gtest_discover_tests' default of 5.
  set(discovery "")
  if(NOT "DISCOVERY_TIMEOUT" IN_LIST arg_UNPARSED_ARGUMENTS)
    set(discovery DISCOVERY_TIMEOUT 60)
  endif()
  gtest_discover_tests(${target} ${arg_UNPARSED_ARGUMENTS} ${discovery} PROPERTIES ${properties})

  # Test names are only known once discovered, so the labels and attachment of each test's
  # failures.txt is set when CTest reads the discovered list: a script CTest
  # includes after gtest's, naming each test's file from its gtest filter the
  # way the harness names its directory (detllm::test_artifact_dir).
  set(script "${CMAKE_CURRENT_BINARY_DIR}/${target}_detllm_attach.cmake")
  file(WRITE "${script}" "
file(GLOB discovered \"${CMAKE_CURRENT_BINARY_DIR}/${target}*_tests.cmake\")
foreach(file IN LISTS discovered)
  get_filename_component(name \"\${file}\" NAME)
  # <target>[N]_tests.cmake (CMake 3.25) or <target>_<hash>_tests.cmake (CMake 4).
  if(NOT name MATCHES \"^${target}(\\\\[[0-9]+\\\\]|[-_][0-9a-zA-Z]+)_tests\\\\.cmake$\")
    continue()
  endif()
  file(STRINGS \"\${file}\" tests REGEX \"^add_test\")
  foreach(test IN LISTS tests)
    if(test MATCHES \"^add_test\\\\(\\\\[=\\\\[(.*)\\\\]=\\\\] .*--gtest_filter=([^]]*)\\\\]==\\\\]\")
      set(test_name \"\${CMAKE_MATCH_1}\")
      string(REGEX REPLACE \"[^A-Za-z0-9._-]\" \"_\" directory \"\${CMAKE_MATCH_2}\")
      set_tests_properties(\"\${test_name}\" PROPERTIES
        ATTACHED_FILES_ON_FAIL \"${arg_ARTIFACTS_DIR}/\${directory}/failures.txt\"
        LABELS \"${labels}\" ${gpu_slot})
    endif()
  endforeach()
endforeach()
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${script}")
endfunction()
