// detllm::gtest — internal machinery behind EXPECT_REPEATABLE and EXPECT_BATCH_INVARIANT; use
// the macros in assertions.h instead.
#ifndef DETLLM_TEST_INTERNAL_ASSERTION_IMPL_H_
#define DETLLM_TEST_INTERNAL_ASSERTION_IMPL_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "detllm_test/check.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/internal/phase_kind.h"
#include "detllm_test/options.h"

namespace detllm::internal {

// Internal: what an assertion claims — the comparison its check makes
// (its defaults and claim are in the comparison table).
using Property = PhaseKind;

// Internal: the defaults of the assertion of `property` (the comparison
// table's), over the running fixture's determinism options.
void apply_assertion_defaults(Property property, CheckOptions& options);

// Internal: runs the check and turns its result into an AssertionResult whose
// message quotes the macro's `model` and `prompts` arguments.
::testing::AssertionResult check_property(Property property, const char* model_text,
                                          const char* prompts_text, Generator& model,
                                          const std::vector<Prompt>& prompts,
                                          const CheckOptions& options);

// Internal: a model given as an object, a reference, or a smart pointer.
template <typename Model>
Generator& as_generator(Model& model) {
  if constexpr (std::is_base_of_v<Generator, std::remove_cv_t<Model>>) {
    return model;
  } else {
    return *model;
  }
}

// Internal: prompts given as Prompts, strings or token ids.
template <typename Prompts>
std::vector<Prompt> as_prompts(const Prompts& prompts) {
  return std::vector<Prompt>(std::begin(prompts), std::end(prompts));
}

// Internal: the determinism options of the DeterminismTest whose test is
// running (its determinism_options()), or nullptr outside one.
const DeterminismOptions* active_fixture_determinism();

// Internal: a whole CheckOptions given (the base), else the defaults: the
// running fixture's determinism options, then each assertion's own; then the
// options in order.
template <typename... Options>
CheckOptions make_options(Property property, const Options&... options) {
  CheckOptions o;
  if (const DeterminismOptions* fixture = active_fixture_determinism()) o.determinism = *fixture;
  apply_assertion_defaults(property, o);
  (apply_base(o, options), ...);
  o.out_dir.clear();  // chosen per test by check_property
  (apply(o, options), ...);
  // Needle mode alone compares the needle trials with batch size 1 only.
  constexpr bool needle = (std::is_same_v<Options, Needle> || ...);
  constexpr bool batch_sizes = (std::is_same_v<Options, BatchSizes> || ...);
  if (property == Property::kBatchSize && needle && !batch_sizes) o.vary_batch.clear();
  return o;
}

// Internal: what the EXPECT_/ASSERT_ macros of a property call.
template <Property property, typename Model, typename Prompts, typename... Options>
::testing::AssertionResult CheckProperty(const char* model_text, const char* prompts_text,
                                         Model&& model, const Prompts& prompts,
                                         const Options&... options) {
  return check_property(property, model_text, prompts_text, as_generator(model),
                        as_prompts(prompts), make_options(property, options...));
}

// Internal: runs the golden comparison (or records the golden) and turns the
// result into an AssertionResult quoting the macro's arguments.
::testing::AssertionResult check_golden_property(const char* model_text, const char* prompts_text,
                                                 Generator& model,
                                                 const std::vector<Prompt>& prompts,
                                                 const GoldenOptions& options);

// Internal: an option of EXPECT_MATCHES_GOLDEN. LogprobUlps sets the
// tolerance; every other option is applied over the golden's settings.
template <typename Option>
void apply_golden(GoldenOptions& g, const Option& option) {
  g.overrides = [previous = g.overrides, option](CheckOptions& o) {
    if (previous) previous(o);
    apply(o, option);
  };
}
inline void apply_golden(GoldenOptions& g, const LogprobUlps& v) { g.logprob_ulps = v.value; }
inline void apply_golden(GoldenOptions& g, const Tolerance& t) { g.tolerance = t; }
// A whole CheckOptions is the base the other options change, wherever it is.
inline void apply_golden(GoldenOptions& g, const CheckOptions& base) {
  g.overrides = [previous = g.overrides, base](CheckOptions& o) {
    o = base;
    if (previous) previous(o);
  };
}

template <typename Model, typename Prompts, typename... Options>
::testing::AssertionResult CheckMatchesGolden(const char* model_text, const char* prompts_text,
                                              Model&& model, const Prompts& prompts,
                                              const std::string& golden_path,
                                              const Options&... options) {
  GoldenOptions g;
  g.path = golden_path;
  (apply_golden(g, options), ...);
  return check_golden_property(model_text, prompts_text, as_generator(model), as_prompts(prompts),
                               g);
}

}  // namespace detllm::internal

// Internal: the body of every property's EXPECT_/ASSERT_ macro.
#define DETLLM_INTERNAL_CHECK_PROPERTY(property, on_failure, model, ...)                      \
  GTEST_ASSERT_(::detllm::internal::CheckProperty<::detllm::internal::Property::property>(    \
                    #model, DETLLM_INTERNAL_QUOTE_FIRST(__VA_ARGS__, ~), model, __VA_ARGS__), \
                on_failure)

// Internal: the first of a macro's variable arguments, quoted. Called with a
// trailing `~` so that the variable part is never empty (C++17 needs one).
#define DETLLM_INTERNAL_QUOTE_FIRST(first, ...) #first

#endif  // DETLLM_TEST_INTERNAL_ASSERTION_IMPL_H_
