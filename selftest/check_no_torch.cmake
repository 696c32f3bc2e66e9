# Fails if BINARY links libtorch, c10 or a CUDA library (ldd lists what loads).
# Arguments: -DBINARY=
execute_process(COMMAND ldd ${BINARY} OUTPUT_VARIABLE libraries RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ldd ${BINARY} failed")
endif()
if(libraries MATCHES "(libtorch|libc10|libcuda|libcublas|libcudnn|libnvrtc)[^\n]*")
  message(FATAL_ERROR "${BINARY} loads ${CMAKE_MATCH_0}:\n${libraries}")
endif()
message(STATUS "${BINARY} loads no libtorch or CUDA library")
