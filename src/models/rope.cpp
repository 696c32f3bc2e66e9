// The rotary position embedding's frequencies and rotation, as transformers
// computes them.
#include "models/rope.h"

#include <cmath>

#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

// YaRN's inverse frequencies, as transformers computes them: the
// extrapolated (unscaled) and interpolated (divided by factor) frequencies,
// blended by a linear ramp between the dimensions that turn beta_fast and
// beta_slow times over the original context. The bounds are computed in
// double, the frequencies in float32, both as there.
at::Tensor yarn_frequencies(const RopeScaling& r, double base, int64_t dim) {
  const auto correction_dim = [&](double rotations) {
    return dim * std::log(r.original_max_position_embeddings / (rotations * 2 * M_PI)) /
           (2 * std::log(base));
  };
  double low = correction_dim(r.beta_fast), high = correction_dim(r.beta_slow);
  if (r.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // as transformers: no zero-width ramp
  const at::Tensor pos_freqs = at::pow(base, at::arange(0, dim, 2, at::kLong).to(at::kFloat) / dim);
  const at::Tensor extrapolation = 1.0 / pos_freqs;
  const at::Tensor interpolation = 1.0 / (r.factor * pos_freqs);
  const at::Tensor ramp = at::clamp((at::arange(dim / 2, at::kFloat) - low) / (high - low), 0, 1);
  const at::Tensor extrapolation_factor = 1 - ramp;
  return interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor;
}

}  // namespace

// What YaRN and LongRoPE multiply cos and sin by (1 for every other rope type).
double rope_attention_factor(const RopeScaling& r) {
  if (r.type != "yarn" && r.type != "longrope") return 1.0;
  if (r.attention_factor > 0) return r.attention_factor;
  if (r.type == "longrope") {  // as the LongRoPE paper suggests, from the context's growth
    return r.factor <= 1
               ? 1.0
               : std::sqrt(1 + std::log(r.factor) / std::log(static_cast<double>(
                                                        r.original_max_position_embeddings)));
  }
  const auto mscale = [](double scale, double m) {
    return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0;
  };
  if (r.mscale > 0 && r.mscale_all_dim > 0) {
    return mscale(r.factor, r.mscale) / mscale(r.factor, r.mscale_all_dim);
  }
  return mscale(r.factor, 1.0);
}

// The rotary embedding's inverse frequencies, float32 [head_dim / 2] on the
// CPU, as transformers computes them (float32 throughout) for a forward pass
// that reaches `seq_len` positions; only "dynamic" and "longrope" depend on that.
at::Tensor rope_frequencies(const BuiltinConfig& config, int64_t dim, int64_t seq_len) {
  const RopeScaling& r = config.rope_scaling;
  const auto fail = [&](const std::string& problem) {
    throw Error("built-in model: rope_scaling " + problem);
  };
  if (r.type != "default" && r.type != "longrope" &&
      !(r.factor >= 1.0 || (r.type == "linear" && r.factor > 0))) {
    fail("factor " + std::to_string(r.factor) + " is out of range");
  }
  double base = config.rope_theta;
  if (!(base > 0)) throw Error("built-in model: rope_theta must be positive");
  if (r.type == "dynamic" && seq_len > config.n_positions) {
    const double scale =
        r.factor * static_cast<double>(seq_len) / config.n_positions - (r.factor - 1);
    base *= std::pow(scale, static_cast<double>(dim) / static_cast<double>(dim - 2));
  }
  const at::Tensor exponent = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / dim;
  at::Tensor inv_freq = 1.0 / at::pow(base, exponent);
  if (r.type == "default" || r.type == "dynamic") return inv_freq;
  if (r.type == "linear") return inv_freq / r.factor;
  if (r.type == "yarn") return yarn_frequencies(r, base, dim);
  if (r.type == "longrope") {
    const std::vector<double>& factors =
        seq_len > r.original_max_position_embeddings ? r.long_factor : r.short_factor;
    if (static_cast<int64_t>(factors.size()) != dim / 2) {
      fail("longrope needs " + std::to_string(dim / 2) +
           " short_factor and long_factor values (head_dim / 2), not " +
           std::to_string(factors.size()));
    }
    const at::Tensor extension = at::tensor(factors, at::kDouble).to(at::kFloat);
    return 1.0 / (extension * at::pow(base, exponent));
  }
  if (r.type != "llama3") {
    fail("type '" + r.type +
         "' is not supported; expected default, linear, dynamic, llama3, yarn or longrope");
  }
  if (!(r.high_freq_factor > r.low_freq_factor) || !(r.low_freq_factor > 0) ||
      r.original_max_position_embeddings <= 0) {
    fail(
        "llama3 needs high_freq_factor > low_freq_factor > 0 and a positive "
        "original_max_position_embeddings");
  }
  // Long wavelengths are stretched by `factor`, short ones kept, the band
  // between blended smoothly (Llama 3.1).
  const auto old_context = static_cast<double>(r.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / r.low_freq_factor;
  const double high_freq_wavelen = old_context / r.high_freq_factor;
  const at::Tensor wavelen = 2 * M_PI / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / r.factor, inv_freq);
  const at::Tensor smooth =
      (old_context / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
  const at::Tensor smoothed = (1 - smooth) * scaled / r.factor + smooth * scaled;
  const at::Tensor medium = at::logical_not(wavelen < high_freq_wavelen)
                                .logical_and(at::logical_not(wavelen > low_freq_wavelen));
  return at::where(medium, smoothed, scaled);
}

// x * cos + rotate_half(x) * sin, rotate_half(x) = (-x2, x1).
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;
}

}  // namespace detllm::internal
