// load_model() by name, and callable models.
#include "detllm_test/models.h"

#include <filesystem>

#include "detllm_test/error.h"
#include "detllm_test/openai_model.h"

namespace detllm {
namespace {

class CallableModel final : public Generator {
 public:
  CallableModel(GenerateFunction function, ModelInfo info,
                std::shared_ptr<const Tokenizer> tokenizer, ScoreFunction score)
      : function_(std::move(function)),
        score_(std::move(score)),
        info_(std::move(info)),
        tokenizer_(std::move(tokenizer)) {
    if (!function_) throw Error("make_callable_model: the generate function is empty");
    if (!tokenizer_) throw Error("make_callable_model: the tokenizer is null");
    if (info_.backend.empty()) info_.backend = "callable";
    if (info_.name.empty()) info_.name = "callable";
    if (info_.capabilities.ops_unobservable.empty()) {
      info_.capabilities.ops_unobservable = "a callable model's ops are its own";
    }
  }
  ModelInfo info() const override { return info_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  std::vector<Generation> generate(const std::vector<TokenIds>& batch,
                                   const GenerationConfig& config) override {
    return function_(batch, config);
  }
  std::optional<SequenceScores> score(const TokenIds& sequence, size_t prompt_length) override {
    if (!score_) return std::nullopt;
    return score_(sequence, prompt_length);
  }

 private:
  GenerateFunction function_;
  ScoreFunction score_;
  ModelInfo info_;
  std::shared_ptr<const Tokenizer> tokenizer_;
};

}  // namespace

std::unique_ptr<Generator> make_callable_model(GenerateFunction generate, ModelInfo info,
                                               std::shared_ptr<const Tokenizer> tokenizer,
                                               ScoreFunction score) {
  return std::make_unique<CallableModel>(std::move(generate), std::move(info), std::move(tokenizer),
                                         std::move(score));
}

std::unique_ptr<Generator> load_model(const std::string& spec, const ModelOptions& options) {
  const std::string builtin_prefix = "builtin:";
  if (spec.rfind(builtin_prefix, 0) == 0) {
    return make_builtin_model(BuiltinConfig::preset_named(spec.substr(builtin_prefix.size())),
                              options);
  }
  if (is_endpoint(spec)) return openai_model(openai_options_from_url(spec));
  if (spec.empty()) {
    throw Error(
        "no model given; use builtin:tiny, builtin:llama-tiny, a checkpoint directory, a .pt2 "
        "package or a .pt file");
  }
  std::error_code error;
  if (std::filesystem::is_directory(spec, error)) return load_hf_model(spec, options);
  if (std::filesystem::path(spec).extension() == ".pt2") return load_aoti_model(spec, options);
  return load_torchscript_model(spec, options);
}

}  // namespace detllm
