# demo.bad_input: detllm_demo on a missing model must exit 2 and name the problem.
execute_process(COMMAND ${DEMO} /nonexistent/model.pt RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "file does not exist")
  message(FATAL_ERROR "expected exit 2 naming the missing file, got ${rc}: ${err}")
endif()
