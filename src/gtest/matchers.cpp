// gMock matchers on a check's result: categories, divergences, tiers.
#include "detllm_test/matchers.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <sstream>

namespace detllm {
namespace {

using ::testing::MatchResultListener;

// A matcher on a check result, from a predicate and what to say.
class ResultMatcher : public ::testing::MatcherInterface<const CheckResult&> {
 public:
  using Predicate = std::function<bool(const CheckResult&)>;
  using Explainer = std::function<std::string(const CheckResult&)>;
  ResultMatcher(Predicate predicate, std::string description, std::string negation,
                Explainer explain)
      : predicate_(std::move(predicate)),
        description_(std::move(description)),
        negation_(std::move(negation)),
        explain_(std::move(explain)) {}

  bool MatchAndExplain(const CheckResult& result, MatchResultListener* listener) const override {
    const bool matched = predicate_(result);
    if (listener->IsInterested()) {
      *listener << explain_(result);
      // Asked for only when the expectation fails: where to look, said and
      // recorded as the macros do.
      if (!result.pack_dir.empty()) {
        *listener << "; repro pack: " << result.pack_dir;
        ::testing::Test::RecordProperty("detllm_repro_pack", result.pack_dir);
      }
    }
    return matched;
  }
  void DescribeTo(std::ostream* os) const override { *os << description_; }
  void DescribeNegationTo(std::ostream* os) const override { *os << negation_; }

 private:
  Predicate predicate_;
  std::string description_, negation_;
  Explainer explain_;
};

std::string where(const std::optional<Divergence>& d) {
  std::ostringstream out;
  out << "which diverges at prompt #" << d->prompt_index;
  if (d->token_index >= 0) {
    out << ", generated token " << d->token_index << " (" << d->left_label << ": " << d->left_token
        << ", " << d->right_label << ": " << d->right_token << ")";
  } else {
    out << " (" << d->detail << ")";
  }
  return out.str();
}

const std::optional<Divergence>& first_of(const CheckResult& r) { return r.report.first_found(); }

std::string explain_any(const CheckResult& r) {
  if (first_of(r)) return where(first_of(r)) + ", category " + to_string(r.report.category);
  return "whose category is " + to_string(r.report.category);
}

::testing::Matcher<const CheckResult&> make(ResultMatcher::Predicate p, std::string d,
                                            std::string n,
                                            ResultMatcher::Explainer e = explain_any) {
  return ::testing::MakeMatcher(
      new ResultMatcher(std::move(p), std::move(d), std::move(n), std::move(e)));
}

// A matcher comparing a generation with an expected one, from the index of the
// first difference (-1: none) and how to describe it.
class GenerationMatcher : public ::testing::MatcherInterface<const Generation&> {
 public:
  using FirstDifference = std::function<int(const Generation& actual, std::string& why)>;
  GenerationMatcher(FirstDifference first, std::string description)
      : first_(std::move(first)), description_(std::move(description)) {}

  bool MatchAndExplain(const Generation& actual, MatchResultListener* listener) const override {
    std::string why;
    const int index = first_(actual, why);
    if (index >= 0 && listener->IsInterested())
      *listener << "which differs first at token " << index << why;
    return index < 0;
  }
  void DescribeTo(std::ostream* os) const override { *os << description_; }
  void DescribeNegationTo(std::ostream* os) const override { *os << "not " << description_; }

 private:
  FirstDifference first_;
  std::string description_;
};

int first_logprob_difference(const Generation& actual, const Generation& expected, int64_t max_ulps,
                             std::string& why) {
  const size_t n = std::min(actual.logprobs.size(), expected.logprobs.size());
  for (size_t i = 0; i < n; ++i) {
    const int64_t ulps = float32_ulps(actual.logprobs[i], expected.logprobs[i]);
    const bool differs =
        max_ulps == 0 ? std::memcmp(&actual.logprobs[i], &expected.logprobs[i], sizeof(double)) != 0
                      : ulps > max_ulps;
    if (differs) {
      std::ostringstream out;
      out.precision(9);
      out << ": " << actual.logprobs[i] << " vs " << expected.logprobs[i] << " (" << ulps
          << " ULPs)";
      why = out.str();
      return static_cast<int>(i);
    }
  }
  if (actual.logprobs.size() != expected.logprobs.size()) {
    why = ": " + std::to_string(actual.logprobs.size()) + " logprobs vs " +
          std::to_string(expected.logprobs.size());
    return static_cast<int>(n);
  }
  return -1;
}

}  // namespace

::testing::Matcher<const CheckResult&> Passes() {
  return make([](const CheckResult& r) { return r.passed(); }, "passes the determinism check",
              "fails the determinism check");
}

::testing::Matcher<const CheckResult&> IsRepeatable() {
  return make(
      [](const CheckResult& r) {
        return !r.report.first_divergence && r.report.category != Category::kUnsupportedRequest;
      },
      "is repeatable across runs", "isn't repeatable across runs");
}

::testing::Matcher<const CheckResult&> IsBatchInvariant() {
  return make(
      [](const CheckResult& r) {
        return !r.report.batch_divergence && r.report.category != Category::kUnsupportedRequest;
      },
      "is batch invariant", "isn't batch invariant");
}

::testing::Matcher<const CheckResult&> IsThreadInvariant() {
  return make(
      [](const CheckResult& r) {
        return !r.report.thread_divergence && r.report.category != Category::kUnsupportedRequest;
      },
      "is thread invariant", "isn't thread invariant");
}

::testing::Matcher<const CheckResult&> HasCategory(Category category) {
  return make([category](const CheckResult& r) { return r.report.category == category; },
              "has category " + to_string(category),
              "doesn't have category " + to_string(category));
}

::testing::Matcher<const CheckResult&> DivergesAt(int prompt_index, int token_index) {
  const std::string at = "prompt #" + std::to_string(prompt_index) + ", generated token " +
                         std::to_string(token_index);
  return make(
      [=](const CheckResult& r) {
        const auto& d = first_of(r);
        return d && d->prompt_index == prompt_index && d->token_index == token_index;
      },
      "diverges first at " + at, "doesn't diverge first at " + at,
      [](const CheckResult& r) {
        return first_of(r) ? where(first_of(r)) : std::string("which does not diverge");
      });
}

::testing::Matcher<const Generation&> TokensEqual(const Generation& expected) {
  return ::testing::MakeMatcher(new GenerationMatcher(
      [expected](const Generation& actual, std::string& why) {
        const size_t n = std::min(actual.tokens.size(), expected.tokens.size());
        for (size_t i = 0; i < n; ++i) {
          if (actual.tokens[i] != expected.tokens[i]) {
            why = ": " + std::to_string(actual.tokens[i]) + " vs " +
                  std::to_string(expected.tokens[i]);
            return static_cast<int>(i);
          }
        }
        if (actual.tokens.size() == expected.tokens.size()) return -1;
        why = ": " + std::to_string(actual.tokens.size()) + " tokens vs " +
              std::to_string(expected.tokens.size());
        return static_cast<int>(n);
      },
      "has the same tokens as the expected generation"));
}

::testing::Matcher<const Generation&> LogprobsEqual(const Generation& expected) {
  return ::testing::MakeMatcher(new GenerationMatcher(
      [expected](const Generation& actual, std::string& why) {
        return first_logprob_difference(actual, expected, 0, why);
      },
      "has bitwise-equal logprobs to the expected generation"));
}

::testing::Matcher<const Generation&> LogprobsWithinUlps(const Generation& expected,
                                                         int64_t max_ulps) {
  return ::testing::MakeMatcher(new GenerationMatcher(
      [expected, max_ulps](const Generation& actual, std::string& why) {
        return first_logprob_difference(actual, expected, std::max<int64_t>(max_ulps, 1), why);
      },
      "has logprobs within " + std::to_string(max_ulps) +
          " float32 ULPs of the expected generation"));
}

void PrintTo(const Generation& generation, std::ostream* os) {
  *os << "Generation of " << generation.tokens.size() << " tokens {";
  for (size_t i = 0; i < generation.tokens.size(); ++i)
    *os << (i ? ", " : "") << generation.tokens[i];
  *os << "}";
}

void PrintTo(const CheckResult& result, std::ostream* os) { *os << result.report.headline(); }

}  // namespace detllm
