// Localisation: the two sides of a divergence run again with an OpRecorder,
// op by op and layer by layer, to name the first op whose output differs.
#include "explain/localize.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "artifacts/sha256.h"
#include "detllm_test/diff.h"
#include "explain/op_recorder.h"
#include "models/decoding.h"

namespace detllm::internal {
namespace {

struct Recording {
  std::vector<OpRecord> ops;
  std::vector<LayerOutput> layers;
  std::vector<RoutingRecord> routing;
  std::vector<size_t> pass_starts, layer_pass_starts, routing_pass_starts;  // per forward pass
  bool truncated = false;
  TokenIds tokens;  // the prompt's row's generated tokens
};

Recording record(Generator& model, const LocalizationSide& side, const GenerationConfig& config) {
  const int before = at::get_num_threads();
  if (side.threads > 0) at::set_num_threads(side.threads);
  OpRecorder recorder;
  std::vector<Generation> out;
  try {
    out = model.generate(side.batch, config);
  } catch (...) {
    at::set_num_threads(before);
    throw;
  }
  at::set_num_threads(before);
  TokenIds tokens = side.row < static_cast<int>(out.size()) ? out[side.row].tokens : TokenIds{};
  Recording recording;
  recording.truncated = recorder.truncated();
  recording.pass_starts = recorder.pass_starts();
  recording.layer_pass_starts = recorder.layer_pass_starts();
  recording.routing_pass_starts = recorder.routing_pass_starts();
  recording.ops = recorder.take_records();
  recording.layers = recorder.take_layer_outputs();
  recording.routing = recorder.take_routing();
  recording.tokens = std::move(tokens);
  return recording;
}

// The prompt's row of a batch-major output: [B, ...] or [B * k, ...].
std::optional<at::Tensor> row_of(const at::Tensor& t, int64_t batch, int64_t row) {
  if (t.dim() == 0 || t.size(0) % batch != 0) return std::nullopt;
  std::vector<int64_t> shape = {batch, t.size(0) / batch};
  for (int64_t d = 1; d < t.dim(); ++d) shape.push_back(t.size(d));
  return t.reshape(shape).select(0, row);
}

// How many positions of left padding a side's batch puts before its prompt.
int64_t padding_of(const LocalizationSide& side) {
  size_t longest = 0;
  for (const TokenIds& ids : side.batch) longest = std::max(longest, ids.size());
  return static_cast<int64_t>(longest - side.batch[side.row].size());
}

// The two outputs made comparable, or nullopt if they cannot be: whole
// outputs of one shape, else the prompt's row of each (batch-major layouts),
// where every dimension that differs differs by the two sides' difference in
// left padding (a sequence dimension), aligned at its end.
std::optional<std::pair<at::Tensor, at::Tensor>> comparable(const at::Tensor& a,
                                                            const LocalizationSide& left,
                                                            const at::Tensor& b,
                                                            const LocalizationSide& right) {
  if (a.sizes() == b.sizes()) return std::make_pair(a, b);
  auto ra = row_of(a, static_cast<int64_t>(left.batch.size()), left.row);
  auto rb = row_of(b, static_cast<int64_t>(right.batch.size()), right.row);
  if (!ra || !rb || ra->dim() != rb->dim()) return std::nullopt;
  const int64_t extra = padding_of(right) - padding_of(left);
  at::Tensor x = *ra, y = *rb;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (x.size(d) == y.size(d)) continue;
    if (y.size(d) - x.size(d) != extra) return std::nullopt;  // not the prompt's positions
    const int64_t n = std::min(x.size(d), y.size(d));
    x = x.narrow(d, x.size(d) - n, n);
    y = y.narrow(d, y.size(d) - n, n);
  }
  return std::make_pair(x, y);
}

// Ops that allocate, view, copy or convert: their outputs hold an input's
// values, or nothing yet. Which of them run depends on layouts (a reshape
// copies only a non-contiguous tensor), so they are left out of the op
// sequences compared; the ops that compute are what localisation names.
bool moves_data_only(const std::string& op) {
  static const char* const kOps[] = {
      "aten::empty",        "aten::new_empty",  "aten::resize_",
      "aten::set_",         "aten::clone",      "aten::contiguous",
      "aten::copy_",        "aten::_to_copy",   "aten::to",
      "aten::reshape",      "aten::view",       "aten::_reshape_alias",
      "aten::_unsafe_view", "aten::as_strided", "aten::select",
      "aten::slice",        "aten::transpose",  "aten::t",
      "aten::expand",       "aten::permute",    "aten::unsqueeze",
      "aten::squeeze",      "aten::detach",     "aten::alias",
      "aten::narrow",       "aten::lift_fresh", "aten::unbind",
      "aten::split",        "aten::chunk",      "aten::view_as",
      "aten::flatten",      "aten::zero_",      "aten::fill_",
      "aten::resolve_conj", "aten::resolve_neg"};
  for (const char* name : kOps) {
    if (op == name || (op.rfind(name, 0) == 0 && op[std::strlen(name)] == '.')) return true;
  }
  return op.rfind("aten::empty", 0) == 0;
}

std::vector<std::string> shapes_of(const std::vector<std::vector<int64_t>>& sizes) {
  std::vector<std::string> out;
  for (const std::vector<int64_t>& s : sizes) out.push_back(shape_of(s));
  return out;
}

// Whether a record computes a value: what localisation compares. Ops whose
// number depends on the data (each expert a batch routes tokens to) cannot be
// aligned between two batches; what they combine into is compared instead.
bool computes(const OpRecord& r) {
  return r.output.defined() && !r.varies && !moves_data_only(r.name);
}

std::vector<const OpRecord*> computing(const std::vector<OpRecord>& records) {
  std::vector<const OpRecord*> out;
  for (const OpRecord& r : records) {
    if (computes(r)) out.push_back(&r);
  }
  return out;
}

bool bitwise_equal(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const at::Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
}

void measure(const at::Tensor& a, const at::Tensor& b, double& max_abs_diff, int64_t& max_ulps) {
  if (a.sizes() != b.sizes() || a.numel() == 0) return;
  const at::Tensor x = a.to(at::kDouble).contiguous(), y = b.to(at::kDouble).contiguous();
  const double* px = x.data_ptr<double>();
  const double* py = y.data_ptr<double>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (std::isnan(px[i]) && std::isnan(py[i])) continue;
    max_abs_diff = std::max(max_abs_diff, std::fabs(px[i] - py[i]));
    max_ulps = std::max(max_ulps, float32_ulps(px[i], py[i]));
  }
}

std::optional<OpDivergence> first_divergent_op(const Recording& a, const LocalizationSide& left,
                                               const Recording& b, const LocalizationSide& right,
                                               std::string& why) {
  const std::vector<const OpRecord*> ca = computing(a.ops), cb = computing(b.ops);
  int equal = 0;
  const size_t n = std::min(ca.size(), cb.size());
  for (size_t i = 0; i < n; ++i) {
    const OpRecord& x = *ca[i];
    const OpRecord& y = *cb[i];
    OpDivergence op;
    op.op = x.name;
    op.call_index = static_cast<int>(i);
    op.scope = x.scope;
    op.left_inputs = shapes_of(x.input_sizes);
    op.right_inputs = shapes_of(y.input_sizes);
    op.left_output = shape_of(x.output);
    op.right_output = shape_of(y.output);
    op.ops_equal_before = equal;
    if (x.name != y.name) {
      op.detail = "the two sides ran different ops here (" + x.name + " vs " + y.name + ")";
      return op;
    }
    const auto pair = comparable(x.output, left, y.output, right);
    if (!pair) continue;  // not comparable row for row: not counted either way
    if (bitwise_equal(pair->first, pair->second)) {
      ++equal;
      continue;
    }
    measure(pair->first, pair->second, op.max_abs_diff, op.max_ulps);
    return op;
  }
  why = ca.size() != cb.size()
            ? "the two sides ran " + std::to_string(ca.size()) + " and " +
                  std::to_string(cb.size()) + " computing ops, equal as far as both went"
            : "the re-runs of the two sides agreed op for op (" + std::to_string(equal) +
                  " ops compared): the divergence did not reproduce during localisation";
  return std::nullopt;
}

// `items` grouped by forward pass (0: the prefill, t: generated token t),
// given the index where each pass starts; those `keep` refuses are left out.
template <typename T, typename Keep>
std::vector<std::vector<const T*>> by_pass(const std::vector<T>& items,
                                           const std::vector<size_t>& starts, Keep keep) {
  std::vector<std::vector<const T*>> passes(starts.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (starts.empty() || i < starts.front() || !keep(items[i])) continue;
    const auto pass =
        static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), i) - starts.begin() - 1);
    passes[pass].push_back(&items[i]);
  }
  return passes;
}

// At the divergent token, the last one generated, or at the first token where
// the two re-runs chose differently (a nondeterministic model's re-runs need
// not diverge where the check's runs did): until then both passes read the
// same tokens, so what differs is computed differently.
std::optional<LayerDrift> layer_drift(const Recording& a, const LocalizationSide& left,
                                      const Recording& b, const LocalizationSide& right,
                                      int divergent_token) {
  if (a.layers.empty() || b.layers.empty() || a.truncated || b.truncated) return std::nullopt;
  int token = 0;
  while (token < divergent_token && token < static_cast<int>(a.tokens.size()) &&
         token < static_cast<int>(b.tokens.size()) && a.tokens[token] == b.tokens[token]) {
    ++token;
  }
  const auto every = [](const LayerOutput&) { return true; };
  const auto pa = by_pass(a.layers, a.layer_pass_starts, every);
  const auto pb = by_pass(b.layers, b.layer_pass_starts, every);
  if (token >= static_cast<int>(std::min(pa.size(), pb.size()))) return std::nullopt;
  const std::vector<const LayerOutput*>& la = pa[token];
  const std::vector<const LayerOutput*>& lb = pb[token];
  if (la.size() != lb.size()) return std::nullopt;
  LayerDrift drift;
  drift.token_index = token;
  for (size_t i = 0; i < la.size(); ++i) {
    const auto pair = comparable(la[i]->value, left, lb[i]->value, right);
    if (la[i]->layer != lb[i]->layer || !pair) return std::nullopt;
    LayerDrift::Layer layer;
    layer.name = la[i]->layer;
    measure(pair->first, pair->second, layer.max_abs_diff, layer.max_ulps);
    drift.layers.push_back(layer);
  }
  return drift;
}

std::vector<int64_t> ids_of(const at::Tensor& row) {
  const at::Tensor t = row.contiguous();
  return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
}

// The first of the prompt's tokens whose chosen experts differ, in the order
// the model routed them: by forward pass, then layer, then position. Padding
// positions are left out (their routing never reaches the prompt's outputs).
std::optional<ExpertRoutingDivergence> routing_divergence(const Recording& a,
                                                          const LocalizationSide& left,
                                                          const Recording& b,
                                                          const LocalizationSide& right) {
  const auto every = [](const RoutingRecord&) { return true; };
  const auto pa = by_pass(a.routing, a.routing_pass_starts, every);
  const auto pb = by_pass(b.routing, b.routing_pass_starts, every);
  const auto prompt = static_cast<int64_t>(left.batch[left.row].size());
  for (size_t pass = 0; pass < std::min(pa.size(), pb.size()); ++pass) {
    for (size_t i = 0; i < std::min(pa[pass].size(), pb[pass].size()); ++i) {
      const RoutingRecord& x = *pa[pass][i];
      const RoutingRecord& y = *pb[pass][i];
      // Each side's row of its batch, [T, K], aligned at the end (left padding).
      const auto ex = row_of(x.experts, static_cast<int64_t>(left.batch.size()), left.row);
      const auto ey = row_of(y.experts, static_cast<int64_t>(right.batch.size()), right.row);
      const auto mx = row_of(x.margins, static_cast<int64_t>(left.batch.size()), left.row);
      const auto my = row_of(y.margins, static_cast<int64_t>(right.batch.size()), right.row);
      if (x.layer != y.layer || !ex || !ey || !mx || !my) return std::nullopt;
      const int64_t n = std::min(ex->size(0), ey->size(0));
      const int64_t first = pass == 0 ? std::max<int64_t>(0, n - prompt) : 0;
      for (int64_t t = first; t < n; ++t) {
        const int64_t tx = ex->size(0) - n + t, ty = ey->size(0) - n + t;
        if (at::equal((*ex)[tx], (*ey)[ty])) continue;
        ExpertRoutingDivergence found;
        found.layer = x.layer;
        found.token_index = static_cast<int>(pass);
        found.position = static_cast<int>(pass == 0 ? t - (n - prompt) : prompt + pass - 1);
        found.left_experts = ids_of((*ex)[tx]);
        found.right_experts = ids_of((*ey)[ty]);
        found.left_margin = (*mx)[tx].item<double>();
        found.right_margin = (*my)[ty].item<double>();
        return found;
      }
    }
  }
  return std::nullopt;
}

// One output's fingerprint: of the prompt's row where the output is
// batch-major, else of all of it.
std::string fingerprint(const at::Tensor& output, int64_t batch, int64_t row) {
  const at::Tensor t = row_of(output, batch, row).value_or(output).contiguous();
  std::string bytes = shape_of(t) + " " + std::string(c10::toString(t.scalar_type())) + " ";
  bytes.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  return sha256_hex(bytes).substr(0, 16);
}

// A recording's computing ops, per forward pass.
std::vector<std::vector<const OpRecord*>> computing_passes(const Recording& r) {
  return by_pass(r.ops, r.pass_starts, computes);
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = std::min(text.find(' ', start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

std::vector<std::vector<std::string>> op_fingerprints(Generator& model,
                                                      const std::vector<TokenIds>& batch,
                                                      const GenerationConfig& config) {
  const Recording recording = record(model, {batch, 0, 0}, config);
  if (recording.ops.empty() || recording.truncated) return {};
  const auto passes = computing_passes(recording);
  std::vector<std::vector<std::string>> out(batch.size());
  for (size_t row = 0; row < batch.size(); ++row) {
    for (const std::vector<const OpRecord*>& pass : passes) {
      std::string line;
      for (const OpRecord* op : pass) {
        if (!line.empty()) line += ' ';
        line +=
            fingerprint(op->output, static_cast<int64_t>(batch.size()), static_cast<int64_t>(row));
      }
      out[row].push_back(std::move(line));
    }
  }
  return out;
}

Localization localize_against(Generator& model, const LocalizationSide& side,
                              const GenerationConfig& config,
                              const std::vector<std::string>& golden) {
  Localization result;
  const Recording recording = record(model, side, config);
  if (recording.ops.empty()) {
    result.why = "no ATen op was observed while the model ran (is it a libtorch model?)";
    return result;
  }
  const auto passes = computing_passes(recording);
  int index = 0;
  for (size_t p = 0; p < passes.size() && p < golden.size(); ++p) {
    const std::vector<std::string> expected = split(golden[p]);
    for (size_t i = 0; i < passes[p].size() && i < expected.size(); ++i, ++index) {
      const OpRecord& op = *passes[p][i];
      const std::string now =
          fingerprint(op.output, static_cast<int64_t>(side.batch.size()), side.row);
      if (now == expected[i]) continue;
      OpDivergence found;
      found.op = op.name;
      found.call_index = index;
      found.scope = op.scope;
      found.left_inputs = found.right_inputs = shapes_of(op.input_sizes);
      found.left_output = found.right_output = shape_of(op.output);
      found.ops_equal_before = index;
      found.detail = "its output " + shape_of(op.output) +
                     " differs from the golden's fingerprint (a golden keeps hashes, not values)";
      result.op = found;
      return result;
    }
    if (passes[p].size() != expected.size()) {
      result.why = "forward pass " + std::to_string(p) + " ran " +
                   std::to_string(passes[p].size()) + " computing ops, the golden's " +
                   std::to_string(expected.size()) + ", equal as far as both went";
      return result;
    }
  }
  result.why = "every op matched the golden's fingerprints (" + std::to_string(index) +
               " compared): the divergence did not reproduce during localisation";
  if (recording.truncated) result.why += "; recording stopped at its memory limit";
  return result;
}

void Localization::add_to(Report& report) const {
  report.first_divergent_op = op;
  report.layer_drift = layer_drift;
  report.expert_routing = expert_routing;
  if (!op) report.notes.push_back("first differing op not found: " + why);
}

Localization localize(Generator& model, const LocalizationSide& left, const LocalizationSide& right,
                      const GenerationConfig& config) {
  const Recording a = record(model, left, config);
  const Recording b = record(model, right, config);
  Localization result;
  if (a.ops.empty() && b.ops.empty()) {
    result.why = "no ATen op was observed while the model ran (is it a libtorch model?)";
    return result;
  }
  result.op = first_divergent_op(a, left, b, right, result.why);
  if (!result.op && (a.truncated || b.truncated)) {
    result.why += "; recording stopped at its memory limit";
  }
  result.layer_drift = layer_drift(a, left, b, right, config.max_new_tokens - 1);
  result.expert_routing = routing_divergence(a, left, b, right);
  return result;
}

}  // namespace detllm::internal
