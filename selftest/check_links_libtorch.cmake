# Fails unless BINARY loads libtorch (libtorch.so, or Debian's
# libtorch_cpu.so.1.13) from LIBRARY_DIR, the libtorch this build was
# configured with (the torch wheel's for build-2x/, not a system copy).
# Arguments: -DBINARY= -DLIBRARY_DIR=
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ldd ${BINARY} OUTPUT_VARIABLE libraries RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ldd ${BINARY} failed")
endif()
if(NOT libraries MATCHES "libtorch(_cpu)?\\.so[^ ]* => ([^ ]+)")
  message(FATAL_ERROR "${BINARY} loads no libtorch:\n${libraries}")
endif()
get_filename_component(loaded "${CMAKE_MATCH_2}" REALPATH)
get_filename_component(loaded_dir "${loaded}" DIRECTORY)
get_filename_component(wanted_dir "${LIBRARY_DIR}" REALPATH)
string(FIND "${loaded_dir}/" "${wanted_dir}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "${BINARY} loads ${loaded}, not the libtorch of ${LIBRARY_DIR}")
endif()
message(STATUS "${BINARY} loads ${loaded}")
