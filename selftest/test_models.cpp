#include "test_models.h"

#include <torch/script.h>

#include <filesystem>
#include <random>

#include "internal/file_util.h"

namespace detllm::testing {
namespace {

constexpr int64_t kVocab = 256, kPositions = 128, kWidth = 32;

std::string forward_source(Defect defect) {
  const bool correct_mask = defect != Defect::kIgnoresPadding && defect != Defect::kNoMaskArgument;
  std::string s = defect == Defect::kNoMaskArgument
                      ? "def forward(self, input_ids):\n"
                      : "def forward(self, input_ids, attention_mask):\n";
  s += R"(    B = input_ids.size(0)
    T = input_ids.size(1)
    C = self.wte.size(1)
    H = 2
    D = C // H
)";
  s += correct_mask
           ? "    pos = torch.clamp(torch.cumsum(attention_mask, 1) - 1, min=0)\n"
           : "    pos = torch.arange(T, device=input_ids.device).unsqueeze(0).expand(B, T)\n";
  s += R"(    x = torch.embedding(self.wte, input_ids) + torch.embedding(self.wpe, pos)
    h = torch.layer_norm(x, [C], self.ln1_w, self.ln1_b, 1e-5, False)
    qkv = torch.matmul(h, self.w_qkv) + self.b_qkv
    q = qkv[:, :, 0:C].reshape(B, T, H, D).transpose(1, 2)
    k = qkv[:, :, C:2 * C].reshape(B, T, H, D).transpose(1, 2)
    v = qkv[:, :, 2 * C:3 * C].reshape(B, T, H, D).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / (D ** 0.5))
    allowed = (torch.tril(torch.ones(T, T, device=input_ids.device)) > 0).unsqueeze(0).unsqueeze(0)
)";
  if (correct_mask) s += "    allowed = allowed & (attention_mask.unsqueeze(1).unsqueeze(2) > 0)\n";
  s += R"(    scores = scores.masked_fill(torch.logical_not(allowed), -1e9)
    y = torch.matmul(torch.softmax(scores, -1), v).transpose(1, 2).reshape(B, T, C)
    x = x + torch.matmul(y, self.w_o) + self.b_o
    h = torch.layer_norm(x, [C], self.ln2_w, self.ln2_b, 1e-5, False)
    x = x + torch.matmul(torch.gelu(torch.matmul(h, self.w_fc) + self.b_fc), self.w_proj) + self.b_proj
    x = torch.layer_norm(x, [C], self.lnf_w, self.lnf_b, 1e-5, False)
    logits = torch.matmul(x, self.wte.t())
)";
  switch (defect) {
    case Defect::kDropoutLeftOn:
      s += "    logits = logits + torch.rand_like(logits) * 4.0\n";
      break;
    case Defect::kTinyNoise:
      s += "    logits = logits + torch.rand_like(logits) * 1e-4\n";
      break;
    case Defect::kNanAfter12:
      s += "    if T >= 12:\n        logits = logits + (logits - logits) / 0.0\n";
      break;
    case Defect::kFlatLogits:
      s += "    return logits.reshape(B * T, -1)\n";
      break;
    case Defect::kTupleOutput:
      s += "    return (logits, x)\n";
      break;
    case Defect::kAtomicSum:
      // 65536 float32 values of mixed signs and magnitudes summed into one slot:
      // the rounding depends on the order of the additions, which CUDA's atomics
      // do not fix. The sum nudges one logit, so logprobs show any change.
      s += R"(    k = torch.arange(65536, device=input_ids.device).float()
    src = torch.sin(k) * 1000.0 + 0.123
    acc = torch.zeros(1, device=input_ids.device).index_add(0, torch.zeros(65536, device=input_ids.device).long(), src)
    logits = logits + (torch.arange(logits.size(2), device=input_ids.device) == 65).float() * acc * 0.001
)";
      break;
    default:
      break;
  }
  s += "    return logits\n";
  return s;
}

const char* file_name(Defect defect) {
  switch (defect) {
    case Defect::kNone:
      return "correct";
    case Defect::kIgnoresPadding:
      return "ignores_padding";
    case Defect::kDropoutLeftOn:
      return "dropout_left_on";
    case Defect::kTinyNoise:
      return "tiny_noise";
    case Defect::kNanAfter12:
      return "nan_after_12";
    case Defect::kFlatLogits:
      return "flat_logits";
    case Defect::kTupleOutput:
      return "tuple_output";
    case Defect::kNoMaskArgument:
      return "no_mask_argument";
    case Defect::kAtomicSum:
      return "atomic_sum";
  }
  return "model";
}

}  // namespace

std::string write_torchscript_model(const std::string& dir, Defect defect) {
  torch::jit::Module module("TinyTransformer");
  auto generator = at::detail::createCPUGenerator(1234);
  auto normal = [&](at::IntArrayRef sizes, double std) {
    return at::empty(sizes, at::kFloat).normal_(0.0, std, generator);
  };
  const int64_t C = kWidth;
  module.register_parameter("wte", normal({kVocab, C}, 1.0), false);
  module.register_parameter("wpe", normal({kPositions, C}, 0.1), false);
  for (const char* name : {"ln1", "ln2", "lnf"}) {
    module.register_parameter(std::string(name) + "_w", at::ones({C}), false);
    module.register_parameter(std::string(name) + "_b", at::zeros({C}), false);
  }
  module.register_parameter("w_qkv", normal({C, 3 * C}, 0.6), false);
  module.register_parameter("b_qkv", at::zeros({3 * C}), false);
  module.register_parameter("w_o", normal({C, C}, 0.6), false);
  module.register_parameter("b_o", at::zeros({C}), false);
  module.register_parameter("w_fc", normal({C, 4 * C}, 0.6), false);
  module.register_parameter("b_fc", at::zeros({4 * C}), false);
  module.register_parameter("w_proj", normal({4 * C, C}, 0.6), false);
  module.register_parameter("b_proj", at::zeros({C}), false);
  module.define(forward_source(defect));
  const std::string path = dir + "/" + file_name(defect) + ".pt";
  module.save(path);
  return path;
}

TempDir::TempDir() {
  std::random_device entropy;
  path_ = (std::filesystem::temp_directory_path() /
           ("detllm_selftest_" + std::to_string(entropy()) + std::to_string(entropy())))
              .string();
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() { internal::remove_tree(path_); }

}  // namespace detllm::testing
