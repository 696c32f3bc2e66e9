#include "explain/localize.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>

#include "detllm_test/diff.h"
#include "explain/op_recorder.h"
#include "models/decoding.h"

namespace detllm::internal {
namespace {

std::vector<OpRecord> record(Generator& model, const LocalizationSide& side,
                             const GenerationConfig& config, bool& truncated) {
  const int before = at::get_num_threads();
  if (side.threads > 0) at::set_num_threads(side.threads);
  OpRecorder recorder;
  model.generate(side.batch, config);
  at::set_num_threads(before);
  truncated = truncated || recorder.truncated();
  return recorder.records();
}

// The prompt's row of a batch-major output: [B, ...] or [B * k, ...].
std::optional<at::Tensor> row_of(const at::Tensor& t, int64_t batch, int64_t row) {
  if (t.dim() == 0 || t.size(0) % batch != 0) return std::nullopt;
  std::vector<int64_t> shape = {batch, t.size(0) / batch};
  for (int64_t d = 1; d < t.dim(); ++d) shape.push_back(t.size(d));
  return t.reshape(shape).select(0, row);
}

// The two outputs made comparable, or nullopt if they cannot be.
std::optional<std::pair<at::Tensor, at::Tensor>> comparable(const at::Tensor& a,
                                                            const LocalizationSide& left,
                                                            const at::Tensor& b,
                                                            const LocalizationSide& right) {
  if (a.sizes() == b.sizes()) return std::make_pair(a, b);
  auto ra = row_of(a, static_cast<int64_t>(left.batch.size()), left.row);
  auto rb = row_of(b, static_cast<int64_t>(right.batch.size()), right.row);
  if (!ra || !rb || ra->dim() != rb->dim()) return std::nullopt;
  at::Tensor x = *ra, y = *rb;
  // Left padding puts a prompt's real positions last: align at the end.
  for (int64_t d = 0; d < x.dim(); ++d) {
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

// The records that compute a value.
std::vector<const OpRecord*> computing(const std::vector<OpRecord>& records) {
  std::vector<const OpRecord*> out;
  for (const OpRecord& r : records) {
    if (r.output.defined() && !moves_data_only(r.name)) out.push_back(&r);
  }
  return out;
}

bool bitwise_equal(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const at::Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
}

void measure(const at::Tensor& a, const at::Tensor& b, OpDivergence& op) {
  if (a.sizes() != b.sizes() || a.numel() == 0) return;
  const at::Tensor x = a.to(at::kDouble).contiguous(), y = b.to(at::kDouble).contiguous();
  const double* px = x.data_ptr<double>();
  const double* py = y.data_ptr<double>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (std::isnan(px[i]) && std::isnan(py[i])) continue;
    op.max_abs_diff = std::max(op.max_abs_diff, std::fabs(px[i] - py[i]));
    op.max_ulps = std::max(op.max_ulps, float32_ulps(px[i], py[i]));
  }
}

}  // namespace

std::optional<OpDivergence> first_divergent_op(Generator& model, const LocalizationSide& left,
                                               const LocalizationSide& right,
                                               const GenerationConfig& config, std::string& why) {
  bool truncated = false;
  const std::vector<OpRecord> a = record(model, left, config, truncated);
  const std::vector<OpRecord> b = record(model, right, config, truncated);
  if (a.empty() && b.empty()) {
    why = "no ATen op was observed while the model ran (is it a libtorch model?)";
    return std::nullopt;
  }
  const std::vector<const OpRecord*> ca = computing(a), cb = computing(b);
  int equal = 0;
  const size_t n = std::min(ca.size(), cb.size());
  for (size_t i = 0; i < n; ++i) {
    const OpRecord& x = *ca[i];
    const OpRecord& y = *cb[i];
    OpDivergence op;
    op.op = x.name;
    op.call_index = static_cast<int>(i);
    op.scope = x.scope;
    op.left_inputs = x.input_shapes;
    op.right_inputs = y.input_shapes;
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
    measure(pair->first, pair->second, op);
    return op;
  }
  why = ca.size() != cb.size()
            ? "the two sides ran " + std::to_string(ca.size()) + " and " +
                  std::to_string(cb.size()) + " computing ops, equal as far as both went"
            : "the re-runs of the two sides agreed op for op (" + std::to_string(equal) +
                  " ops compared): the divergence did not reproduce during localisation";
  if (truncated) why += "; recording stopped at its memory limit";
  return std::nullopt;
}

}  // namespace detllm::internal
