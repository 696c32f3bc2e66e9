// The main job on the built-in model: a determinism check over a few prompts
// (repeated runs, several batch sizes and needle trials, tier 1), printing the
// report and where the repro pack is. Usage: detllm_demo [model] [artifact-dir] [device] [dtype]
//   model: builtin:tiny (default), builtin:small, or a TorchScript file;
//   device: cpu (default), cuda, cuda:N; dtype: float32 (default), bfloat16, float16.
#include <iostream>

#include "detllm_test/check.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"

int main(int argc, char** argv) {
  detllm::prepare_process_environment();  // before anything touches CUDA
  try {
    detllm::ModelOptions model_options;
    if (argc > 3) model_options.device = argv[3];
    if (argc > 4) model_options.dtype = argv[4];
    auto model = detllm::load_model(argc > 1 ? argv[1] : "builtin:tiny", model_options);
    detllm::CheckOptions options;
    options.runs = 5;
    options.vary_batch = {1, 4, 16};
    options.needle_trials = 4;
    options.determinism.tier = 1;  // tokens; examples/quickstart shows tier 2
    options.decoding.max_new_tokens = 24;
    options.out_dir = argc > 2 ? argv[2] : "artifacts";
    const std::vector<detllm::Prompt> prompts = {
        "Choose one: A or B.", "The capital of France is",
        "def fibonacci(n):", "Once upon a time, in a land far away,"};
    detllm::CheckResult result = detllm::check(*model, prompts, options);
    std::cout << detllm::render_text(result.report) << "repro pack: " << result.pack_dir << "\n";
    return result.passed() ? 0 : 1;
  } catch (const detllm::Error& e) {
    std::cerr << "detllm_demo: " << e.what() << "\n";
    return 2;
  }
}
