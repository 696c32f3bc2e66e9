# Runs the CtestResources tests with `ctest -j 4` and two fake GPUs; fails
# unless all four ran (none skipped) and passed.
file(REMOVE_RECURSE ${LOCK_DIR})
file(MAKE_DIRECTORY ${LOCK_DIR})
execute_process(COMMAND ${CTEST} --test-dir ${TEST_DIR} -R "^Four/CtestResources" -j 4
                        --resource-spec-file ${SPEC} --output-on-failure
                OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc)
message("${out}")
if(NOT rc EQUAL 0 OR out MATCHES "Skipped" OR NOT out MATCHES "100% tests passed")
  message(FATAL_ERROR "the resource-group tests did not all run and pass")
endif()
