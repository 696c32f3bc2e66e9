# Every ```cpp block of README.md and docs/*.md as a translation unit of the
# detllm_doc_snippets target, which the docs.snippets_compile test builds: a
# snippet that stops compiling against the public headers fails a test.
# A block with a main(), a TEST or a class is a file of its own; any other
# block is the body of a function in which the names the docs take as given
# are declared: `model` (builtin:tiny, unless the block loads its own),
# `prompts`, and GOLDEN_DIR.
function(detllm_doc_snippets)
  file(GLOB docs "${PROJECT_SOURCE_DIR}/docs/*.md")
  list(PREPEND docs "${PROJECT_SOURCE_DIR}/README.md")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${docs})
  set(out "${CMAKE_CURRENT_BINARY_DIR}/doc_snippets")
  file(REMOVE_RECURSE "${out}")
  # CMake lists are ';'-separated: every ';' of the docs travels as @SEMI@
  # and is put back as each file is written.
  string(CONCAT preamble "// Generated from the docs by selftest/doc_snippets.cmake: do not edit.\n"
         "#include <iostream>\n#include <memory>\n#include <string>\n#include <vector>\n"
         "#include \"detllm_test/detllm_test.h\"\n#define GOLDEN_DIR \"golden\"\n"
         "static const std::vector<std::string> prompts = {\"Choose one: A or B.\"}@SEMI@\n")
  set(sources "")
  foreach(doc IN LISTS docs)
    get_filename_component(name "${doc}" NAME_WE)
    string(MAKE_C_IDENTIFIER "${name}" name)
    file(READ "${doc}" text)
    string(REPLACE ";" "@SEMI@" text "${text}")
    string(REPLACE "\n" ";" lines "${text}")
    set(inside FALSE)
    set(count 0)
    foreach(line IN LISTS lines)
      if(NOT inside AND line MATCHES "^```cpp")
        set(inside TRUE)
        set(block "")
      elseif(inside AND line MATCHES "^```")
        set(inside FALSE)
        math(EXPR count "${count} + 1")
        set(file "${out}/${name}_${count}.cpp")
        string(FIND "${block}" "int main(" has_main)
        string(REGEX MATCH "\n(TEST|TEST_F|class |struct )" file_scope "\n${block}")
        if(NOT has_main EQUAL -1 OR file_scope)
          # A main() of its own is renamed, so that the snippets link as one.
          string(REPLACE "int main(" "int ${name}_${count}_main(" block "${block}")
          set(code "${preamble}// ${doc}, block ${count}\n${block}")
        else()
          set(model "  auto model = detllm::load_model(\"builtin:tiny\")@SEMI@\n")
          if(block MATCHES "auto model =")
            set(model "")
          endif()
          string(CONCAT code "${preamble}// ${doc}, block ${count}\n"
                 "[[maybe_unused]] static void ${name}_${count}() {\n${model}${block}}\n")
        endif()
        string(REPLACE "@SEMI@" ";" code "${code}")
        file(WRITE "${file}" "${code}")
        list(APPEND sources "${file}")
      elseif(inside)
        string(APPEND block "${line}\n")
      endif()
    endforeach()
  endforeach()
  add_library(detllm_doc_snippets OBJECT EXCLUDE_FROM_ALL ${sources})
  target_link_libraries(detllm_doc_snippets PRIVATE detllm::gtest)
  add_test(NAME docs.snippets_compile
           COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target detllm_doc_snippets)
  set_tests_properties(docs.snippets_compile PROPERTIES LABELS cmake)
endfunction()
