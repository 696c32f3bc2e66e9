// The decoding loop shared by the libtorch models: left padding, greedy or
// seeded sampling per request, eos, logprobs and margins, checked logits.
#include "models/decoding.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>

#include "artifacts/sha256.h"
#include "detllm_test/error.h"
#include "models/model_hooks.h"

namespace detllm::internal {
namespace {

void check_logits(const at::Tensor& logits, int64_t batch, int step) {
  if (logits.dim() != 2 || logits.size(0) != batch || logits.size(1) < 2) {
    throw Error("model returned logits of shape " + shape_of(logits) + " at generated token " +
                std::to_string(step) + "; expected [" + std::to_string(batch) +
                ", V] for the last position (V >= 2)");
  }
  if (!at::isFloatingType(logits.scalar_type())) {
    throw Error(std::string("model returned logits of type ") +
                c10::toString(logits.scalar_type()) + "; expected a floating-point type");
  }
  // The largest real vocabularies have a few hundred thousand tokens; each
  // step copies the logits a few times (float32, host, top-k), so a runaway
  // one is refused before those copies.
  constexpr int64_t kMaxVocab = int64_t{1} << 21;
  if (logits.size(1) > kMaxVocab) {
    throw Error("model returned logits over " + std::to_string(logits.size(1)) +
                " tokens at generated token " + std::to_string(step) + "; at most " +
                std::to_string(kMaxVocab) + " are supported");
  }
}

// A request's own sampling generator, seeded from (seed, its token ids), so its
// draws are the same whatever else shares the batch.
std::mt19937_64 request_generator(uint64_t seed, const TokenIds& ids) {
  const std::string digest = sha256_hex(std::to_string(seed) + ":" + nlohmann::json(ids).dump());
  return std::mt19937_64(std::stoull(digest.substr(0, 16), nullptr, 16));
}

// Samples from one row of logits with temperature, top-k and top-p, in double
// precision on the CPU: portable, and free of nondeterministic GPU kernels
// (a float cumsum has none on CUDA).
int64_t sample_row(const float* logits, int64_t vocab, const GenerationConfig& config,
                   std::mt19937_64& rng) {
  std::vector<int64_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  // Highest logit first; ties by lower id, so the order is total.
  auto higher = [&](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  int64_t keep = vocab;
  if (config.top_k > 0 && config.top_k < vocab) {
    keep = config.top_k;
    std::partial_sort(order.begin(), order.begin() + keep, order.end(), higher);
  } else {
    std::sort(order.begin(), order.end(), higher);
  }
  std::vector<double> probs(keep);
  const double top = logits[order[0]] / config.temperature;
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) {
    probs[i] = std::exp(logits[order[i]] / config.temperature - top);
    total += probs[i];
  }
  if (config.top_p < 1.0) {
    double cumulative = 0;
    int64_t nucleus = 0;
    while (nucleus < keep) {
      cumulative += probs[nucleus++] / total;
      if (cumulative >= config.top_p) break;
    }
    keep = nucleus;
    total = std::accumulate(probs.begin(), probs.begin() + keep, 0.0);
  }
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * total;
  double cumulative = 0;
  for (int64_t i = 0; i < keep; ++i) {
    cumulative += probs[i];
    if (u < cumulative) return order[i];
  }
  return order[keep - 1];
}

}  // namespace

std::string describe_torch_error(const std::exception& error) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&error);
  const std::string message = torch_error ? torch_error->what_without_backtrace() : error.what();
  // The line that says what went wrong: the first, or for an error raised inside
  // TorchScript, whose message is a traceback, the last.
  std::vector<std::string> lines;
  std::istringstream stream(message);
  for (std::string line; std::getline(stream, line);) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  }
  if (lines.empty()) return message;
  const bool traceback = message.find("Traceback of TorchScript") != std::string::npos;
  std::string text = traceback ? lines.back() : lines.front();
  const std::string prefix = "RuntimeError: ";
  if (text.rfind(prefix, 0) == 0) text = text.substr(prefix.size());
  const std::string marker = " does not have a deterministic implementation";
  const size_t at = text.find(marker);
  if (at == std::string::npos) return text;
  const std::string op = text.substr(0, at);
  std::string advice =
      "rewrite that step with ops that have deterministic kernels, run it on the CPU";
  if (op.find("index_add") != std::string::npos || op.find("scatter") != std::string::npos ||
      op.find("index_put") != std::string::npos) {
    advice =
        "accumulate without atomics (sort the indices and sum segments, or a one-hot matmul), "
        "run it on the CPU";
  } else if (op == "put_") {
    advice =
        "write each index once (index_copy_ or scatter_ with unique indices) or use "
        "put_(..., accumulate=true)";
  } else if (op.find("cumsum") != std::string::npos) {
    advice = "compute the cumulative sum on the CPU";
  }
  return op +
         " has no deterministic kernel on this device, so deterministic algorithms stop it "
         "(libtorch: " +
         text + "). To keep the guarantee, " + advice +
         "; to run anyway without it, set DeterminismOptions::warn_only";
}

std::string shape_of(at::IntArrayRef sizes) {
  std::string shape = "[";
  for (size_t i = 0; i < sizes.size(); ++i) shape += (i ? ", " : "") + std::to_string(sizes[i]);
  return shape + "]";
}

std::string shape_of(const at::Tensor& tensor) { return shape_of(tensor.sizes()); }

namespace {

// A batch left-padded into ids and mask [B, T] on `device`: real tokens end at
// the same column, so the next token of every row is predicted from the last.
std::pair<at::Tensor, at::Tensor> left_padded(const std::vector<TokenIds>& batch,
                                              const at::Device& device, int64_t pad_id) {
  const auto rows = static_cast<int64_t>(batch.size());
  int64_t longest = 0;
  for (const TokenIds& ids : batch) {
    if (ids.empty()) throw Error("empty prompt in batch: every prompt needs at least one token");
    longest = std::max<int64_t>(longest, static_cast<int64_t>(ids.size()));
  }
  std::vector<int64_t> ids_host(rows * longest, pad_id), mask_host(rows * longest, 0);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t offset = longest - static_cast<int64_t>(batch[r].size());
    std::copy(batch[r].begin(), batch[r].end(), ids_host.begin() + r * longest + offset);
    std::fill(mask_host.begin() + r * longest + offset, mask_host.begin() + (r + 1) * longest, 1);
  }
  auto long_options = at::TensorOptions().dtype(at::kLong);
  return {at::from_blob(ids_host.data(), {rows, longest}, long_options).to(device, false, true),
          at::from_blob(mask_host.data(), {rows, longest}, long_options).to(device, false, true)};
}

// What each decoding step chose, kept on the device until the end.
struct Steps {
  std::vector<at::Tensor> chosen, logprobs, margins, bad;
  std::vector<bool> finished;         // the row produced its stop token
  std::vector<int64_t> stop_lengths;  // length of a row that hit its stop token
};

// Per row: the generated tokens, margins and logprobs, up to its stop token;
// throws NonFiniteLogits for a step whose logits were not finite.
std::vector<Generation> collect(const Steps& steps, int64_t rows, bool with_logprobs) {
  const auto count = static_cast<int64_t>(steps.chosen.size());
  at::Tensor bad_all = at::stack(steps.bad, 1).to(at::kCPU).contiguous();  // [B, steps]
  at::Tensor chosen_all = at::stack(steps.chosen, 1).to(at::kCPU).contiguous();
  at::Tensor margin_all = at::stack(steps.margins, 1).to(at::kCPU).to(at::kDouble).contiguous();
  at::Tensor logprob_all;
  if (with_logprobs) {
    logprob_all = at::stack(steps.logprobs, 1).to(at::kCPU).to(at::kDouble).contiguous();
  }
  std::vector<Generation> out(rows);
  for (int64_t r = 0; r < rows; ++r) {
    // A row that produced its stop token ends there (the token is kept).
    const int64_t length = steps.finished[r] ? steps.stop_lengths[r] : count;
    const bool* bad_row = bad_all.data_ptr<bool>() + r * count;
    for (int64_t s = 0; s < length; ++s) {
      if (bad_row[s]) throw NonFiniteLogits(static_cast<int>(r), static_cast<int>(s));
    }
    const int64_t* chosen_row = chosen_all.data_ptr<int64_t>() + r * count;
    const double* margin_row = margin_all.data_ptr<double>() + r * count;
    out[r].tokens.assign(chosen_row, chosen_row + length);
    out[r].logit_margins.assign(margin_row, margin_row + length);
    if (with_logprobs) {
      const double* logprob_row = logprob_all.data_ptr<double>() + r * count;
      out[r].logprobs.assign(logprob_row, logprob_row + length);
    }
  }
  return out;
}

}  // namespace

SequenceScores scores_from_logits(const at::Tensor& logits, const TokenIds& sequence,
                                  size_t prompt_length) {
  SequenceScores out;
  if (prompt_length == 0 || prompt_length >= sequence.size()) return out;
  const auto first = static_cast<int64_t>(prompt_length) - 1;
  const auto count = static_cast<int64_t>(sequence.size() - prompt_length);
  at::Tensor scores = logits.narrow(0, first, count).to(at::kFloat);  // [count, V]
  at::Tensor next = at::tensor(TokenIds(sequence.begin() + prompt_length, sequence.end()),
                               at::TensorOptions().dtype(at::kLong))
                        .to(scores.device());
  auto top = scores.topk(2, -1);
  at::Tensor values = std::get<0>(top).to(at::kCPU).to(at::kDouble).contiguous();
  at::Tensor argmax = std::get<1>(top).select(1, 0).to(at::kCPU).contiguous();
  at::Tensor logprobs = at::log_softmax(scores, -1)
                            .gather(1, next.unsqueeze(1))
                            .squeeze(1)
                            .to(at::kCPU)
                            .to(at::kDouble)
                            .contiguous();
  for (int64_t i = 0; i < count; ++i) {
    out.argmax.push_back(argmax.data_ptr<int64_t>()[i]);
    out.logprobs.push_back(logprobs.data_ptr<double>()[i]);
    out.logit_margins.push_back(values.data_ptr<double>()[2 * i] -
                                values.data_ptr<double>()[2 * i + 1]);
  }
  return out;
}

std::vector<Generation> decode(LogitsModel& model, const std::vector<TokenIds>& batch,
                               const GenerationConfig& config, const at::Device& device,
                               int64_t pad_id, const std::vector<int64_t>& model_eos) {
  const auto rows = static_cast<int64_t>(batch.size());
  if (rows == 0) return {};
  auto [ids, mask] = left_padded(batch, device, pad_id);
  const bool sampling = config.do_sample;
  // Greedy decoding without a stop token keeps everything on the device and
  // synchronizes once at the end; sampling and stop tokens need the host per step.
  std::vector<int64_t> stop_ids = config.ignore_eos ? std::vector<int64_t>() : model_eos;
  if (config.eos_token_id) stop_ids = {*config.eos_token_id};
  const bool host_each_step = sampling || !stop_ids.empty();
  std::vector<std::mt19937_64> generators;
  if (sampling) {
    for (const TokenIds& ids_of_row : batch) {
      generators.push_back(request_generator(config.seed, ids_of_row));
    }
  }
  Steps steps;
  steps.finished.assign(rows, false);
  steps.stop_lengths.assign(rows, -1);

  mark_forward_pass();  // for localisation (src/explain/)
  at::Tensor logits = model.prefill(ids, mask);
  for (int step = 0; step < config.max_new_tokens; ++step) {
    check_logits(logits, rows, step);
    at::Tensor scores = logits.to(at::kFloat);
    at::Tensor bad = at::logical_not(at::isfinite(scores)).any(-1);
    auto top = scores.topk(2, -1);
    at::Tensor top_values = std::get<0>(top);
    at::Tensor chosen = std::get<1>(top).select(1, 0);  // greedy
    if (host_each_step) {
      at::Tensor bad_host = bad.to(at::kCPU).contiguous();
      for (int64_t r = 0; r < rows; ++r) {
        if (!steps.finished[r] && bad_host.data_ptr<bool>()[r]) {
          throw NonFiniteLogits(static_cast<int>(r), step);
        }
      }
    }
    if (sampling) {
      at::Tensor host = scores.to(at::kCPU).contiguous();
      const int64_t vocab = host.size(1);
      std::vector<int64_t> picks(rows);
      for (int64_t r = 0; r < rows; ++r) {
        picks[r] = sample_row(host.data_ptr<float>() + r * vocab, vocab, config, generators[r]);
      }
      chosen = at::tensor(picks, at::TensorOptions().dtype(at::kLong)).to(device);
    }
    steps.chosen.push_back(chosen);
    steps.margins.push_back(top_values.select(1, 0) - top_values.select(1, 1));
    steps.bad.push_back(bad);
    if (config.capture_logprobs) {
      steps.logprobs.push_back(
          at::log_softmax(scores, -1).gather(1, chosen.unsqueeze(1)).squeeze(1));
    }
    if (host_each_step) {
      at::Tensor chosen_host = chosen.to(at::kCPU).contiguous();
      bool all_finished = true;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t token = chosen_host.data_ptr<int64_t>()[r];
        if (!steps.finished[r] &&
            std::find(stop_ids.begin(), stop_ids.end(), token) != stop_ids.end()) {
          steps.finished[r] = true;
          steps.stop_lengths[r] = step + 1;
        }
        all_finished = all_finished && steps.finished[r];
      }
      if (all_finished) break;
    }
    if (step + 1 < config.max_new_tokens) {
      mask = at::cat({mask, at::ones({rows, 1}, mask.options())}, 1);
      mark_forward_pass();
      logits = model.step(chosen.view({rows, 1}), mask);
    }
  }
  return collect(steps, rows, config.capture_logprobs);
}

}  // namespace detllm::internal
