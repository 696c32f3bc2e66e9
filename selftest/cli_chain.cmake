# detllm check -> report -> diff on the pack it wrote, then diff against a
# truncated trace; schema validation of a passing and a failing pack.
# Arguments: -DDETLLM= -DWORK_DIR= -DBUGGY_MODEL= -DGOOD_MODEL=
file(REMOVE_RECURSE ${WORK_DIR})
function(expect rc match)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE got OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT got STREQUAL "${rc}" OR NOT out MATCHES "${match}")
    message(FATAL_ERROR "${ARGN}\nexit ${got} (expected ${rc}), output:\n${out}\n(expected to match: ${match})")
  endif()
  message(STATUS "ok (${got}): ${ARGN}")
endfunction()
expect(0 "detllm report: PASS" ${DETLLM} check --prompt Hello --prompt "Two words" --runs 2 --tier 2
       --validate-schema --out ${WORK_DIR}/packs)
file(GLOB packs LIST_DIRECTORIES true ${WORK_DIR}/packs/*)
list(GET packs 0 pack)
expect(0 "PASS: 2 runs agree \\(tier 2\\)" ${DETLLM} report --in ${pack}/report.json)
expect(0 "" ${DETLLM} report --in ${pack}/report.json --out ${WORK_DIR}/report.txt)
file(READ ${WORK_DIR}/report.txt text)
if(NOT text MATCHES "detllm report: PASS")
  message(FATAL_ERROR "report --out wrote: ${text}")
endif()
expect(0 "environment fields that differ: none.*no divergence: 2 rows agree" ${DETLLM} diff --left ${pack} --right ${pack})
# detLLM's diff pack: report.json (category PASS), report.txt, and with a
# divergence diffs/first_divergence.json; --report prints the report.
expect(0 "detllm report: PASS\nPASS: the traces agree" ${DETLLM} diff --left ${pack} --right ${pack}
       --out ${WORK_DIR}/diff_pack --report --validate-schema)
file(READ ${WORK_DIR}/diff_pack/report.json diff_report)
string(JSON category GET "${diff_report}" category)
if(NOT category STREQUAL "PASS" OR NOT EXISTS ${WORK_DIR}/diff_pack/report.txt
   OR EXISTS ${WORK_DIR}/diff_pack/diffs/first_divergence.json)
  message(FATAL_ERROR "diff --out wrote: ${diff_report}")
endif()
# Temperature as OpenAI's API, vLLM and transformers read it: 0 (the default)
# is greedy, and its trace equals the default run's, decoding settings
# included; anything above 0 samples, temperature 1 too (it was greedy before
# 2026-12-06), and its settings differ. --top-p without a temperature above 0
# is refused rather than ignored.
expect(0 "repro pack" ${DETLLM} run --prompt Hello --prompt "Two words" --out ${WORK_DIR}/greedy)
expect(0 "repro pack" ${DETLLM} run --prompt Hello --prompt "Two words" --temperature 0
       --out ${WORK_DIR}/temperature0)
expect(0 "repro pack" ${DETLLM} run --prompt Hello --prompt "Two words" --temperature 1
       --out ${WORK_DIR}/temperature1)
expect(2 "--top-p and --top-k shape sampling, which --temperature 0"
       ${DETLLM} run --prompt Hello --top-p 0.5 --out ${WORK_DIR}/refused)
expect(2 "--temperature must be 0 .greedy. or above .sampling."
       ${DETLLM} run --prompt Hello --temperature -1 --out ${WORK_DIR}/refused)
file(GLOB greedy LIST_DIRECTORIES true ${WORK_DIR}/greedy/*)
file(GLOB temperature0 LIST_DIRECTORIES true ${WORK_DIR}/temperature0/*)
file(GLOB temperature1 LIST_DIRECTORIES true ${WORK_DIR}/temperature1/*)
file(READ ${temperature1}/run_config.json sampled_config)
string(JSON sampled GET "${sampled_config}" decoding do_sample)
if(NOT sampled)
  message(FATAL_ERROR "--temperature 1 did not sample: ${sampled_config}")
endif()
expect(0 "no divergence: 2 rows agree" ${DETLLM} diff --left ${greedy}/trace.jsonl
       --right ${temperature0}/trace.jsonl)
# Controls turned off on purpose reach the check's record.
expect(0 "detllm report: PASS" ${DETLLM} check --prompt Hello --runs 2 --no-deterministic-algorithms
       --allow-tf32 --out ${WORK_DIR}/controls_off)
file(GLOB controls_off LIST_DIRECTORIES true ${WORK_DIR}/controls_off/*)
file(READ ${controls_off}/run_config.json controls_off_config)
string(JSON algorithms GET "${controls_off_config}" replay determinism deterministic_algorithms)
string(JSON tf32 GET "${controls_off_config}" replay determinism allow_tf32)
if(algorithms OR NOT tf32)
  message(FATAL_ERROR "--no-deterministic-algorithms --allow-tf32 did not reach run_config.json: "
                      "${controls_off_config}")
endif()
expect(1 "GEN_CONTEXT_MISMATCH" ${DETLLM} diff --left ${greedy}/trace.jsonl
       --right ${temperature1}/trace.jsonl)
# Token ids are integers: 1.9 or 1e27 is bad input naming the file and line.
set(row_head "{\"prompt_id\": \"a\", \"generated_token_ids\": ")
file(WRITE ${WORK_DIR}/ints.jsonl "${row_head}[1]}\n")
file(WRITE ${WORK_DIR}/fraction.jsonl "${row_head}[1.9]}\n")
file(WRITE ${WORK_DIR}/huge.jsonl "${row_head}[1e27]}\n")
file(WRITE ${WORK_DIR}/huge_negative.jsonl "${row_head}[-5e30]}\n")
expect(2 "fraction.jsonl' line 1: field 'generated_token_ids' item 0 must be an integer token id"
       ${DETLLM} diff --left ${WORK_DIR}/ints.jsonl --right ${WORK_DIR}/fraction.jsonl)
expect(2 "huge.jsonl' line 1: field 'generated_token_ids' item 0 must be an integer"
       ${DETLLM} diff --left ${WORK_DIR}/huge.jsonl --right ${WORK_DIR}/huge_negative.jsonl)
file(READ ${pack}/traces/run_1.jsonl trace)
string(FIND "${trace}" "\n" first_line_end)
string(SUBSTRING "${trace}" 0 ${first_line_end} first_line)
file(WRITE ${WORK_DIR}/one_row.jsonl "${first_line}\n")
expect(1 "GEN_CONTEXT_MISMATCH" ${DETLLM} diff --left ${pack}/trace.jsonl --right ${WORK_DIR}/one_row.jsonl
       --out ${WORK_DIR}/diff_fail)
if(NOT EXISTS ${WORK_DIR}/diff_fail/diffs/first_divergence.json)
  message(FATAL_ERROR "a failing diff --out wrote no diffs/first_divergence.json")
endif()
string(SUBSTRING "${trace}" 0 40 cut)
file(WRITE ${WORK_DIR}/truncated.jsonl "${first_line}\n${cut}")
expect(2 "line 2 is truncated" ${DETLLM} diff --left ${pack}/trace.jsonl --right ${WORK_DIR}/truncated.jsonl)
expect(2 "report '.*' is not valid JSON" ${DETLLM} report --in ${WORK_DIR}/truncated.jsonl)
# --validate-schema catches an artifact that breaks its schema.
file(READ ${pack}/report.json report)
string(JSON report REMOVE "${report}" category)
string(JSON report SET "${report}" status 5)
file(WRITE ${WORK_DIR}/bad_report.json "${report}")
expect(2 "Missing required property 'category'" ${DETLLM} report --in ${WORK_DIR}/bad_report.json --validate-schema)
expect(0 "detllm report" ${DETLLM} report --in ${pack}/report.json --validate-schema)
expect(0 "repro pack" ${DETLLM} run --prompt Hello --validate-schema --out ${WORK_DIR}/packs)
# A failing pack (with diffs/first_divergence.json) validates too: exit 1, not 2.
expect(1 "BATCH_VARIANCE" ${DETLLM} check --model ${BUGGY_MODEL} --prompt Hello
       --prompt "A longer prompt so that the others are padded." --runs 2 --vary-batch 1,4
       --validate-schema --out ${WORK_DIR}/failing)
# detllm replay: the failing pack reproduces (0); with the correct model it vanishes (3).
file(GLOB failing_packs LIST_DIRECTORIES true ${WORK_DIR}/failing/*)
list(GET failing_packs 0 failing_pack)
# The pack names a local model file: loaded only when trusted or named.
expect(2 "names the local model .*example_model_ignores_padding.pt.*--trust-pack-model" ${DETLLM}
       replay ${failing_pack} --out ${WORK_DIR}/replays)
expect(0 "loading the pack's model .*, trusted with --trust-pack-model.*REPRODUCED\n  in the pack: FAIL: BATCH_VARIANCE"
       ${DETLLM} replay ${failing_pack} --trust-pack-model --out ${WORK_DIR}/replays)
expect(3 "VANISHED.*differs from the pack's: SHA-256" ${DETLLM} replay ${failing_pack}
       --model ${GOOD_MODEL} --out ${WORK_DIR}/replays)
expect(2 "cannot read run_config" ${DETLLM} replay ${WORK_DIR}/nothing)
# report --html of a pack finds both sides' traces through the files the
# divergence names (traces/batch_4.jsonl), and shows both token streams.
expect(1 "" ${DETLLM} report --in ${failing_pack} --html --out ${WORK_DIR}/failing.html)
file(READ ${WORK_DIR}/failing.html html)
if(NOT html MATCHES "Token streams" OR NOT html MATCHES "batch size 4")
  message(FATAL_ERROR "report --html of ${failing_pack} has no token streams")
endif()
file(READ ${failing_pack}/report.json failing_report)
string(JSON right_trace GET "${failing_report}" details batch_divergence right_trace)
if(NOT right_trace STREQUAL "traces/batch_4.jsonl")
  message(FATAL_ERROR "batch_divergence.right_trace is '${right_trace}'")
endif()
string(JSON outside SET "${failing_report}" details batch_divergence right_trace "\"../../elsewhere.jsonl\"")
file(MAKE_DIRECTORY ${WORK_DIR}/outside_pack)
file(WRITE ${WORK_DIR}/outside_pack/report.json "${outside}")
expect(2 "the report's trace '../../elsewhere.jsonl' is outside" ${DETLLM} report
       --in ${WORK_DIR}/outside_pack --html)
# Golden files: recorded, matched (exit 0), diffed as a trace; the buggy model diverges (1).
# (CI may be set where this runs: recording is refused under CI, so it is unset for this step.)
expect(0 "recorded:\n  new golden: 2 prompts" ${CMAKE_COMMAND} -E env --unset=CI
       ${DETLLM} check --model ${GOOD_MODEL} --prompt Hello
       --prompt "A longer prompt so that the others are padded." --batch-size 4
       --golden ${WORK_DIR}/golden/padded.jsonl --update-golden)
expect(0 "PASS: the outputs match golden" ${DETLLM} check --model ${GOOD_MODEL} --prompt Hello
       --prompt "A longer prompt so that the others are padded." --golden ${WORK_DIR}/golden/padded.jsonl)
# A tolerance: auto from the golden's calibration passes the same model
# exactly. Teacher forcing scores one sequence per pass, so the padding bug
# (a batch effect) is not seen, and the report says batching was not
# exercised; a tolerance that is not one is refused (exit 2).
expect(0 "PASS: the outputs match golden" ${DETLLM} check --model ${GOOD_MODEL} --prompt Hello
       --prompt "A longer prompt so that the others are padded." --golden ${WORK_DIR}/golden/padded.jsonl
       --tolerance auto)
expect(0 "batching was not exercised" ${DETLLM} check --model ${BUGGY_MODEL} --prompt Hello
       --prompt "A longer prompt so that the others are padded." --golden ${WORK_DIR}/golden/padded.jsonl
       --tolerance logprob=1e-4 --out ${WORK_DIR}/tolerance_packs --validate-schema)
expect(2 "tolerance \"loose\" is not understood" ${DETLLM} check --model ${GOOD_MODEL} --prompt Hello
       --golden ${WORK_DIR}/golden/padded.jsonl --tolerance loose)
expect(1 "GOLDEN_MISMATCH" ${DETLLM} check --model ${BUGGY_MODEL} --prompt Hello
       --prompt "A longer prompt so that the others are padded." --golden ${WORK_DIR}/golden/padded.jsonl
       --out ${WORK_DIR}/golden_packs --validate-schema)
file(GLOB golden_packs LIST_DIRECTORIES true ${WORK_DIR}/golden_packs/*)
list(GET golden_packs 0 golden_pack)
expect(1 "" ${DETLLM} report --in ${golden_pack} --html --out ${WORK_DIR}/golden.html)
file(READ ${WORK_DIR}/golden.html html)
if(NOT html MATCHES "Token streams")
  message(FATAL_ERROR "report --html of ${golden_pack} has no token streams")
endif()
expect(0 "no divergence: 2 rows agree" ${DETLLM} diff --left ${WORK_DIR}/golden/padded.jsonl
       --right ${WORK_DIR}/golden/padded.jsonl)
# Another major schema version is refused.
string(JSON future SET "${report}" schema_version "\"2.0\"")
file(WRITE ${WORK_DIR}/future_report.json "${future}")
expect(2 "schema version \"2.0\"; this detllm reads schema 1.x" ${DETLLM} report --in ${WORK_DIR}/future_report.json)
# --prompt-file: a string, or an object with prompt or text, per line; blank lines skipped.
file(WRITE ${WORK_DIR}/prompts.jsonl "\"plain string\"\n\n{\"prompt\": \"from prompt\"}\n{\"text\": \"from text\", \"id\": 3}\n")
expect(0 "prompts: 3" ${DETLLM} check --prompt-file ${WORK_DIR}/prompts.jsonl --runs 2 --out ${WORK_DIR}/packs)
file(WRITE ${WORK_DIR}/malformed.jsonl "\"ok\"\n{not json\n")
expect(2 "prompt file '.*malformed.jsonl' line 2 is not valid JSON" ${DETLLM} run --prompt-file ${WORK_DIR}/malformed.jsonl)
