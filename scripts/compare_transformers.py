#!/usr/bin/env python3
"""Compares detllm's GPT-2 (the built-in transformer loading a Hugging Face
directory, and its byte-level BPE tokenizer) with transformers and tokenizers.

Needs Python with torch, transformers and tokenizers (the GPU machine has them;
docs/models.md) and a build of detllm_dump_gpt2. Nothing is downloaded: the
script trains a byte-level BPE tokenizer on generated text, creates random-weight
GPT-2 models from GPT2Config, saves each with save_pretrained, then compares

  * token ids: ours vs. tokenizers' ByteLevelBPETokenizer and transformers'
    AutoTokenizer, on a few thousand generated strings;
  * next-token logits (float32, eager attention): the max absolute difference;
  * greedy generations, token for token (a difference is only excused at a
    near-tie, where float32 rounding may flip the choice).

    python3 scripts/compare_transformers.py --dump build/selftest/detllm_dump_gpt2 \
        --devices cpu cuda --out compare.json

Exit status 0 when everything agrees within float32 rounding, 1 otherwise.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

# Before torch creates a cuBLAS handle: deterministic cuBLAS for the reference too.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_reference import PIECES, ReferenceEncoder, random_string  # noqa: E402
import regex  # noqa: E402

UNASSIGNED = regex.compile(r"\p{Cn}")

def train_tokenizer(directory, rng, vocab_size):
    from tokenizers import ByteLevelBPETokenizer
    tokenizer = ByteLevelBPETokenizer()
    texts = [random_string(rng) for _ in range(20000)]
    tokenizer.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2,
                                  special_tokens=["<|endoftext|>"], show_progress=False)
    tokenizer.save_model(directory)
    return len(json.load(open(os.path.join(directory, "vocab.json"), encoding="utf-8")))


def reference_tokenizers(directory):
    """(name, encode) for each reference tokenizer that can be built."""
    from tokenizers import ByteLevelBPETokenizer
    refs = []
    tok = ByteLevelBPETokenizer.from_file(os.path.join(directory, "vocab.json"),
                                          os.path.join(directory, "merges.txt"))
    tok.add_special_tokens(["<|endoftext|>"])
    refs.append(("tokenizers.ByteLevelBPETokenizer", lambda s: tok.encode(s).ids))
    vocab = json.load(open(os.path.join(directory, "vocab.json"), encoding="utf-8"))
    merges = [m for m in open(os.path.join(directory, "merges.txt"), encoding="utf-8").read().split("\n")
              if m and not m.startswith("#version")]
    refs.append(("OpenAI's encoder.py algorithm", ReferenceEncoder(vocab, merges).encode))
    try:
        from transformers import AutoTokenizer
        auto = AutoTokenizer.from_pretrained(directory)
        refs.append((f"transformers.{type(auto).__name__}",
                     lambda s: auto(s, add_special_tokens=False)["input_ids"]))
    except Exception as e:  # noqa: BLE001 - report, do not hide
        print(f"  transformers tokenizer unavailable: {e}")
    return refs


def make_model(directory, name, shape, vocab, seed):
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=vocab, n_positions=shape["n_positions"], n_embd=shape["n_embd"],
                        n_layer=shape["n_layer"], n_head=shape["n_head"],
                        initializer_range=shape.get("initializer_range", 0.02))
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # biases and norms random too, so a misplaced one shows
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(directory)  # safetensors: the default since transformers 4.35
    print(f"  {name}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters")


def reference_run(directory, device, prompt_ids, new_tokens):
    from transformers import GPT2LMHeadModel
    try:
        model = GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager", dtype=torch.float32)
    except TypeError:  # transformers 4 names it torch_dtype
        model = GPT2LMHeadModel.from_pretrained(directory, attn_implementation="eager",
                                                torch_dtype=torch.float32)
    model = model.to(device).eval()
    logits, generations = [], []
    with torch.no_grad():
        for ids in prompt_ids:
            x = torch.tensor([ids], device=device)
            logits.append(model(x).logits[0, -1].float().cpu())
            out = []
            for _ in range(new_tokens):  # greedy, the whole sequence each step
                nxt = int(model(x).logits[0, -1].argmax())
                out.append(nxt)
                x = torch.cat([x, torch.tensor([[nxt]], device=device)], 1)
            generations.append(out)
    return logits, generations


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump", required=True, help="path to the detllm_dump_gpt2 program")
    parser.add_argument("--devices", nargs="+", default=["cpu"])
    parser.add_argument("--strings", type=int, default=3000)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--vocab-size", type=int, default=4000)
    parser.add_argument("--out", default="compare.json")
    args = parser.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.use_deterministic_algorithms(True)
    import tokenizers
    import transformers
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"tokenizers {tokenizers.__version__}")
    rng = random.Random(0)
    work = tempfile.mkdtemp(prefix="detllm_compare_")
    tok_dir = os.path.join(work, "tokenizer")
    os.makedirs(tok_dir)
    vocab = train_tokenizer(tok_dir, rng, args.vocab_size)
    strings = [random_string(rng) for _ in range(args.strings)]
    strings += [p for group in PIECES.values() for p in group]
    prompts = [random_string(rng)[:30] or "Hello" for _ in range(12)]  # <= 120 byte tokens
    prompts += ["The capital of France is", "def fibonacci(n):", "I'm here  \n\nnow", "東京タワー"]
    with open(os.path.join(work, "strings.json"), "w", encoding="utf-8") as f:
        json.dump(strings, f)
    with open(os.path.join(work, "prompts.json"), "w", encoding="utf-8") as f:
        json.dump(prompts, f)

    shapes = {
        "tiny (2 layers, width 64)": dict(n_layer=2, n_embd=64, n_head=4, n_positions=256,
                                          initializer_range=0.2),
        "distilgpt2 shape (6 layers, width 768)": dict(n_layer=6, n_embd=768, n_head=12,
                                                       n_positions=1024, initializer_range=0.05),
        "gpt2 shape (12 layers, width 768)": dict(n_layer=12, n_embd=768, n_head=12,
                                                  n_positions=1024, initializer_range=0.05),
    }
    results = {"torch": torch.__version__, "transformers": transformers.__version__,
               "tokenizers": tokenizers.__version__, "vocab_size": vocab, "strings": len(strings),
               "prompts": len(prompts), "new_tokens": args.new_tokens, "models": []}
    ok = True
    for index, (name, shape) in enumerate(shapes.items()):
        directory = os.path.join(work, f"model{index}")
        make_model(directory, name, shape, vocab, seed=index)
        for f in ("vocab.json", "merges.txt"):
            with open(os.path.join(tok_dir, f), "rb") as src, open(os.path.join(directory, f), "wb") as dst:
                dst.write(src.read())
        for device in args.devices:
            dump = os.path.join(work, f"dump{index}_{device}.json")
            start = time.time()
            subprocess.run([args.dump, "model", directory, device, "float32",
                            os.path.join(work, "prompts.json"), str(args.new_tokens), dump], check=True)
            ours = json.load(open(dump, encoding="utf-8"))
            entry = {"model": name, "device": device, "dump_seconds": round(time.time() - start, 1)}
            if index == 0 and device == args.devices[0]:
                ids_path = os.path.join(work, "ids.json")
                subprocess.run([args.dump, "tokens", directory, os.path.join(work, "strings.json"), ids_path],
                               check=True)
                our_ids = json.load(open(ids_path, encoding="utf-8"))["strings"]
                entry["tokenizers"] = {}
                for ref_name, encode in reference_tokenizers(directory):
                    bad = [(s, ids) for s, ids in zip(strings, our_ids) if encode(s) != ids]
                    # Code points Unicode 15.0 (our tables) leaves unassigned may be letters
                    # in a newer Unicode: a version difference, reported apart.
                    newer = [b for b in bad if UNASSIGNED.search(b[0])]
                    bad = [b for b in bad if not UNASSIGNED.search(b[0])]
                    entry["tokenizers"][ref_name] = {"compared": len(strings), "mismatches": len(bad),
                                                     "mismatches_with_unassigned_code_points": len(newer),
                                                     "examples": [{"text": s, "ours": ids, "theirs": encode(s)}
                                                                  for s, ids in bad[:5]]}
                    ok &= not bad
                    print(f"  token ids vs {ref_name}: {len(strings) - len(bad) - len(newer)}/{len(strings)} "
                          f"equal; {len(newer)} differ on code points unassigned in Unicode 15.0")
            prompt_ids = [p["ids"] for p in ours["prompts"]]
            ref_logits, ref_gen = reference_run(directory, device, prompt_ids, args.new_tokens)
            max_abs, scale = 0.0, 0.0
            for p, ref in zip(ours["prompts"], ref_logits):
                mine = torch.tensor(p["logits"])
                max_abs = max(max_abs, float((mine - ref).abs().max()))
                scale = max(scale, float(ref.abs().max()))
            same, excused, bad_gen = 0, [], []
            for i, (p, ref) in enumerate(zip(ours["prompts"], ref_gen)):
                if p["tokens"] == ref:
                    same += 1
                    continue
                k = next(j for j, (a, b) in enumerate(zip(p["tokens"], ref)) if a != b)
                record = {"prompt": i, "token": k, "margin": p["margins"][k]}
                (excused if p["margins"][k] < 1e-3 * max(1.0, scale) else bad_gen).append(record)
            entry.update({"logits_max_abs_diff": max_abs, "logits_max_abs": scale,
                          "greedy_equal": same, "greedy_compared": len(prompts),
                          "greedy_near_tie_differences": excused, "greedy_differences": bad_gen})
            # float32 rounding: relative to the logits' magnitude, through 12 layers.
            ok &= max_abs <= 1e-4 * max(1.0, scale) and not bad_gen
            results["models"].append(entry)
            print(f"  {name} on {device}: logits max |diff| {max_abs:.3g} (max |logit| {scale:.3g}); "
                  f"greedy {same}/{len(prompts)} equal over {args.new_tokens} tokens"
                  + (f", {len(excused)} differ at a near-tie" if excused else "")
                  + (f", {len(bad_gen)} DIFFER" if bad_gen else ""))
    results["passed"] = bool(ok)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, ensure_ascii=False)
    print("PASS" if ok else "FAIL", "- details in", args.out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
