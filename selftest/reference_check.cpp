#include "reference_check.h"

#include <gtest/gtest.h>

namespace detllm::testing {

void expect_greedy_matches_reference(Generator& model, const std::vector<TokenIds>& prompts,
                                     const ReferenceLogits& reference) {
  GenerationConfig greedy;
  greedy.max_new_tokens = 8;
  const std::vector<Generation> batched = model.generate(prompts, greedy);
  int compared = 0;
  for (size_t p = 0; p < prompts.size(); ++p) {
    SCOPED_TRACE("prompt " + std::to_string(p));
    const Generation alone = model.generate({prompts[p]}, greedy)[0];
    EXPECT_EQ(batched[p].tokens, alone.tokens);
    TokenIds ids = prompts[p];
    for (size_t step = 0; step < alone.tokens.size(); ++step) {
      const at::Tensor logits = reference(ids);
      const auto top = logits.topk(2);
      const at::Tensor values = std::get<0>(top);
      // At a near-tie float32 rounding may pick either token; the sequences part there.
      if ((values[0] - values[1]).item<double>() < 1e-3) break;
      ASSERT_EQ(alone.tokens[step], std::get<1>(top)[0].item<int64_t>()) << "step " << step;
      EXPECT_NEAR(alone.logprobs[step],
                  at::log_softmax(logits, 0)[alone.tokens[step]].item<double>(), 1e-4);
      EXPECT_NEAR(alone.logit_margins[step], (values[0] - values[1]).item<double>(), 1e-3);
      ids.push_back(alone.tokens[step]);
      ++compared;
    }
  }
  EXPECT_GE(compared, 24) << "too many near-ties: the fixture no longer tests much";
}

}  // namespace detllm::testing
