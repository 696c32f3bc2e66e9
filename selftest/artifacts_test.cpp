// Traces, diffs, reports, packs, hashing: the artifact layer without a model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "artifacts/file_util.h"
#include "artifacts/sha256.h"
#include "detllm_test/diff.h"
#include "detllm_test/error.h"
#include "detllm_test/prompt.h"
#include "detllm_test/report.h"
#include "detllm_test/repro_pack.h"
#include "detllm_test/trace.h"
#include "test_files.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

TEST(Sha256, MatchesFipsVectors) {
  EXPECT_EQ(internal::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(internal::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(internal::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(internal::sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(PromptId, HashesTextOrCompactIds) {
  EXPECT_EQ(prompt_id(Prompt("abc")), internal::sha256_hex("abc"));
  EXPECT_EQ(prompt_id(Prompt(TokenIds{1, 2, 3})), internal::sha256_hex("[1,2,3]"));
  EXPECT_EQ(token_ids_hash({1, 2, 3}), internal::sha256_hex("[1,2,3]"));
}

TEST(ByteTokenizer, RoundTripsUtf8AndShowsUnknownIds) {
  ByteTokenizer tokenizer;
  const std::string text = "héllo, 世界 🙂";
  EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text);
  EXPECT_EQ(tokenizer.encode("A"), TokenIds{65});
  EXPECT_EQ(tokenizer.decode({65, 300}), "A<|300|>");
}

TraceRow make_row(int index, TokenIds generated, std::vector<double> scores = {}) {
  TraceRow row;
  row.prompt_id = internal::sha256_hex("p" + std::to_string(index));
  row.input_token_ids = {1, 2, 3};
  row.input_token_ids_hash = token_ids_hash(row.input_token_ids);
  row.generated_token_ids = std::move(generated);
  if (!scores.empty()) row.scores = std::move(scores);
  row.tokenizer_id = "detllm/bytes";
  row.decoding_max_new_tokens = 4;
  row.prompt_index = index;
  row.logit_margins = std::vector<double>(row.generated_token_ids.size(), 1.0);
  return row;
}

TEST(Trace, RoundTripsThroughJsonLines) {
  testing::TempDir dir;
  Trace trace = {make_row(0, {5, 6, 7}, {-0.1, -0.2, -0.30000000000000004}), make_row(1, {8})};
  const std::string path = dir.path() + "/trace.jsonl";
  write_trace(path, trace);
  Trace back = read_trace(path);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].generated_token_ids, (TokenIds{5, 6, 7}));
  ASSERT_TRUE(back[0].scores.has_value());
  EXPECT_EQ((*back[0].scores)[2], -0.30000000000000004);  // bit-exact doubles
  EXPECT_FALSE(back[1].scores.has_value());
  EXPECT_FALSE(diff_traces(trace, back, {Category::kRunVarianceFixedBatch, true}));
}

TEST(Trace, RowKeysAreSortedAndCarryDetllmFields) {
  const std::string line = to_json(make_row(0, {5})).dump();
  for (const char* key :
       {"prompt_id", "input_token_ids", "input_token_ids_hash", "generated_token_ids", "scores",
        "tokenizer_id", "decoding_max_new_tokens", "decoding_do_sample", "decoding_temperature",
        "decoding_top_p", "decoding_top_k"}) {
    EXPECT_THAT(line, HasSubstr(std::string("\"") + key + "\"")) << key;
  }
  EXPECT_LT(line.find("\"batch_position\""), line.find("\"generated_token_ids\""));
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(Trace, ReadErrorsNameFileLineAndProblem) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/t.jsonl";
  const std::string good = to_json(make_row(0, {1})).dump();
  EXPECT_THROW(
      {
        try {
          read_trace(dir.path() + "/missing.jsonl");
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), HasSubstr("does not exist"));
          throw;
        }
      },
      Error);
  write_file(path, good + "\n{not json}\n");
  try {
    read_trace(path);
    FAIL() << "malformed line accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("line 2 is not valid JSON"));
  }
  write_file(path, good + "\n" + good.substr(0, good.size() / 2));
  try {
    read_trace(path);
    FAIL() << "truncated line accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("line 2 is truncated"));
  }
  write_file(path, "{\"prompt_id\": \"x\"}\n");
  try {
    read_trace(path);
    FAIL() << "row without generated_token_ids accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing required field 'generated_token_ids'"));
  }
  write_file(path, "{\"prompt_id\": \"x\", \"generated_token_ids\": \"oops\"}\n");
  EXPECT_THROW(read_trace(path), Error);
  write_file(path, "[1,2]\n");
  EXPECT_THROW(read_trace(path), Error);
  write_file(
      path, "\n" + good + "\n\n{\"prompt_id\":\"y\",\"generated_token_ids\":[1],\"extra\":true}\n");
  EXPECT_EQ(read_trace(path).size(), 2u);  // blank lines skipped, unknown fields ignored
}

TEST(Diff, CategoriesFollowDiffOrder) {
  Trace base = {make_row(0, {1, 2, 3}, {-1, -2, -3}), make_row(1, {4, 5}, {-4, -5})};
  EXPECT_FALSE(diff_traces(base, base));

  Trace shorter = {base[0]};
  EXPECT_EQ(diff_traces(base, shorter)->category, Category::kGenContextMismatch);

  Trace other_prompt = base;
  other_prompt[1].prompt_id = "other";
  EXPECT_EQ(diff_traces(base, other_prompt)->category, Category::kGenContextMismatch);

  Trace retokenized = base;
  retokenized[1].input_token_ids = {9};
  retokenized[0].generated_token_ids = {7};  // a token difference too: tokenization wins
  EXPECT_EQ(diff_traces(base, retokenized)->category, Category::kTokenizationMismatch);

  Trace other_tokenizer = base;
  other_tokenizer[0].tokenizer_id = "gpt2";
  EXPECT_EQ(diff_traces(base, other_tokenizer)->field, "tokenizer_id");

  Trace sampled = base;
  sampled[0].decoding_do_sample = true;
  EXPECT_EQ(diff_traces(base, sampled)->category, Category::kGenContextMismatch);

  Trace flipped = base;
  flipped[1].generated_token_ids = {4, 6};
  auto d =
      diff_traces(base, flipped, {Category::kBatchVariance, false, "batch size 1", "batch size 8"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->category, Category::kBatchVariance);
  EXPECT_EQ(d->index, 1);
  EXPECT_EQ(d->token_index, 1);
  EXPECT_EQ(d->left_token, 5);
  EXPECT_EQ(d->right_token, 6);
  EXPECT_EQ(*d->left_logprob, -5);
  EXPECT_EQ(d->right_label, "batch size 8");

  Trace truncated = base;
  truncated[0].generated_token_ids = {1, 2};
  d = diff_traces(base, truncated);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->token_index, 2);
  EXPECT_EQ(d->right_token, -1);
}

TEST(Diff, ScoresCountOnlyWhenAskedAndBitwise) {
  Trace base = {make_row(0, {1, 2}, {-1.0, -2.0})};
  Trace nudged = base;
  (*nudged[0].scores)[1] = std::nextafter(-2.0, 0.0);  // one ULP
  EXPECT_FALSE(diff_traces(base, nudged, {Category::kRunVarianceFixedBatch, false}));
  auto d = diff_traces(base, nudged, {Category::kRunVarianceFixedBatch, true});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->category, Category::kScoreVariance);
  EXPECT_EQ(d->token_index, 1);
  EXPECT_EQ(d->left_token, d->right_token);
}

TEST(Diff, NamesNearTiesAndDecodesText) {
  Trace base = {make_row(0, {'a', 'b', 'c'})};
  Trace other = base;
  other[0].generated_token_ids[2] = 'x';
  other[0].logit_margins[2] = 1e-4;
  auto d = diff_traces(base, other);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->near_tie);
  describe_text(*d, base, ByteTokenizer());
  EXPECT_EQ(d->left_text, "c");
  EXPECT_EQ(d->right_text, "x");
  EXPECT_EQ(d->context_text, "ab");
  const std::string text = render_divergence_text(*d);
  EXPECT_THAT(text, HasSubstr("at generated token 2"));
  EXPECT_THAT(text, HasSubstr("near-tie"));
  const Divergence back = divergence_from_json(to_json(*d));
  EXPECT_EQ(back.right_token, 'x');
  EXPECT_EQ(back.category, d->category);
}

TEST(Category, NamesRoundTrip) {
  for (Category c :
       {Category::kPass, Category::kGenContextMismatch, Category::kTokenizationMismatch,
        Category::kRunVarianceFixedBatch, Category::kBatchVariance, Category::kScoreVariance,
        Category::kEnvMismatch, Category::kUnsupportedRequest}) {
    EXPECT_EQ(category_from_string(to_string(c)), c);
  }
  EXPECT_THROW(category_from_string("NOPE"), Error);
}

TEST(ReproPack, RunIdsAreUniqueAcrossThreads) {
  std::vector<std::string> ids(8 * 200);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) ids[t * 200 + i] = new_run_id();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(ReproPack, AppearsOnlyWhenCommitted) {
  testing::TempDir dir;
  {
    PackWriter pack(dir.path(), "abandoned");
    pack.write_json("env.json", nlohmann::json{{"a", 1}});
  }  // destroyed without commit
  EXPECT_TRUE(internal::list_directory(dir.path()).empty());
  PackWriter pack(dir.path(), "kept");
  pack.write_json("diffs/first_divergence.json", nlohmann::json{{"index", 0}});
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/kept"));
  EXPECT_EQ(pack.commit(), dir.path() + "/kept");
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/kept/diffs/first_divergence.json"));
  EXPECT_EQ(internal::list_directory(dir.path()), std::vector<std::string>{"kept"});
}

TEST(ReproPack, UnwritableRootIsAClearError) {
  testing::TempDir dir;
  write_file(dir.path() + "/a_file", "x");
  try {
    PackWriter pack(dir.path() + "/a_file/packs", "id");
    FAIL() << "wrote under a regular file";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot create artifact directory"));
  }
}

}  // namespace
}  // namespace detllm
