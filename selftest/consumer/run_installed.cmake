# ctest -R consumer: installs the build tree into a temporary prefix, then
# configures, builds and tests the consumer project against the installed
# package. Arguments: -DBUILD_DIR= -DSOURCE_DIR= -DWORK_DIR= [-DLAUNCHER=]
# [-DPREFIX_PATH=a|b] (the build's own prefix path, '|'-separated)
# [-DCUDA_COMPILER= -DCUDA_ARCHITECTURES=] (for a CUDA libtorch's package)
# [-DSANITIZE=ON] (the build is DETLLM_SANITIZE's)
file(REMOVE_RECURSE ${WORK_DIR})
function(step)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}")
  endif()
  message(STATUS "ok: ${ARGV}")
endfunction()
step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
set(extra)
if(LAUNCHER)
  list(APPEND extra -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
if(SANITIZE)  # instrumented static libraries need the sanitizers' runtime
  list(APPEND extra -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined)
endif()
if(CUDA_COMPILER)
  list(APPEND extra -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER} -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES})
endif()
string(REPLACE "|" "\\;" prefix_path "${WORK_DIR}/prefix|${PREFIX_PATH}")
step(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G Ninja -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_PREFIX_PATH=${prefix_path}" ${extra})
step(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step(${CMAKE_CTEST_COMMAND} --test-dir ${WORK_DIR}/build --output-on-failure)
# The installed CLI runs, its libtorch half (libexec/detllm_test/detllm-torch)
# included, from whichever libtorch the package was built against.
step(${WORK_DIR}/prefix/bin/detllm check --model builtin:tiny --prompt Hello --runs 2
     --max-new-tokens 4 --out ${WORK_DIR}/packs)
