// detllm::artifacts — how far a model may drift from its golden and still be
// the model that was blessed: the tolerance of a teacher-forced golden
// comparison (docs/release-gating.md).
//
//   EXPECT_MATCHES_GOLDEN(model, prompts, "golden/small.jsonl", detllm::Tolerance::Auto());
//   detllm check --golden golden/small.jsonl --tolerance logprob=1e-4,margin=2e-4
//
// With a tolerance other than exact, the candidate scores the golden's own
// tokens (teacher forcing), so that a flip at token 12 leaves tokens 13… as
// comparable as the rest. A position passes when the golden token's logprob
// moved by at most `logprob` and the candidate's top-1 is the golden token —
// or when the golden's own top-1/top-2 margin there was at most `margin`: a
// near-tie that any numeric change may flip (a benign flip, counted and
// reported).
#ifndef DETLLM_TEST_TOLERANCE_H_
#define DETLLM_TEST_TOLERANCE_H_

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace detllm {

struct Tolerance {
  enum class Kind {
    kExact,  // the golden's tokens (tier 1) and logprobs (tier 2) bit for bit: the default
    kAuto,   // from the golden's calibration: max(kAutoFloor, kAutoFactor × measured noise)
    kGiven,  // the numbers given
  };
  Kind kind = Kind::kExact;
  double logprob = 0;  // nats: how far the golden token's logprob may move
  double margin = 0;   // nats: the golden margin under which a flip is benign

  static Tolerance Exact() { return {}; }
  static Tolerance Auto() { return {Kind::kAuto, 0, 0}; }
  // `margin` < 0: twice `logprob` (the margin both logits moving by the
  // tolerance towards each other can close).
  static Tolerance Given(double logprob, double margin = -1);

  // "exact", "auto", "logprob=X" or "logprob=X,margin=Y"; throws
  // detllm::Error naming what is wrong.
  static Tolerance parse(const std::string& text);
  // As parse() reads it; a resolved auto one as its numbers.
  std::string to_string() const;
};

// `auto`: the tolerance is the model's own numeric noise, measured when the
// golden was recorded (what thread counts, batch sizes and one-pass scoring
// that must not matter do to its logprobs), times kAutoFactor, and never
// below kAutoFloor; its margin twice that.
inline constexpr double kAutoFloor = 1e-4;
inline constexpr double kAutoFactor = 10;

// The numbers `auto` resolves to from a golden's calibration (its header's
// "calibration" object: {"noise": nats, "measurements": [...]}); throws
// detllm::Error when the golden has none (recorded without calibration).
Tolerance resolve_auto(const nlohmann::json& calibration, const std::string& golden_path);

}  // namespace detllm

#endif  // DETLLM_TEST_TOLERANCE_H_
