# Install rules and the exported CMake package: find_package(detllm_test CONFIG)
# then gives detllm::core.
include(CMakePackageConfigHelpers)

set(DETLLM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/detllm_test)

install(TARGETS detllm detllm_artifacts detllm_serving detllm_core detllm_gtest detllm_test_main EXPORT detllm_testTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS detllm_torch DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/detllm_test)
# The installed libtorch half of the CLI finds the libtorch it was linked with
# where it is (a torch wheel's torch/lib, a libtorch archive), as the build
# tree's copy does: that directory is its installed run path (Debian's
# /usr/lib is searched anyway).
set_property(TARGET detllm_torch APPEND PROPERTY INSTALL_RPATH "${DETLLM_TORCH_LIBRARY_DIR}")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/detllm_test DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/schemas/ DESTINATION ${CMAKE_INSTALL_DATADIR}/detllm_test/schemas)
install(EXPORT detllm_testTargets NAMESPACE detllm:: DESTINATION ${DETLLM_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/detllm_testConfig.cmake.in
  ${PROJECT_BINARY_DIR}/detllm_testConfig.cmake INSTALL_DESTINATION ${DETLLM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/detllm_testConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/detllm_testConfig.cmake
              ${PROJECT_BINARY_DIR}/detllm_testConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/DetllmTest.cmake
              ${PROJECT_SOURCE_DIR}/cmake/DetllmTorch.cmake
        DESTINATION ${DETLLM_CMAKE_DIR})

# A build-tree package too, for using a build without installing it.
export(EXPORT detllm_testTargets NAMESPACE detllm:: FILE ${PROJECT_BINARY_DIR}/detllm_testTargets.cmake)
