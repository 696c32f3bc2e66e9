# detllm_use_torch(): what a libtorch found by find_package(Torch) needs beyond
# its own package, for this project's build and for consumers of the installed
# package alike (detllm_testConfig.cmake calls it after find_dependency(Torch)):
#   - libtorch 2.14 and later refuse to compile below C++20 (ATen.h: "#error
#     C++20 or later compatible compiler is required"): every target that links
#     `torch` is compiled as C++20; our public headers stay C++17, so a consumer
#     that never includes libtorch's headers itself may stay at C++17;
#   - PyPI's CUDA wheel keeps NCCL, cuDNN, cuBLAS, ... in site-packages/nvidia/*/lib,
#     which libtorch_cuda.so finds at run time through its $ORIGIN run path but the
#     linker does not: -rpath-link points it there, so an older system copy (Debian's
#     libnccl2) is never taken instead ("undefined reference to ncclCommResume");
#   - find_package(Torch) reports Debian's /usr/lib libtorch.so when both are
#     installed (its find_library looks in system paths first) while the `torch`
#     target links the wheel's: DETLLM_TORCH_LIBRARY_DIR says which one is used
#     (and DETLLM_TORCH_CXX_STANDARD the standard its users compile with).
include_guard(GLOBAL)

function(detllm_use_torch)
  if(NOT TARGET torch)
    message(FATAL_ERROR "detllm_use_torch: find_package(Torch) first")
  endif()
  set(standard 17)
  if(Torch_VERSION VERSION_GREATER_EQUAL 2.14)
    set(standard 20)
    set_property(TARGET torch APPEND PROPERTY INTERFACE_COMPILE_FEATURES cxx_std_20)
  endif()
  set(DETLLM_TORCH_CXX_STANDARD ${standard} PARENT_SCOPE)
  file(GLOB nvidia_lib_dirs LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
  if(nvidia_lib_dirs)
    list(JOIN nvidia_lib_dirs ":" joined)
    set_property(TARGET torch APPEND PROPERTY INTERFACE_LINK_OPTIONS "LINKER:-rpath-link,${joined}")
  endif()
  get_filename_component(library_dir "${TORCH_INSTALL_PREFIX}/lib" ABSOLUTE)
  set(DETLLM_TORCH_LIBRARY_DIR "${library_dir}" PARENT_SCOPE)
endfunction()
