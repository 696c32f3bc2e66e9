# Packs, goldens, reports and traces are untrusted input (docs/reliability.md#trust):
# the crafted files of issue 30, each run through the detllm command as a user
# would, refused or made harmless; and no write loses a file.
# Arguments: -DDETLLM= -DWORK_DIR=
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
function(expect rc match)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE got OUTPUT_VARIABLE out ERROR_VARIABLE out
                  TIMEOUT 120)
  if(NOT got STREQUAL "${rc}" OR NOT out MATCHES "${match}")
    message(FATAL_ERROR "${ARGN}\nexit ${got} (expected ${rc}), output:\n${out}\n(expected to match: ${match})")
  endif()
  set(output "${out}" PARENT_SCOPE)
  message(STATUS "ok (${got}): ${ARGN}")
endfunction()
# A copy of pack `from` at `to` whose JSON file `name` has `value` at `path`
# (string(JSON SET) arguments, value as JSON text).
function(crafted from to name)
  file(REMOVE_RECURSE ${to})
  file(COPY ${from}/ DESTINATION ${to})
  file(READ ${to}/${name} json)
  string(JSON json SET "${json}" ${ARGN})
  file(WRITE ${to}/${name} "${json}")
endfunction()

# A copy of golden `from` at `to` with `old` replaced by `new` in its header
# line (one line of compact JSON, which string(JSON) would pretty-print).
function(crafted_golden from to old new)
  file(READ ${from} golden)
  string(FIND "${golden}" "\n" end)
  string(SUBSTRING "${golden}" 0 ${end} header)
  string(SUBSTRING "${golden}" ${end} -1 rest)
  string(REPLACE "${old}" "${new}" header "${header}")
  file(WRITE ${to} "${header}${rest}")
endfunction()

expect(0 "repro pack" ${DETLLM} check --prompt Hello --runs 2 --out ${WORK_DIR}/packs)
file(GLOB pack LIST_DIRECTORIES true ${WORK_DIR}/packs/*)

# 2. A local model the pack names is loaded only when named or trusted.
crafted(${pack} ${WORK_DIR}/local_model run_config.json model "\"${WORK_DIR}/local_model/model.pt2\"")
file(WRITE ${WORK_DIR}/local_model/model.pt2 "not loaded")
expect(2 "names the local model .*model.pt2.*--trust-pack-model" ${DETLLM} replay ${WORK_DIR}/local_model)
expect(0 "the named model \"builtin:tiny\" \\(built in\\).*REPRODUCED" ${DETLLM} replay
       ${WORK_DIR}/local_model --model builtin:tiny)
expect(2 "--api-key-env sends a credential, so it needs the server named with --model URL" ${DETLLM}
       replay ${pack} --api-key-env HOME)

# 3. A golden at tier 0 asserts nothing: refused, never "match".
expect(0 "recorded" ${CMAKE_COMMAND} -E env CI= ${DETLLM} check --prompt Hello --golden ${WORK_DIR}/g.jsonl
       --update-golden)
crafted_golden(${WORK_DIR}/g.jsonl ${WORK_DIR}/tier0.jsonl "\"tier\":1" "\"tier\":0")
expect(2 "golden '.*tier0.jsonl' at tier 0 would assert nothing.*the file's settings say tier 0"
       ${DETLLM} check --model builtin:small --prompt Hello --golden ${WORK_DIR}/tier0.jsonl)
expect(2 "at tier 0 would assert nothing" ${CMAKE_COMMAND} -E env CI= ${DETLLM} check --prompt Hello
       --golden ${WORK_DIR}/new_tier0.jsonl --update-golden --tier 0)
# A golden of another model: said, and a failure in strict mode.
crafted_golden(${WORK_DIR}/g.jsonl ${WORK_DIR}/other_model.jsonl "\"name\":\"builtin:tiny\""
               "\"name\":\"builtin:other\"")
expect(0 "PASS: the outputs match golden.*was recorded for model \"builtin:other\", not for this model \"builtin:tiny\""
       ${DETLLM} check --prompt Hello --golden ${WORK_DIR}/other_model.jsonl)
expect(1 "FAIL: GEN_CONTEXT_MISMATCH — golden '.*' was recorded for model \"builtin:other\"" ${DETLLM} check
       --prompt Hello --golden ${WORK_DIR}/other_model.jsonl --mode strict)

# 4. A report whose status contradicts what it found is refused; FAIL exits 1.
crafted(${pack} ${WORK_DIR}/lie report.json category "\"RUN_VARIANCE_FIXED_BATCH\"")
expect(2 "status PASS contradicts its category RUN_VARIANCE_FIXED_BATCH" ${DETLLM} report --in ${WORK_DIR}/lie)
expect(2 "status PASS contradicts its category" ${DETLLM} report --in ${WORK_DIR}/lie --validate-schema)
crafted(${pack} ${WORK_DIR}/lie2 report.json details first_divergence
        "{\"field\": \"generated_token_ids\", \"index\": 0, \"token_index\": 1}")
expect(2 "status PASS contradicts its first_divergence" ${DETLLM} report --in ${WORK_DIR}/lie2 --html)
crafted(${pack} ${WORK_DIR}/fail report.json status "\"FAIL\"")
file(READ ${WORK_DIR}/fail/report.json json)
string(JSON json SET "${json}" category "\"RUN_VARIANCE_FIXED_BATCH\"")
file(WRITE ${WORK_DIR}/fail/report.json "${json}")
expect(1 "detllm report: FAIL" ${DETLLM} report --in ${WORK_DIR}/fail)

# 5. A symlink in a pack that leads out of it is refused.
crafted(${pack} ${WORK_DIR}/link report.json details first_divergence
        "{\"field\": \"generated_token_ids\", \"index\": 0, \"token_index\": 1, \"left_trace\": \"trace.jsonl\", \"right_trace\": \"traces/link.jsonl\"}")
file(READ ${WORK_DIR}/link/report.json json)
string(JSON json SET "${json}" status "\"FAIL\"")
string(JSON json SET "${json}" category "\"RUN_VARIANCE_FIXED_BATCH\"")
file(WRITE ${WORK_DIR}/link/report.json "${json}")
file(WRITE ${WORK_DIR}/outside.jsonl "secret-outside-the-pack\n")
file(CREATE_LINK ${WORK_DIR}/outside.jsonl ${WORK_DIR}/link/traces/link.jsonl SYMBOLIC)
expect(2 "the report's trace 'traces/link.jsonl' is outside" ${DETLLM} report --in ${WORK_DIR}/link --html
       --out ${WORK_DIR}/link.html)
if(EXISTS ${WORK_DIR}/link.html)
  message(FATAL_ERROR "report --html wrote a page from a pack whose trace leads outside it")
endif()
file(REMOVE ${WORK_DIR}/link/report.json)
file(CREATE_LINK ${WORK_DIR}/fail/report.json ${WORK_DIR}/link/report.json SYMBOLIC)
expect(2 "the pack's report.json 'report.json' is outside" ${DETLLM} report --in ${WORK_DIR}/link)

# 6. Control characters from a file reach the terminal escaped.
string(ASCII 27 esc)
crafted(${pack} ${WORK_DIR}/escapes report.json details model
        "\"builtin:tiny\\u001b[2J\\u001b[H\\ndetllm report: PASS\"")
expect(0 "model: builtin:tiny\\\\x1b\\[2J\\\\x1b\\[H\\\\ndetllm report: PASS" ${DETLLM} report --in ${WORK_DIR}/escapes)
if(output MATCHES "${esc}" OR output MATCHES "\ndetllm report: PASS")
  message(FATAL_ERROR "an escape or a line break from the report reached the terminal:\n${output}")
endif()

# 7. Counts, lines and nesting from files are bounded.
crafted(${pack} ${WORK_DIR}/threads run_config.json replay determinism threads 1000000)
expect(2 "thread count 1000000 is invalid: it must be from 1 to 1024" ${DETLLM} replay ${WORK_DIR}/threads)
file(CREATE_LINK /dev/zero ${WORK_DIR}/zero.jsonl SYMBOLIC)
expect(2 "zero.jsonl' line 1 is longer than 128 MiB" ${DETLLM} diff --left ${WORK_DIR}/zero.jsonl
       --right ${pack}/trace.jsonl)
string(REPEAT "[" 150000 open)
string(REPEAT "]" 150000 close)
file(WRITE ${WORK_DIR}/deep.json "{\"status\": \"PASS\", \"details\": {\"runs\": ${open}${close}}}")
expect(2 "is not valid JSON: it nests deeper than 128 levels" ${DETLLM} report --in ${WORK_DIR}/deep.json)

# 8. diff --out never deletes a folder that is not a pack.
file(WRITE ${WORK_DIR}/victim/notes.md "precious")
expect(2 "refusing to replace '.*victim': it holds 'notes.md', which no pack has" ${DETLLM} diff
       --left ${pack} --right ${pack} --out ${WORK_DIR}/victim)
file(READ ${WORK_DIR}/victim/notes.md kept)
if(NOT kept STREQUAL "precious")
  message(FATAL_ERROR "diff --out changed a folder that is not a pack")
endif()
expect(0 "no divergence" ${DETLLM} diff --left ${pack} --right ${pack} --out ${WORK_DIR}/diff_pack)
expect(0 "no divergence" ${DETLLM} diff --left ${pack} --right ${pack} --out ${WORK_DIR}/diff_pack)

# 9. A write that fails (here: past the file size limit) keeps the old file
# and says why; ignoring SIGXFSZ makes the write return EFBIG, as a full disk
# returns ENOSPC.
expect(0 "env.json" ${DETLLM} env --out ${WORK_DIR}/full/env.json)
file(READ ${WORK_DIR}/full/env.json good_env)
expect(2 "cannot write environment snapshot '.*env.json': File too large" sh -c
       "trap '' XFSZ && ulimit -f 1 && exec \"$0\" env --out \"$1\"" ${DETLLM} ${WORK_DIR}/full/env.json)
file(READ ${WORK_DIR}/full/env.json env_after)
if(NOT env_after STREQUAL good_env)
  message(FATAL_ERROR "a failed env --out changed the file it was to replace")
endif()
file(WRITE ${WORK_DIR}/full/report.txt "the old report")
expect(2 "cannot write the report text '.*report.txt': File too large" sh -c
       "trap '' XFSZ && ulimit -f 0 && exec \"$0\" report --in \"$1\" --out \"$2\"" ${DETLLM} ${pack}
       ${WORK_DIR}/full/report.txt)
file(READ ${WORK_DIR}/full/report.txt report_after)
file(GLOB partials ${WORK_DIR}/full/*partial*)
if(NOT report_after STREQUAL "the old report" OR partials)
  message(FATAL_ERROR "a failed report --out left '${report_after}' and ${partials}")
endif()

# 10. A prompt that is not UTF-8 is stored byte for byte, and replays.
string(ASCII 255 254 bad_bytes)
expect(0 "repro pack" ${DETLLM} check --prompt "${bad_bytes}Hi" --runs 2 --out ${WORK_DIR}/bytes)
file(GLOB bytes_pack LIST_DIRECTORIES true ${WORK_DIR}/bytes/*)
file(READ ${bytes_pack}/run_config.json config)
string(JSON stored GET "${config}" prompts 0 text_base64)
if(NOT stored STREQUAL "//5IaQ==")
  message(FATAL_ERROR "the prompt's bytes are stored as '${stored}'")
endif()
expect(0 "REPRODUCED" ${DETLLM} replay ${bytes_pack} --out ${WORK_DIR}/replays)
crafted(${bytes_pack} ${WORK_DIR}/edited_prompt run_config.json prompts 0 text_base64 "\"//5IaA==\"")
expect(2 "prompt #0 is not the prompt that ran" ${DETLLM} replay ${WORK_DIR}/edited_prompt)
