"""The fixtures of the AOTInductor tests (aoti_test.cpp), exported by the pinned
torch, the one whose libtorch the 2.x build links:

  <name>.pt2         torch._inductor.aoti_compile_and_package of
                     forward(input_ids, attention_mask) -> logits [B, T, V],
                     batch and sequence dynamic (torch.export.Dim)
  <name>/            the same weights as a checkpoint (save_pretrained), where
                     the engine can load it, so the C++ side compares logits
  traced_llama.pt    torch.jit.trace of transformers' Llama (TorchScript on 2.x)
  versions.json      torch's and transformers' versions

Every model has random weights (large, as the reference tests draw them: clear
margins) and the byte vocabulary (256), so the byte tokenizer serves them.
Packages record the torch version that compiled them in their metadata
(aot_inductor.metadata), which load_aoti_model checks.

Negative controls are real bugs, exported the same way:
  llama_padding_bug   forward drops the attention mask (and so the positions it
                      gives), so left padding leaks in
  llama_mutates       a buffer forward adds to its logits and then increments
and the packages for the loader's errors: static_shape (exported for batch 2
and 8 tokens only), ids_only (forward(input_ids)), and llama.pt2 with the
metadata a package of another torch version (other_torch) or of a CUDA export
(cuda_metadata) carries: this machine has one torch and no GPU to make those.
"""
import argparse
import concurrent.futures
import json
import os
import sys
import zipfile

import torch
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
from transformers import Qwen2Config, Qwen2ForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
from make_models import large_random_weights  # noqa: E402

VOCAB = 256
MAX_LENGTH = 128


def gpt2():
    return GPT2LMHeadModel(GPT2Config(vocab_size=VOCAB, n_positions=MAX_LENGTH, n_embd=64,
                                      n_layer=2, n_head=4, activation_function="gelu_new",
                                      bos_token_id=VOCAB - 1, eos_token_id=VOCAB - 1))


def llama(layers=2):
    return LlamaForCausalLM(LlamaConfig(
        vocab_size=VOCAB, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
        num_hidden_layers=layers, intermediate_size=160, max_position_embeddings=MAX_LENGTH,
        rms_norm_eps=1e-6, tie_word_embeddings=False))


def qwen2():
    return Qwen2ForCausalLM(Qwen2Config(
        vocab_size=VOCAB, hidden_size=48, num_attention_heads=4, num_key_value_heads=1,
        head_dim=16, num_hidden_layers=2, intermediate_size=96,
        max_position_embeddings=MAX_LENGTH, tie_word_embeddings=True))


class Logits(torch.nn.Module):
    """forward(input_ids, attention_mask) -> logits, as the C++ side calls it."""

    def __init__(self, model, drop_mask=False):
        super().__init__()
        self.model = model
        self.drop_mask = drop_mask

    def forward(self, input_ids, attention_mask):
        if self.drop_mask:
            # The padding bug, a real one: a wrapper that never passes the mask on,
            # so pad tokens are attended to and positions count them.
            return self.model(input_ids=input_ids, use_cache=False).logits
        # Position ids from the mask, as generate() makes them for left padding.
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          position_ids=positions, use_cache=False).logits


class MutatesABuffer(Logits):
    """A model with state: every call adds a growing offset to one logit."""

    def __init__(self, model):
        super().__init__(model)
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, input_ids, attention_mask):
        logits = super().forward(input_ids, attention_mask)
        self.calls.add_(1.0)
        bump = torch.zeros(VOCAB, device=logits.device)
        bump[0] = 1.0
        return logits + (3.0 * self.calls) * bump


class IdsOnly(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids=input_ids, use_cache=False).logits


DEVICE = "cpu"  # --device: where the packages are compiled for (cuda on a GPU machine)


def example(batch=2, length=8):
    ids = torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(0))
    return ids.to(DEVICE), torch.ones_like(ids).to(DEVICE)


def export_package(module, path, dynamic=True, inputs=None):
    module.eval().to(DEVICE)
    inputs = inputs if inputs is not None else example()
    shapes = None
    if dynamic:
        batch = torch.export.Dim("batch", min=1, max=64)
        length = torch.export.Dim("length", min=2, max=MAX_LENGTH)
        shapes = tuple({0: batch, 1: length} for _ in inputs)
    with torch.no_grad():
        program = torch.export.export(module, inputs, dynamic_shapes=shapes)
        torch._inductor.aoti_compile_and_package(
            program, package_path=path,
            inductor_configs={"aot_inductor.metadata": {"torch_version": torch.__version__}})
    return path


def with_metadata(source, target, **changes):
    """A copy of a package whose wrapper metadata has `changes`."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("wrapper_metadata.json"):
                data = json.dumps({**json.loads(data), **changes}).encode()
            zout.writestr(item, data)


def make_models(out):
    """The modules to export, each with random weights from its own seed."""
    made = {}
    for seed, (name, factory) in enumerate([("gpt2", gpt2), ("llama", llama), ("qwen2", qwen2)]):
        torch.manual_seed(seed)
        model = factory().eval()
        large_random_weights(model, seed)
        model.save_pretrained(os.path.join(out, name))
        made[name] = model
    torch.manual_seed(7)
    small = llama(layers=1).eval()
    large_random_weights(small, 7)
    return {
        "gpt2": (Logits(made["gpt2"]), True, None),
        "llama": (Logits(made["llama"]), True, None),
        "qwen2": (Logits(made["qwen2"]), True, None),
        "llama_padding_bug": (Logits(made["llama"], drop_mask=True), True, None),
        "llama_mutates": (MutatesABuffer(small), True, None),
        "static_shape": (Logits(small), False, None),
        "ids_only": (IdsOnly(small), True, (example()[0],)),
    }, made["llama"]


def export_one(job):
    global DEVICE
    out, name, module, dynamic, inputs, DEVICE = job  # a worker process: its own global
    export_package(module, os.path.join(out, name + ".pt2"), dynamic, inputs)
    return name


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--device", default="cpu",
                        help="compile the packages for this device (cuda: scripts/gpu-run)")
    parser.add_argument("--only", nargs="*",
                        help="export only these packages (and their checkpoints), nothing else")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    modules, traced_source = make_models(args.out)
    if args.only:
        with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
            jobs = [(args.out, name, *modules[name], DEVICE) for name in args.only]
            for name in pool.map(export_one, jobs):
                print(f"exported {name}.pt2 for {DEVICE}", flush=True)
        return

    # TorchScript from a real transformers model: traced at batch 2 and 8 tokens,
    # it must still serve other shapes.
    with torch.no_grad():
        traced = torch.jit.trace(Logits(traced_source).eval(), example(), check_trace=False)
    traced.save(os.path.join(args.out, "traced_llama.pt"))

    # Compiling a package is mostly the C++ compiler's time: one process each.
    jobs = [(args.out, name, m, d, i, DEVICE) for name, (m, d, i) in modules.items()]
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for name in pool.map(export_one, jobs):
            print(f"exported {name}.pt2", flush=True)
    llama_package = os.path.join(args.out, "llama.pt2")
    with_metadata(llama_package, os.path.join(args.out, "other_torch.pt2"),
                  torch_version="2.11.0+cu130")
    with_metadata(llama_package, os.path.join(args.out, "cuda_metadata.pt2"),
                  AOTI_DEVICE_KEY="cuda")
    with open(os.path.join(args.out, "versions.json"), "w") as f:
        json.dump({"torch": torch.__version__, "transformers": transformers.__version__}, f)


if __name__ == "__main__":
    main()
