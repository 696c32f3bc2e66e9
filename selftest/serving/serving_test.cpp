// A deployment checked through its OpenAI-compatible API: a real HTTP server
// (toy_server.py: a seeded model behind a continuous-batching scheduler),
// started by each test on 127.0.0.1 and stopped at its end. Positive
// controls pass; a server whose batching has a real padding bug fails with
// BATCH_VARIANCE, one whose prefix cache is wrong with RUN_VARIANCE; broken
// servers give one-line errors, never a verdict.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "artifacts/file_util.h"
#include "detllm_test/check.h"
#include "detllm_test/detllm_test.h"
#include "detllm_test/env.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"
#include "detllm_test/openai_model.h"
#include "detllm_test/replay.h"
#include "detllm_test/report.h"
#include "server_process.h"
#include "serving/completion_response.h"
#include "serving/event_stream.h"
#include "serving/server_metrics.h"
#include "serving/server_tokenizer.h"
#include "test_files.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

using testing::ToyServer;

const std::vector<Prompt> kPrompts = {Prompt("Hello there"), Prompt("A much longer prompt, padded"),
                                      Prompt("xyz")};

CheckOptions options(int tier = 2) {
  CheckOptions o;
  o.runs = 3;
  o.vary_batch = {1, 3};
  o.needle_trials = 2;
  o.needle_max_batch_size = 6;
  o.decoding.max_new_tokens = 6;
  o.determinism.tier = tier;
  o.keep_passing_pack = false;
  return o;
}

// Repeated runs only, for the prefix-cache trials.
CheckOptions runs_only() {
  CheckOptions o = options();
  o.vary_batch.clear();
  o.needle_trials = 0;
  return o;
}

class ServingTest : public ::testing::Test {
 protected:
  testing::TempDir out_;
};

TEST_F(ServingTest, ACorrectServerIsRepeatableAndBatchInvariantAtTier2) {
  ToyServer server({"--flavor", "vllm"});
  auto model = load_model(server.url("?model=toy"));
  EXPECT_EQ(model->info().backend, "openai");
  EXPECT_EQ(model->info().device, "remote");
  // The server's /tokenize, named by its vocabulary: the same for another
  // model name with the same vocabulary.
  EXPECT_THAT(model->tokenizer().id(), ::testing::MatchesRegex("server:[0-9a-f]{16}"));
  ToyServer renamed({"--model-name", "toy-q8_0"});
  EXPECT_EQ(load_model(renamed.url())->tokenizer().id(), model->tokenizer().id());
  const CheckResult result = check(*model, kPrompts, options());
  EXPECT_TRUE(result.passed()) << result.report.headline();
  EXPECT_EQ(result.report.tier_effective, 2);
  EXPECT_EQ(result.runs[0][0].scores->size(), 6u);
  EXPECT_EQ(result.runs[0][0].logit_margins.size(), 6u);
  // The tokens are the server's ids ("token_id:N"), decoded by its /detokenize.
  EXPECT_LT(result.runs[0][0].generated_token_ids[0], 96);
}

TEST_F(ServingTest, TheAssertionsWorkOnAnEndpoint) {
  ToyServer server({"--flavor", "llamacpp"});
  auto model = load_model(server.url());
  EXPECT_REPEATABLE(*model, kPrompts, Runs(3), MaxNewTokens(5));
  EXPECT_BATCH_INVARIANT(*model, kPrompts, BatchSizes({1, 3}), MaxNewTokens(5));
}

// The padding bug, as a server's scheduler makes it: a request's tokens
// depend on the other requests in its step's batch.
TEST_F(ServingTest, AServerWhoseBatchingIgnoresPaddingFailsWithBatchVariance) {
  ToyServer server({"--bug", "padding"});
  auto model = load_model(server.url());
  CheckOptions o = options();
  o.out_dir = out_.path();
  const CheckResult result = check(*model, kPrompts, o);
  ASSERT_FALSE(result.passed());
  EXPECT_EQ(result.report.category, Category::kBatchVariance) << result.report.headline();
  EXPECT_TRUE(result.report.batch_divergence);
  // The pack records the server, and that the inference ran there.
  const nlohmann::json config = nlohmann::json::parse(
      internal::read_file(result.pack_dir + "/run_config.json", "run_config"));
  EXPECT_EQ(config["backend"], "openai");
  EXPECT_EQ(config["server"]["kind"], "vllm");
  EXPECT_EQ(config["server"]["models"]["data"][0]["id"], "toy");
  EXPECT_EQ(config["server"]["version"]["version"], "toy-1");
  const nlohmann::json env =
      nlohmann::json::parse(internal::read_file(result.pack_dir + "/env.json", "env"));
  EXPECT_EQ(env["inference"]["remote"], true);
  EXPECT_EQ(env["inference"]["server_url"], server.url());
  EXPECT_THAT(result.report.notes, ::testing::Contains(HasSubstr("runs on a server")));
  // How often, not only whether: the needle trials are counted per prompt.
  ASSERT_EQ(result.report.needle_distinct_completions.size(), kPrompts.size());
  EXPECT_GT(*std::max_element(result.report.needle_distinct_completions.begin(),
                              result.report.needle_distinct_completions.end()),
            1);
  EXPECT_FALSE(result.report.needle_divergence_positions.empty());
  EXPECT_THAT(render_text(result.report),
              HasSubstr("needle trials: distinct completions per prompt (run 0 and 2 trials): "));
  EXPECT_EQ(report_from_json(to_json(result.report)).needle_distinct_completions,
            result.report.needle_distinct_completions);
}

TEST_F(ServingTest, AServerWhosePrefixCacheIsWrongFailsWithRunVariance) {
  ToyServer server({"--bug", "warm-cache"});
  auto model = load_model(server.url());
  const CheckOptions o = runs_only();
  const CheckResult result = check(*model, kPrompts, o);
  ASSERT_FALSE(result.passed());
  EXPECT_EQ(result.report.category, Category::kRunVarianceFixedBatch);
  EXPECT_THAT(result.report.notes,
              ::testing::Contains(HasSubstr("caches emptied (POST /reset_prefix_cache)")));
  // The server's own word (usage.prompt_tokens_details.cached_tokens): run 0
  // cold, the others warm; the cache is named as the cause, not a cold start.
  EXPECT_THAT(result.report.prompt_cache_tokens, ::testing::ElementsAre(0, 11, 11));
  EXPECT_FALSE(result.report.cold_start_differs);
  EXPECT_THAT(
      result.report.likely_causes,
      ::testing::Contains(HasSubstr("prompt cache: run 1 was served 3 of prompt #2's 3 tokens")));
  EXPECT_THAT(render_text(result.report),
              HasSubstr("prompt cache (tokens the server served from it, per run; -1: not said): "
                        "0, 11, 11"));
}

// llama.cpp says what it took from its cache in timings.cache_n; a server that
// says nothing leaves the runs' difference as what it is, a cold first run.
TEST_F(ServingTest, TheCacheIsNamedOnlyFromTheServersOwnWord) {
  ToyServer llamacpp({"--flavor", "llamacpp", "--bug", "warm-cache"});
  const CheckResult said = check(*load_model(llamacpp.url()), kPrompts, runs_only());
  EXPECT_THAT(said.report.prompt_cache_tokens, ::testing::ElementsAre(0, 11, 11));
  EXPECT_THAT(said.report.likely_causes, ::testing::Contains(HasSubstr("warm against cold")));
  ToyServer plain({"--flavor", "plain", "--bug", "warm-cache"});
  const CheckResult silent = check(*load_model(plain.url()), kPrompts, runs_only());
  EXPECT_EQ(silent.report.category, Category::kRunVarianceFixedBatch);
  EXPECT_TRUE(silent.report.prompt_cache_tokens.empty());
  EXPECT_TRUE(silent.report.cold_start_differs);
}

// SGLang empties its cache at /flush_cache.
TEST_F(ServingTest, AnSglangServersCacheIsFlushedBeforeRunZero) {
  ToyServer server({"--flavor", "sglang", "--bug", "warm-cache"});
  auto model = load_model(server.url());
  const CheckOptions o = runs_only();
  ASSERT_FALSE(check(*model, kPrompts, o).passed());  // warms the cache
  const CheckResult again = check(*model, kPrompts, o);
  EXPECT_EQ(again.report.category, Category::kRunVarianceFixedBatch);
  EXPECT_THAT(again.report.notes, ::testing::Contains(HasSubstr("(POST /flush_cache)")));
  EXPECT_EQ(nlohmann::json::parse(model->info().server_json)["kind"], "sglang");
}

// llama.cpp's server has no reset: disable_prompt_cache sends cache_prompt
// false instead, and the cache's bug is then out of the comparison.
TEST_F(ServingTest, ALlamaCppServerCanBeAskedNotToUseItsPromptCache) {
  ToyServer server({"--flavor", "llamacpp", "--bug", "warm-cache"});
  EXPECT_FALSE(check(*load_model(server.url()), kPrompts, runs_only()).passed());
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  EXPECT_TRUE(check(*model, kPrompts, runs_only()).passed());
  EXPECT_EQ(nlohmann::json::parse(model->info().server_json)["prefix_cache"],
            "not used: cache_prompt false");
}

// The same server with its cache warm before the check: the reset still
// makes run 0 cold, so the bug is found whatever the server served before.
TEST_F(ServingTest, ThePrefixCacheIsResetBeforeRunZero) {
  ToyServer server({"--bug", "warm-cache"});
  auto model = load_model(server.url());
  const CheckOptions o = runs_only();
  ASSERT_FALSE(check(*model, kPrompts, o).passed());  // warms the cache
  const CheckResult again = check(*model, kPrompts, o);
  EXPECT_EQ(again.report.category, Category::kRunVarianceFixedBatch);
}

// A server that cannot tokenize gets text, and its tokens are compared by
// their text: tier 1 still holds, and the report shows the text.
TEST_F(ServingTest, AServerWithoutATokenizerIsComparedOnText) {
  ToyServer server({"--flavor", "plain", "--bug", "padding"});
  auto model = load_model(server.url());
  EXPECT_EQ(model->tokenizer().id(), "detllm/bytes");
  const CheckResult result = check(*model, kPrompts, options(1));
  ASSERT_EQ(result.report.category, Category::kBatchVariance);
  const Divergence& d = *result.report.batch_divergence;
  EXPECT_EQ(d.left_text.size(), 1u);  // one character: the toy's tokens are characters
  EXPECT_EQ(d.right_text.size(), 1u);
}

// Teacher forcing over chat asks the server which ids its chat template
// makes of a prompt. A server that does not say (no /apply-template) or lies
// (a /tokenize that ignores the messages: no ids) is an error naming it, never
// an empty prompt scored as if it were the golden's.
TEST_F(ServingTest, AServerThatDoesNotSayItsChatTemplatesIdsIsAnError) {
  using How = internal::ServerFlavor::ChatPromptIds;
  ToyServer llamacpp({"--flavor", "llamacpp"});
  const std::string root = llamacpp.url().substr(0, llamacpp.url().size() - 3);
  const internal::ServerTokenizer no_template(root, "toy", {});
  EXPECT_THAT([&] { no_template.encode_chat("hi", How::kApplyTemplate); },
              ::testing::ThrowsMessage<Error>(HasSubstr("did not apply its chat template (POST "
                                                        "/apply-template: HTTP 404)")));
  ToyServer vllm({"--flavor", "vllm"});
  const internal::ServerTokenizer ignores(vllm.url().substr(0, vllm.url().size() - 3), "toy", {});
  EXPECT_THAT([&] { ignores.encode_chat("hi", How::kTokenizeMessages); },
              ::testing::ThrowsMessage<Error>(HasSubstr("returned no ids for a user message")));
  EXPECT_EQ(ignores.encode_chat("hi", How::kNone), std::nullopt);
}

TEST_F(ServingTest, AGoldenOfTheEndpointMatchesAndAChangedServerDoesNot) {
  GoldenOptions g;
  g.path = out_.path() + "/endpoint.jsonl";
  g.base.decoding.max_new_tokens = 5;
  g.base.determinism.tier = 2;
  g.update = true;
  g.force = true;
  {
    ToyServer server({});
    auto model = load_model(server.url());
    ASSERT_TRUE(check_golden(*model, kPrompts, g).recorded);
  }
  g.update = false;
  {
    ToyServer server({});  // the same deployment, restarted
    auto model = load_model(server.url());
    const GoldenResult same = check_golden(*model, kPrompts, g);
    EXPECT_TRUE(same.report.passed) << same.report.headline();
  }
  ToyServer changed({"--seed", "2"});  // other weights behind the same URL
  auto model = load_model(changed.url());
  g.base.out_dir = out_.path();
  const GoldenResult result = check_golden(*model, kPrompts, g);
  EXPECT_EQ(result.report.category, Category::kGoldenMismatch);
  EXPECT_THAT(result.report.env_differences, ::testing::Contains(HasSubstr("server")));
}

// The key comes from the variable the options name, goes only into the
// Authorization header, and into no artifact.
TEST_F(ServingTest, TheApiKeyIsSentOnlyAsAuthorizationAndWrittenNowhere) {
  const std::string key = "sk-detllm-test-5ecret";
  ToyServer server(
      {"--api-key", key, "--log", out_.path() + "/requests.jsonl", "--bug", "padding"});
  EXPECT_THAT([&] { load_model(server.url("?api_key_env=DETLLM_TEST_NO_SUCH_KEY")); },
              ::testing::ThrowsMessage<Error>(HasSubstr("HTTP 401")));
  std::filesystem::remove(out_.path() + "/requests.jsonl");  // that GET carried no key
  setenv("DETLLM_TEST_KEY", key.c_str(), 1);
  auto model = load_model(server.url("?api_key_env=DETLLM_TEST_KEY"));
  CheckOptions o = options();
  o.out_dir = out_.path() + "/packs";
  const CheckResult result = check(*model, kPrompts, o);
  unsetenv("DETLLM_TEST_KEY");
  ASSERT_FALSE(result.pack_dir.empty());
  for (const auto& file : std::filesystem::recursive_directory_iterator(result.pack_dir)) {
    if (!file.is_regular_file()) continue;
    EXPECT_THAT(internal::read_file(file.path().string(), "pack file"),
                ::testing::Not(HasSubstr("5ecret")))
        << file.path();
  }
  std::ifstream log(out_.path() + "/requests.jsonl");
  int requests = 0;
  for (std::string line; std::getline(log, line); ++requests) {
    const nlohmann::json entry = nlohmann::json::parse(line);
    EXPECT_EQ(entry["authorization"], "Bearer " + key);
    EXPECT_THAT(entry["body"].get<std::string>(), ::testing::Not(HasSubstr("5ecret")));
  }
  EXPECT_GT(requests, 10);
}

// A pack names its server, and maybe a variable (?api_key_env=) or none
// (OPENAI_API_KEY): replay sends no key to a host a pack names, whatever
// variables are set. The key goes only to the server named with --model,
// from the variable named with --api-key-env. The listener's log is the proof.
TEST_F(ServingTest, ReplaySendsNoCredentialToThePacksServer) {
  const std::string key = "sk-detllm-test-5ecret";
  const std::string log = out_.path() + "/requests.jsonl";
  ToyServer server({"--api-key", key, "--log", log, "--bug", "padding"});
  setenv("DETLLM_TEST_KEY", key.c_str(), 1);
  setenv("OPENAI_API_KEY", key.c_str(), 1);
  CheckOptions o = options();
  o.out_dir = out_.path() + "/packs";
  const CheckResult failed =
      check(*load_model(server.url("?api_key_env=DETLLM_TEST_KEY")), kPrompts, o);
  ASSERT_EQ(failed.report.category, Category::kBatchVariance);
  std::filesystem::remove(log);

  ReplayOptions r;
  r.out_dir = out_.path() + "/replays";
  std::string announced;
  r.announce = [&](const std::string& line) { announced = line; };
  EXPECT_THAT([&] { replay(failed.pack_dir, r); },
              ::testing::ThrowsMessage<Error>(HasSubstr("HTTP 401")));
  EXPECT_THAT(announced, HasSubstr("contacting the pack's server"));
  EXPECT_THAT(announced, HasSubstr("with no credential"));
  int requests = 0;
  {
    std::ifstream heard(log);
    for (std::string line; std::getline(heard, line); ++requests) {
      EXPECT_TRUE(nlohmann::json::parse(line)["authorization"].is_null()) << line;
    }
  }
  EXPECT_EQ(requests, 1);  // GET /v1/models, refused: 401

  r.model = server.url();  // named: its key from the variable named
  r.api_key_env = "DETLLM_TEST_KEY";
  const ReplayResult named = replay(failed.pack_dir, r);
  unsetenv("DETLLM_TEST_KEY");
  unsetenv("OPENAI_API_KEY");
  EXPECT_EQ(named.outcome, ReplayOutcome::kReproduced) << named.now.headline();
  EXPECT_THAT(named.model_source, HasSubstr("with the key in $DETLLM_TEST_KEY"));
}

// A batch the client sends one request at a time never reaches the server as
// a batch: the padding bug, which fails any real batch (the negative control
// above), passes, and the report says the batch was not exercised instead of
// claiming it; strict mode fails as UNSUPPORTED_REQUEST.
TEST_F(ServingTest, ABatchTheClientSerializedIsNotClaimed) {
  ToyServer server({"--bug", "padding"});
  auto model = load_model(server.url("?max_concurrency=1"));
  CheckOptions o = options();
  o.needle_trials = 0;
  const CheckResult result = check(*model, kPrompts, o);
  EXPECT_TRUE(result.passed()) << result.report.headline();
  EXPECT_THAT(result.report.model, HasSubstr("&max_concurrency=1"));
  ASSERT_EQ(result.report.not_exercised.size(), 1u);
  EXPECT_THAT(result.report.not_exercised[0],
              HasSubstr("batch size 3 was sent at most 1 request at a time (max_concurrency=1): "
                        "the server never saw it as a batch of 3"));
  EXPECT_THAT(result.report.headline(), HasSubstr("; not exercised: batch size 3"));
  EXPECT_THAT(render_text(result.report), HasSubstr("not exercised: batch size 3"));

  o.determinism.mode = Mode::kStrict;
  const CheckResult strict = check(*model, kPrompts, o);
  EXPECT_EQ(strict.report.category, Category::kUnsupportedRequest);
  EXPECT_THAT(strict.report.headline(), HasSubstr("max_concurrency=1"));
}

// This process's thread count cannot reach a server: a thread phase there
// compares the server with itself, and is UNSUPPORTED_REQUEST in every mode.
TEST_F(ServingTest, ThreadInvarianceOfAServerIsUnsupported) {
  ToyServer server({});
  auto model = load_model(server.url());
  CheckOptions o = options();
  o.vary_batch.clear();
  o.needle_trials = 0;
  o.vary_threads = {2};
  const CheckResult result = check(*model, kPrompts, o);
  EXPECT_EQ(result.report.category, Category::kUnsupportedRequest);
  ASSERT_FALSE(result.report.capability_failures.empty());
  EXPECT_THAT(result.report.capability_failures[0],
              HasSubstr("threads 2: this process's intra-op thread count cannot reach a model "
                        "served at"));
}

// llama.cpp draws a random media marker at each start: it is left out of the
// environment, so a restarted server is not an environment change.
TEST_F(ServingTest, AServersPerStartRandomnessIsNoEnvironment) {
  ToyServer server({"--flavor", "llamacpp"});
  auto model = load_model(server.url());
  const nlohmann::json env = capture_env(model->info());
  ASSERT_TRUE(env["inference"]["server"]["props"].is_object());
  EXPECT_EQ(env["inference"]["server"]["props"]["total_slots"], 8);
  EXPECT_FALSE(env["inference"]["server"]["props"].contains("media_marker"));
}

// detllm check and replay against the server, as a CI job runs them.
TEST_F(ServingTest, TheCliChecksAndReplaysAnEndpoint) {
  ToyServer good({});
  const std::string cli = DETLLM_CLI_PATH;
  const std::string prompts =
      " --prompt 'Hello there' --prompt 'A much longer prompt, padded' --prompt xyz --vary-batch "
      "1,3";
  EXPECT_EQ(
      std::system((cli + " check -q --model '" + good.url("?model=toy") + "'" + prompts).c_str()),
      0);
  ToyServer buggy({"--bug", "padding"});
  const std::string out = out_.path() + "/cli";
  EXPECT_EQ(
      WEXITSTATUS(std::system(
          (cli + " check -q --model '" + buggy.url() + "'" + prompts + " --out " + out).c_str())),
      1);
  const auto pack = std::filesystem::directory_iterator(out)->path().string();
  EXPECT_EQ(WEXITSTATUS(std::system((cli + " replay " + pack + " --out " + out_.path() +
                                     "/replays > " + out_.path() + "/replay.txt")
                                        .c_str())),
            0);
  EXPECT_THAT(internal::read_file(out_.path() + "/replay.txt", "replay output"),
              HasSubstr("REPRODUCED"));
}

// What a server took from its prompt cache, where each writes it; anything
// else (absent, another type, negative) is "not said", never an error.
TEST(CompletionResponse, ReadsTheCachedPromptTokensWhereServersWriteThem) {
  const std::string choices = R"("choices": [{"text": "a", "logprobs": null}])";
  const auto cached = [&](const std::string& extra) {
    return internal::parse_completion("{" + choices + extra + "}", "reply", false)
        .cached_prompt_tokens;
  };
  EXPECT_EQ(cached(R"(, "usage": {"prompt_tokens_details": {"cached_tokens": 4}})"), 4);
  EXPECT_EQ(cached(R"(, "timings": {"cache_n": 7, "prompt_n": 1})"), 7);
  EXPECT_EQ(cached(""), -1);
  EXPECT_EQ(cached(R"(, "usage": "none", "timings": {"cache_n": "x"})"), -1);
  EXPECT_EQ(cached(R"(, "usage": {"prompt_tokens_details": {"cached_tokens": -3}})"), -1);
}

// A chat completion: the assistant's message is the text, and its logprobs'
// tokens carry their ids as vLLM writes them (return_tokens_as_token_ids).
TEST(CompletionResponse, ReadsAChatCompletion) {
  const internal::Completion c = internal::parse_completion(
      R"({"choices": [{"message": {"role": "assistant", "content": "ab"},
          "logprobs": {"content": [
            {"token": "token_id:7", "logprob": -0.5,
             "top_logprobs": [{"token": "token_id:7", "logprob": -0.5},
                              {"token": "token_id:9", "logprob": -1.25}]},
            {"token": "token_id:8", "logprob": -0.25, "top_logprobs": []}]}}]})",
      "chat", true);
  EXPECT_EQ(c.text, "ab");
  EXPECT_THAT(c.token_ids, ::testing::ElementsAre(7, 8));
  EXPECT_THAT(c.logprobs, ::testing::ElementsAre(-0.5, -0.25));
  EXPECT_TRUE(c.margins.empty());  // the second token came with no alternatives
  EXPECT_THROW(internal::parse_completion(R"({"choices": [{"message": "ab"}]})", "chat", false),
               Error);
}

// A streamed answer: each layout's chunks merged into the answer sent whole,
// the usage from vLLM's last chunk (no choices) kept; a stream cut before
// [DONE], a chunk that is not JSON, several choices or a change of logprobs
// layout is a one-line error naming the chunk.
TEST(EventStream, MergesChunksIntoTheWholeAnswer) {
  const std::string legacy =
      "data: {\"choices\": [{\"text\": \"a\", \"logprobs\": {\"tokens\": [\"token_id:4\"], "
      "\"token_logprobs\": [-0.5], \"top_logprobs\": [{\"token_id:4\": -0.5, \"x\": -2}]}}]}\n\n"
      ": a comment\n"
      "data:{\"choices\": [{\"text\": \"b\", \"finish_reason\": \"length\", \"logprobs\": "
      "{\"tokens\": [\"token_id:5\"], \"token_logprobs\": [-0.25], \"top_logprobs\": null}}]}\r\n"
      "data: {\"choices\": [], \"usage\": {\"prompt_tokens_details\": {\"cached_tokens\": 3}}}\n"
      "data: [DONE]\n\ndata: {\"after\": \"done, not read\"}\n";
  const internal::Completion c =
      internal::parse_completion(internal::merge_event_stream(legacy, "s"), "s", true);
  EXPECT_EQ(c.text, "ab");
  EXPECT_EQ(c.finish_reason, "length");
  EXPECT_THAT(c.token_ids, ::testing::ElementsAre(4, 5));
  EXPECT_THAT(c.logprobs, ::testing::ElementsAre(-0.5, -0.25));
  EXPECT_EQ(c.cached_prompt_tokens, 3);

  const std::string chat =
      "data: {\"choices\": [{\"delta\": {\"role\": \"assistant\", \"content\": null}}]}\n"
      "data: {\"choices\": [{\"delta\": {\"content\": \"x\"}, \"logprobs\": {\"content\": "
      "[{\"id\": 2, \"token\": \"x\", \"logprob\": -1}]}}], \"timings\": {\"cache_n\": 0}}\n"
      "data: [DONE]\n";
  const internal::Completion d =
      internal::parse_completion(internal::merge_event_stream(chat, "s"), "s", true);
  EXPECT_EQ(d.text, "x");
  EXPECT_THAT(d.token_ids, ::testing::ElementsAre(2));
  EXPECT_EQ(d.cached_prompt_tokens, 0);

  auto error = [](const std::string& body) {
    try {
      internal::merge_event_stream(body, "the server");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error("data: {\"choices\": [{\"text\": \"a\"}]}\n"),
              HasSubstr("the stream ended before its last event (data: [DONE]), after 1 chunks"));
  EXPECT_THAT(error("data: {nope\ndata: [DONE]\n"),
              HasSubstr("the server (stream chunk 0) is not a JSON object"));
  EXPECT_THAT(error("data: {\"choices\": [{}, {}]}\ndata: [DONE]\n"),
              HasSubstr("holds 2 choices; 1 was asked for"));
  EXPECT_THAT(error("data: {\"choices\": [{\"text\": \"a\", \"logprobs\": {\"tokens\": []}}]}\n"
                    "data: {\"choices\": [{\"text\": \"b\", \"logprobs\": {\"content\": []}}]}\n"
                    "data: [DONE]\n"),
              HasSubstr("(stream chunk 1): its logprobs are laid out unlike"));
  // An error event is the server's error, named by parse_completion.
  EXPECT_THROW(
      internal::parse_completion(
          internal::merge_event_stream("data: {\"error\": \"overloaded\"}\n", "s"), "s", true),
      Error);
}

// llama.cpp's /metrics: the decode counters, and the concurrency between two
// readings; anything else in the text is skipped, never an error.
TEST(ServerMetrics, ReadsLlamaCppsDecodeCounters) {
  const auto metrics = internal::parse_metrics(
      "# HELP llamacpp:n_decode_total Total number of llama_decode() calls\n"
      "llamacpp:n_decode_total 42\r\n"
      "llamacpp:n_busy_slots_per_decode 2.28571\n"
      "labelled{slot=\"0\"} 3\nbad line\nllamacpp:x nan\n");
  EXPECT_EQ(metrics.size(), 3u);
  const auto after = internal::decode_counters(metrics);
  ASSERT_TRUE(after.has_value());
  const internal::DecodeCounters before{32, 32};  // 32 steps of one busy slot
  EXPECT_NEAR(*internal::busy_slots_between(before, *after), 6.4, 1e-3);
  EXPECT_FALSE(internal::busy_slots_between(*after, *after).has_value());  // no step between
  EXPECT_FALSE(internal::decode_counters(internal::parse_metrics("vllm:x 1\n")));
}

// vLLM's /metrics label every sample (engine, model): samples of one name are
// summed, quoted label values may hold braces and escaped quotes, and its
// engine steps with the tokens they generated give the requests per step.
TEST(ServerMetrics, ReadsVllmsLabelledStepCounters) {
  const auto metrics = internal::parse_metrics(
      "# TYPE vllm:generation_tokens_total counter\n"
      "vllm:generation_tokens_total{engine=\"0\",model_name=\"/m {x} \\\"q\\\"\"} 256.0\n"
      "vllm:iteration_tokens_total_count{engine=\"0\",model_name=\"m\"} 145.0\n"
      "vllm:iteration_tokens_total_bucket{le=\"1.0\",engine=\"0\"} 128.0\n"
      "vllm:iteration_tokens_total_bucket{le=\"8.0\",engine=\"0\"} 140.0\n"
      "unclosed{a=\"} 1\n{nameless} 2\n");
  EXPECT_EQ(metrics.at("vllm:generation_tokens_total"), 256.0);
  EXPECT_EQ(metrics.at("vllm:iteration_tokens_total_bucket"), 268.0);
  EXPECT_EQ(metrics.count("unclosed"), 0u);
  const auto after = internal::decode_counters(metrics);
  ASSERT_TRUE(after.has_value());
  EXPECT_THAT(after->source, ::testing::StartsWith("vllm:iteration_tokens_total_count"));
  // 128 steps of one request each, then a batch of 8 over 17 steps.
  EXPECT_NEAR(*internal::busy_slots_between({128, 128}, *after), 128.0 / 17, 1e-9);
}

// Bad servers: a one-line error each, never a verdict.
struct BadServer {
  const char* fault;
  const char* message;
};

class BadServerTest : public ::testing::TestWithParam<BadServer> {};

TEST_P(BadServerTest, IsAClearError) {
  ToyServer server({"--fault", GetParam().fault});
  OpenAiOptions o = openai_options_from_url(server.url());
  o.request_timeout_s = 2;
  o.retry_backoff_s = 0.01;
  auto model = openai_model(o);
  CheckOptions c = options();
  c.out_dir = server.dir() + "/packs";
  try {
    check(*model, kPrompts, c);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message));
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
  // Nothing half-written.
  std::error_code error;
  EXPECT_TRUE(!std::filesystem::exists(c.out_dir, error) ||
              std::filesystem::is_empty(c.out_dir, error));
}

INSTANTIATE_TEST_SUITE_P(
    Faults, BadServerTest,
    ::testing::Values(BadServer{"http500", "failed: HTTP 500: \"Internal Server Error"},
                      BadServer{"malformed", "is not valid JSON"},
                      BadServer{"truncated", "is not valid JSON"},
                      BadServer{"no-logprobs", "has no logprobs"},
                      BadServer{"two-choices", "holds 2 choices; 1 was asked for"},
                      BadServer{"mismatched", "tokens but 5 token_logprobs"},
                      BadServer{"always-busy", "HTTP 503 after 4 attempts"},
                      BadServer{"slow", "Operation timed out"},
                      BadServer{"huge", "the response exceeds 64 MiB"},
                      BadServer{"not-found", "HTTP 404"}),
    [](const auto& info) {
      std::string name = info.param.fault;
      name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
      return name;
    });

TEST(ServingErrors, BusyIsRetriedAndThenServed) {
  ToyServer server({"--fault", "busy-then-ok"});
  OpenAiOptions o = openai_options_from_url(server.url());
  o.retry_backoff_s = 0.01;
  auto model = openai_model(o);
  const auto out = model->generate({{40, 41}}, GenerationConfig{});
  EXPECT_EQ(out[0].tokens.size(), 16u);
}

TEST(ServingErrors, ARefusedConnectionAndABadUrlSayWhat) {
  // Port 9 (discard): nothing listens on it here.
  EXPECT_THAT([] { load_model("http://127.0.0.1:9/v1"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("did not list its models")));
  EXPECT_THAT([] { load_model("http://user:pa55word@127.0.0.1:9/v1"); },
              ::testing::ThrowsMessage<Error>(::testing::Not(HasSubstr("pa55word"))));
  EXPECT_THAT([] { load_model("http://127.0.0.1:9/v1?modle=x"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("unknown server URL option '?modle='")));
}

// https: the certificate is verified by default; a self-signed one is
// refused unless its CA file is given (or verification is turned off).
TEST(ServingErrors, TlsIsVerifiedByDefault) {
  testing::TempDir dir;
  const std::string cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
  const std::string openssl =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " 2>/dev/null";
  ASSERT_EQ(std::system(openssl.c_str()), 0);
  ToyServer server({"--tls-cert", cert, "--tls-key", key});
  const std::string url = server.url("", "https");
  EXPECT_THAT([&] { load_model(url); },
              ::testing::ThrowsMessage<Error>(HasSubstr("SSL certificate problem")));
  OpenAiOptions o = openai_options_from_url(url);
  o.ca_file = cert;
  EXPECT_EQ(openai_model(o)->info().server_url, url);
  EXPECT_EQ(load_model(url + "?verify_tls=false")->info().backend, "openai");
}

TEST(ServingErrors, AServerOfSeveralModelsNeedsOneNamed) {
  ToyServer server({"--model-name", "toy,toy-large"});
  EXPECT_THAT([&] { load_model(server.url()); },
              ::testing::ThrowsMessage<Error>(
                  HasSubstr("serves 2 models (toy, toy-large): name one with ?model=NAME")));
  EXPECT_THAT([&] { load_model(server.url("?model=other")); },
              ::testing::ThrowsMessage<Error>(HasSubstr("does not serve model 'other'")));
  EXPECT_EQ(load_model(server.url("?model=toy-large"))->info().name,
            server.url("?model=toy-large"));
}

}  // namespace
}  // namespace detllm
