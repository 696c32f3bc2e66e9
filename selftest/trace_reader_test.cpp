// The torch-free artifact layer, in a test binary that links only
// detllm::artifacts: the streaming trace reader's strictness, the streamed diff
// against the in-memory one, detLLM-compatible traces and reports, and
// environment comparison.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "detllm_test/diff.h"
#include "detllm_test/env_snapshot.h"
#include "detllm_test/error.h"
#include "detllm_test/golden.h"
#include "detllm_test/report.h"
#include "detllm_test/repro_pack.h"
#include "detllm_test/trace.h"

namespace detllm {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// A directory removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ::testing::TempDir() + "detllm_artifacts_XXXXXX";
    path_ = mkdtemp(pattern.data());
  }
  ~ScratchDir() { internal::remove_tree(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The message of the detllm::Error that reading `text` as a trace throws.
std::string read_error(const ScratchDir& dir, const std::string& text) {
  const std::string path = dir.file("t.jsonl");
  write_file(path, text);
  try {
    read_trace(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TraceRow row(int index, TokenIds generated, std::vector<double> scores = {}) {
  TraceRow r;
  r.prompt_id = "p" + std::to_string(index);
  r.input_token_ids = {1, 2, 3};
  r.input_token_ids_hash = token_ids_hash(r.input_token_ids);
  r.generated_token_ids = std::move(generated);
  if (!scores.empty()) r.scores = std::move(scores);
  r.tokenizer_id = "detllm/bytes";
  r.decoding_max_new_tokens = 4;
  r.prompt_index = index;
  return r;
}

TEST(TraceReader, TokenIdsMustBeIntegers) {
  ScratchDir dir;
  const std::string head = R"({"prompt_id": "x", "generated_token_ids": )";
  EXPECT_THAT(read_error(dir, head + "[1.9]}\n"),
              HasSubstr("line 1: field 'generated_token_ids' item 0 must be an integer token id, "
                        "not a number with a fraction or an exponent (1.9)"));
  EXPECT_THAT(
      read_error(dir, head + "[4, 1e27]}\n"),
      HasSubstr("item 1 must be an integer token id, not a number with a fraction or an exponent"));
  EXPECT_THAT(read_error(dir, head + "[1.0]}\n"), HasSubstr("must be an integer token id"));
  EXPECT_THAT(read_error(dir, head + R"(["5"]})"
                                     "\n"),
              HasSubstr("not a string (\"5\")"));
  EXPECT_THAT(read_error(dir, head + "[18446744073709551615]}\n"),
              HasSubstr("not an integer out of range"));
  EXPECT_THAT(read_error(dir, head + "[1]}\n" + head + "[true]}\n"), HasSubstr("line 2:"));
  EXPECT_THAT(read_error(dir, head + "[1], \"input_token_ids\": [2.5]}\n"),
              HasSubstr("field 'input_token_ids' item 0"));
  EXPECT_THAT(read_error(dir, head + "[1], \"scores\": [-0.5, \"x\"]}\n"),
              HasSubstr("field 'scores' item 1 must be a number"));
  EXPECT_THAT(read_error(dir, head + "[1], \"decoding_top_k\": 2.5}\n"),
              HasSubstr("field 'decoding_top_k' must be a 32-bit integer"));
  EXPECT_THAT(read_error(dir, R"({"prompt_id": 7, "generated_token_ids": [1]})"
                              "\n"),
              HasSubstr("field 'prompt_id' must be a string, not an integer"));
}

// A golden file is a trace behind two header lines; the artifact layer reads,
// writes and diffs it without libtorch.
TEST(Golden, WritesReadsAndDiffsAsATrace) {
  ScratchDir dir;
  Golden g;
  g.settings = {{"tier", 2}, {"batch_size", 1}};
  g.model = {{"name", "builtin:tiny"}};
  g.env = {{"artifact_type", "env_snapshot"},
           {"schema_version", "1.0"},
           {"blas", {{"vendor", "netlib"}}}};
  g.rows = {row(0, {1, 2, 3}, {-0.5, -0.25, -1.0}), row(1, {4, 5}, {-2.0, -3.0})};
  const std::string path = dir.file("golden/nested/g.jsonl");
  write_golden(path, g);
  const Golden back = read_golden(path);
  EXPECT_EQ(back.settings, g.settings);
  EXPECT_EQ(back.env["blas"]["vendor"], "netlib");
  ASSERT_EQ(back.rows.size(), 2u);
  EXPECT_EQ(back.rows[1].generated_token_ids, (TokenIds{4, 5}));
  EXPECT_EQ(read_trace(path).size(), 2u);  // the header lines are skipped
  write_trace(dir.file("same.jsonl"), g.rows);
  EXPECT_FALSE(
      diff_trace_files(path, dir.file("same.jsonl"), {Category::kGoldenMismatch, true}).divergence);

  Golden changed = g;
  changed.rows[1].generated_token_ids = {4, 6};
  changed.env["blas"]["vendor"] = "OpenBLAS";
  EXPECT_THAT(golden_changes(g, changed),
              ::testing::ElementsAre("recorded in another environment: blas.vendor",
                                     "prompt #1: generated token 1 changed (5 -> 6)"));
  EXPECT_THAT(golden_changes(std::nullopt, g), ::testing::ElementsAre("new golden: 2 prompts"));
  EXPECT_THAT(golden_changes(g, g), ::testing::ElementsAre("unchanged"));
  // ULP tolerance of the diff.
  Golden drift = g;
  (*drift.rows[0].scores)[1] = std::nextafter(float(-0.25), 0.0f);
  DiffOptions tier2{Category::kGoldenMismatch, true};
  EXPECT_TRUE(diff_traces(g.rows, drift.rows, tier2));
  tier2.score_ulps = 1;
  EXPECT_FALSE(diff_traces(g.rows, drift.rows, tier2));
  EXPECT_EQ(float32_ulps(-0.25, std::nextafter(float(-0.25), 0.0f)), 1);
}

TEST(TraceReader, RejectsTruncatedTrailingAndNonObjectLines) {
  ScratchDir dir;
  const std::string good = to_json(row(0, {1, 2})).dump();
  EXPECT_THAT(read_error(dir, good + "\n" + good.substr(0, 30)), HasSubstr("line 2 is truncated"));
  EXPECT_THAT(read_error(dir, good + " " + good + "\n"), HasSubstr("line 1 is not valid JSON"));
  EXPECT_THAT(read_error(dir, "[1, 2]\n"), HasSubstr("must be a JSON object, not an array"));
  EXPECT_THAT(read_error(dir, R"({"prompt_id": "x"})"
                              "\n"),
              HasSubstr("missing required field 'generated_token_ids'"));
  EXPECT_THAT(read_error(dir, "NaN\n"), HasSubstr("line 1 is not valid JSON"));
}

TEST(TraceReader, ReadsRowsAcrossBufferBoundariesAndLongLines) {
  ScratchDir dir;
  Trace trace;
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    TokenIds ids(1 + rng() % 3000);
    for (int64_t& id : ids) id = rng() % 50257;
    std::vector<double> scores(ids.size());
    for (double& s : scores) s = -std::ldexp(static_cast<double>(rng()), -30);
    trace.push_back(row(i, ids, scores));
  }
  TokenIds huge(400000, 7);  // one line of about 1.2 MB, longer than a read
  trace.push_back(row(300, huge));
  write_trace(dir.file("t.jsonl"), trace);
  const Trace back = read_trace(dir.file("t.jsonl"));
  ASSERT_EQ(back.size(), trace.size());
  for (size_t i = 0; i < trace.size(); ++i) {
    EXPECT_EQ(back[i].generated_token_ids, trace[i].generated_token_ids) << i;
    EXPECT_EQ(back[i].scores, trace[i].scores) << i;  // bit-exact doubles
  }
}

// The streamed file diff and the in-memory diff agree on every kind of
// difference, including the most fundamental one coming in a later row.
TEST(DiffTraceFiles, AgreesWithTheInMemoryDiff) {
  ScratchDir dir;
  const Trace base = {row(0, {1, 2, 3}, {-1, -2, -3}), row(1, {4, 5}, {-4, -5}), row(2, {6}, {-6})};
  std::vector<Trace> variants;
  variants.push_back(base);
  Trace tokens = base;
  tokens[0].generated_token_ids[2] = 9;
  variants.push_back(tokens);
  Trace token_then_prompt = tokens;  // a token differs in row 0, the prompt in row 2
  token_then_prompt[2].prompt_id = "other";
  variants.push_back(token_then_prompt);
  Trace scores = base;
  scores[1].scores->at(1) = std::nextafter(-5.0, 0.0);
  variants.push_back(scores);
  Trace decoding = base;
  decoding[2].decoding_top_k = 5;
  variants.push_back(decoding);
  Trace retokenized = base;
  retokenized[1].input_token_ids = {1, 2};
  variants.push_back(retokenized);
  variants.push_back(Trace(base.begin(), base.begin() + 2));
  write_trace(dir.file("base.jsonl"), base);
  for (size_t v = 0; v < variants.size(); ++v) {
    write_trace(dir.file("v.jsonl"), variants[v]);
    const DiffOptions options{Category::kRunVarianceFixedBatch, true, "a", "b"};
    const auto in_memory = diff_traces(base, variants[v], options);
    const DiffResult streamed =
        diff_trace_files(dir.file("base.jsonl"), dir.file("v.jsonl"), options);
    ASSERT_EQ(in_memory.has_value(), streamed.divergence.has_value()) << v;
    if (!in_memory) continue;
    EXPECT_EQ(to_json(*in_memory), to_json(*streamed.divergence)) << v;
  }
  EXPECT_EQ(diff_traces(base, token_then_prompt)->category, Category::kGenContextMismatch);
  EXPECT_EQ(diff_traces(base, scores, {Category::kRunVarianceFixedBatch, true})->category,
            Category::kScoreVariance);
}

// detLLM's required fields only: diffed as detLLM diffs them.
TEST(DiffTraceFiles, TracesWithOnlyDetllmsRequiredFields) {
  ScratchDir dir;
  write_file(dir.file("l.jsonl"), R"({"prompt_id": "a", "generated_token_ids": [1, 2]})"
                                  "\n"
                                  R"({"prompt_id": "b", "generated_token_ids": [3]})"
                                  "\n");
  write_file(dir.file("same.jsonl"),
             R"({"generated_token_ids": [1, 2], "prompt_id": "a", "unknown": {"x": [1.5]}})"
             "\n"
             R"({"prompt_id": "b", "generated_token_ids": [3], "scores": null})"
             "\n");
  write_file(dir.file("tokens.jsonl"), R"({"prompt_id": "a", "generated_token_ids": [1, 2]})"
                                       "\n"
                                       R"({"prompt_id": "b", "generated_token_ids": [4]})"
                                       "\n");
  write_file(dir.file("decoding.jsonl"),
             R"({"prompt_id": "a", "generated_token_ids": [1, 2], "decoding_temperature": 1.0})"
             "\n"
             R"({"prompt_id": "b", "generated_token_ids": [3]})"
             "\n");
  EXPECT_FALSE(diff_trace_files(dir.file("l.jsonl"), dir.file("same.jsonl")).divergence);
  const auto tokens = diff_trace_files(dir.file("l.jsonl"), dir.file("tokens.jsonl")).divergence;
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->category, Category::kRunVarianceFixedBatch);
  EXPECT_EQ(tokens->index, 1);
  EXPECT_EQ(tokens->token_index, 0);
  // Absent on one side, present on the other: detLLM calls that a mismatch.
  const auto decoding =
      diff_trace_files(dir.file("l.jsonl"), dir.file("decoding.jsonl")).divergence;
  ASSERT_TRUE(decoding);
  EXPECT_EQ(decoding->category, Category::kGenContextMismatch);
}

TEST(DiffTraceFiles, BadInputInEitherFileIsAnError) {
  ScratchDir dir;
  write_file(dir.file("a.jsonl"), R"({"prompt_id": "a", "generated_token_ids": [1e27]})"
                                  "\n");
  write_file(dir.file("b.jsonl"), R"({"prompt_id": "a", "generated_token_ids": [-5e30]})"
                                  "\n");
  write_file(dir.file("c.jsonl"), R"({"prompt_id": "a", "generated_token_ids": [1]})"
                                  "\n");
  write_file(dir.file("d.jsonl"), R"({"prompt_id": "a", "generated_token_ids": [1.9]})"
                                  "\n");
  EXPECT_THROW(diff_trace_files(dir.file("a.jsonl"), dir.file("b.jsonl")), Error);
  try {
    diff_trace_files(dir.file("c.jsonl"), dir.file("d.jsonl"));
    FAIL() << "[1.9] vs [1] agreed";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("d.jsonl' line 1: field 'generated_token_ids' item 0"));
  }
  EXPECT_THROW(diff_trace_files(dir.file("c.jsonl"), dir.file("missing.jsonl")), Error);
}

TEST(Report, ReadsDetllmPythonReports) {
  const Report pass = report_from_json(json::parse(
      R"({"artifact_type": "report", "schema_version": "1.0", "status": "PASS",
          "category": "PASS", "details": {"first_divergence": null}})"));
  EXPECT_TRUE(pass.passed);
  EXPECT_EQ(pass.category, Category::kPass);
  EXPECT_THAT(render_text(pass), HasSubstr("detllm report: PASS\nPASS: the traces agree"));
  const Report fail = report_from_json(json::parse(
      R"({"status": "FAIL", "category": "RUN_VARIANCE_FIXED_BATCH",
          "details": {"first_divergence": {"index": 1, "token_index": 3,
                                           "left_token": 17, "right_token": 42}}})"));
  EXPECT_FALSE(fail.passed);
  const std::string text = render_text(fail);
  EXPECT_THAT(text, HasSubstr("detllm report: FAIL — RUN_VARIANCE_FIXED_BATCH"));
  EXPECT_THAT(text, HasSubstr("prompt #1 at generated token 3:\n    left: 17\n    right: 42"));
  const Report mismatch = report_from_json(json::parse(
      R"({"status": "FAIL", "category": "GEN_CONTEXT_MISMATCH",
          "details": {"first_divergence": {"reason": "trace lengths differ"}}})"));
  EXPECT_THAT(render_text(mismatch),
              HasSubstr("FAIL: GEN_CONTEXT_MISMATCH — trace lengths differ"));
  // detllm_test 0.1 wrote NONE for a pass.
  EXPECT_EQ(report_from_json(json::parse(R"({"status": "PASS", "category": "NONE"})")).category,
            Category::kPass);
  EXPECT_THROW(report_from_json(json::parse(R"({"category": "MAYBE"})")), Error);
}

TEST(EnvSnapshot, NamesTheLikelyCausesOfADifference) {
  const json left = {{"libtorch", {{"version", "1.13.0"}}},
                     {"blas", {{"vendor", "netlib"}, {"library", "/usr/lib/blas/libblas.so.3"}}},
                     {"cpu", {{"isa", {"avx2", "fma"}}}},
                     {"torch", {{"runtime", {{"float32_matmul_precision", "highest"}}}}},
                     {"env_vars", json::object()},
                     {"fingerprint", "a"}};
  json right = left;
  right["blas"] = {{"vendor", "OpenBLAS"},
                   {"library", "/usr/lib/openblas-pthread/libblas.so.3"},
                   {"core", "Haswell"}};
  right["torch"]["runtime"]["float32_matmul_precision"] = "high";
  right["env_vars"]["OMP_NUM_THREADS"] = "4";
  right["fingerprint"] = "b";
  EXPECT_THAT(
      env_differences(left, right),
      ::testing::ElementsAre("blas.core", "blas.library", "blas.vendor", "env_vars.OMP_NUM_THREADS",
                             "torch.runtime.float32_matmul_precision"));
  const std::vector<std::string> causes = env_likely_causes(left, right);
  EXPECT_THAT(causes, ::testing::ElementsAre(
                          "BLAS core: (absent) -> Haswell",
                          "BLAS library: /usr/lib/blas/libblas.so.3 -> "
                          "/usr/lib/openblas-pthread/libblas.so.3",
                          "BLAS vendor: netlib -> OpenBLAS",
                          "determinism control float32_matmul_precision: highest -> high",
                          "environment variable OMP_NUM_THREADS: (absent) -> 4"));
  EXPECT_TRUE(env_likely_causes(left, left).empty());
  EXPECT_EQ(env_fingerprint(left), env_fingerprint([&] {
              json copy = left;
              copy["fingerprint"] = "other";
              return copy;
            }()));
}

TEST(PackWriter, ReplacesAnEarlierPackOnlyWhenAsked) {
  ScratchDir dir;
  const json report = {{"artifact_type", "report"}, {"status", "PASS"}, {"category", "PASS"}};
  {
    PackWriter pack(dir.path(), "diff");
    pack.write_json("report.json", report);
    pack.write_text("report.txt", "first");
    pack.write_text("diffs/first_divergence.json", "{}");
    pack.commit();
  }
  {
    PackWriter pack(dir.path(), "diff");
    pack.write_text("report.txt", "second");
    EXPECT_THROW(pack.commit(), Error);
  }
  PackWriter pack(dir.path(), "diff");
  pack.write_json("report.json", report);
  pack.write_text("report.txt", "third");
  pack.commit(/*replace_existing=*/true);
  std::ifstream in(dir.file("diff/report.txt"));
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "third");
  EXPECT_EQ(internal::list_directory(dir.path()), std::vector<std::string>{"diff"});
}

// A folder that is not a pack is never replaced: someone's files, a pack with
// a file no pack holds, a report.json that is not a report, a symlink.
TEST(PackWriter, NeverReplacesAFolderThatIsNotAPack) {
  ScratchDir dir;
  const auto refused = [&](const std::string& name) {
    PackWriter pack(dir.path(), name);
    pack.write_text("report.txt", "new");
    try {
      pack.commit(/*replace_existing=*/true);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("replaced");
  };
  std::filesystem::create_directories(dir.file("victim"));
  std::ofstream(dir.file("victim/notes.md")) << "precious";
  EXPECT_THAT(refused("victim"), HasSubstr("it holds 'notes.md', which no pack has"));
  std::filesystem::create_directories(dir.file("other/sub/deeper"));
  std::ofstream(dir.file("other/report.json")) << R"({"artifact_type": "report"})";
  std::ofstream(dir.file("other/sub/deeper/x.json")) << "{}";
  EXPECT_THAT(refused("other"), HasSubstr("which no pack has"));
  std::filesystem::create_directories(dir.file("config"));
  std::ofstream(dir.file("config/report.json")) << R"({"artifact_type": "settings"})";
  EXPECT_THAT(refused("config"), HasSubstr("it has no report.json of a pack"));
  std::filesystem::create_directory_symlink(dir.file("victim"), dir.file("link"));
  EXPECT_THAT(refused("link"), HasSubstr("it is not a folder"));
  std::ofstream(dir.file("file")) << "a file";
  EXPECT_THAT(refused("file"), HasSubstr("it is not a folder"));
  EXPECT_EQ(internal::read_file(dir.file("victim/notes.md"), "notes"), "precious");
  EXPECT_EQ(internal::read_file(dir.file("file"), "file"), "a file");
  std::filesystem::create_directories(dir.file("empty"));
  EXPECT_EQ(refused("empty"), "replaced");
}

// Every write replaces the old file only when the new one is complete, and a
// failed write says the system's reason. A file size limit (SIGXFSZ ignored)
// makes write() fail as a full disk does, in a child so the limit stays there.
TEST(AtomicWrite, AFailedWriteKeepsTheOldFileAndSaysWhy) {
  ScratchDir dir;
  const std::string path = dir.file("sub/env.json");
  internal::write_file_atomically(path, "the old file", "environment snapshot");
  EXPECT_EQ(internal::read_file(path, "file"), "the old file");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{4096, 4096};
    setrlimit(RLIMIT_FSIZE, &limit);
    try {
      internal::write_file_atomically(path, std::string(100000, 'x'), "environment snapshot");
    } catch (const Error& e) {
      _exit(std::string(e.what()).find("cannot write environment snapshot '" + path +
                                       "': File too large") == 0
                ? 0
                : 1);
    }
    _exit(2);  // no error: the failed write went unnoticed
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(internal::read_file(path, "file"), "the old file");
  EXPECT_EQ(internal::list_directory(dir.file("sub")), std::vector<std::string>{"env.json"});
  write_file(dir.file("plain"), "a file, not a folder");
  EXPECT_THAT([&] { internal::write_file_atomically(dir.file("plain/x"), "x", "the report"); },
              ::testing::ThrowsMessage<Error>(
                  HasSubstr("cannot write the report '" + dir.file("plain/x") + "': ")));
}

TEST(PathInside, FollowsSymlinksAndRefusesWhatLeadsOut) {
  ScratchDir dir;
  std::filesystem::create_directories(dir.file("pack/traces"));
  write_file(dir.file("pack/trace.jsonl"), "");
  write_file(dir.file("secret"), "secret");
  std::filesystem::create_symlink(dir.file("secret"), dir.file("pack/traces/out.jsonl"));
  std::filesystem::create_symlink("../trace.jsonl", dir.file("pack/traces/in.jsonl"));
  std::filesystem::create_directories(dir.file("pack-evil"));
  const std::string pack = dir.file("pack");
  EXPECT_EQ(internal::path_inside(pack, "traces/in.jsonl", "trace"),
            std::filesystem::canonical(dir.file("pack/trace.jsonl")).string());
  for (const char* outside : {"traces/out.jsonl", "../secret", "/etc/passwd", "../pack-evil/x"}) {
    EXPECT_THAT([&] { internal::path_inside(pack, outside, "the report's trace"); },
                ::testing::ThrowsMessage<Error>(HasSubstr("is outside")))
        << outside;
  }
  EXPECT_NO_THROW(internal::path_inside(pack, "traces/missing.jsonl", "trace"));
}

TEST(Printable, EscapesEveryControlCharacter) {
  EXPECT_EQ(internal::printable("a\x1b[2J\rb\nc\td\x7f\xc2\x9b"
                                "31m é"),
            "a\\x1b[2J\\x0db\\nc\\td\\x7f\\u009b31m é");
  EXPECT_EQ(internal::printable("line\nnext\tcol\x1b", /*keep_newlines=*/true),
            "line\nnext\tcol\\x1b");
}

TEST(ParseJson, BoundsNesting) {
  std::string why;
  EXPECT_TRUE(internal::parse_json(std::string(128, '[') + std::string(128, ']')).is_array());
  EXPECT_TRUE(internal::parse_json(std::string(150000, '[') + std::string(150000, ']'), &why)
                  .is_discarded());
  EXPECT_EQ(why, "it nests deeper than 128 levels");
  EXPECT_TRUE(internal::parse_json("{\"a\": ", &why).is_discarded());
  EXPECT_THAT(why, HasSubstr("parse error"));
}

TEST(LineReader, RefusesALineWithoutEnd) {
  EXPECT_THAT([] { read_trace("/dev/zero"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("line 1 is longer than 128 MiB")));
}

// A report read from a file is refused when its status contradicts what it
// found, and its strings are printed escaped, one line each.
TEST(ReportFromJson, RefusesALyingStatusAndEscapesItsStrings) {
  Report failing;
  failing.passed = false;
  failing.category = Category::kRunVarianceFixedBatch;
  failing.runs = 2;
  Divergence d;
  d.category = Category::kRunVarianceFixedBatch;
  d.field = "generated_token_ids";
  d.index = 0;
  d.token_index = 1;
  d.left_label = "run 0";
  d.right_label = "run 1";
  d.left_text = "\n";
  failing.first_divergence = d;
  json lie = to_json(failing);
  lie["status"] = "PASS";
  EXPECT_THAT([&] { report_from_json(lie); },
              ::testing::ThrowsMessage<Error>(
                  HasSubstr("status PASS contradicts its category RUN_VARIANCE_FIXED_BATCH")));
  lie["category"] = "PASS";
  EXPECT_THAT([&] { report_from_json(lie); },
              ::testing::ThrowsMessage<Error>(HasSubstr("contradicts its first_divergence")));
  lie["details"]["tier_effective"] = 0;  // observed, not asserted: a PASS may hold it
  EXPECT_NO_THROW(report_from_json(lie));
  lie["status"] = "MAYBE";
  EXPECT_THAT([&] { report_from_json(lie); },
              ::testing::ThrowsMessage<Error>(HasSubstr("is neither PASS nor FAIL")));

  json crafted = to_json(failing);
  crafted["details"]["model"] = "tiny\x1b[2J\ndetllm report: PASS";
  crafted["details"]["notes"] = {"\r\x1b[1A"};
  const Report read = report_from_json(crafted);
  EXPECT_EQ(read.first_divergence->left_text, "\n");  // printed quoted: kept as it is
  const std::string text = render_text(read);
  EXPECT_THAT(text, HasSubstr("tiny\\x1b[2J\\ndetllm report: PASS"));
  EXPECT_THAT(text, HasSubstr("\\x0d\\x1b[1A"));
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

// A served model's tokenizer is named by its vocabulary's fingerprint; goldens
// recorded when it was named by the model ("server:toy") still compare, on
// their prompts' ids, and two different vocabularies do not.
TEST(DiffTraces, AServersOldTokenizerNameStillCompares) {
  TraceRow row;
  row.prompt_id = "p";
  row.input_token_ids = {1, 2};
  row.input_token_ids_hash = token_ids_hash(row.input_token_ids);
  row.generated_token_ids = {3};
  Trace old_golden{row}, now{row}, other{row};
  old_golden[0].tokenizer_id = "server:toy";
  now[0].tokenizer_id = "server:7731d7231edf4f4c";
  other[0].tokenizer_id = "server:0123456789abcdef";
  EXPECT_FALSE(diff_traces(old_golden, now, {}));
  const auto d = diff_traces(now, other, {});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->category, Category::kTokenizationMismatch);
  other[0].tokenizer_id = "detllm/bytes";
  EXPECT_TRUE(diff_traces(old_golden, other, {}));
}

}  // namespace
}  // namespace detllm
