#!/usr/bin/env python3
"""Compares detllm's built-in transformer loading Hugging Face directories
(GPT-2, Llama, Qwen2, Mistral) and its tokenizers with transformers and tokenizers.

Needs Python with torch, transformers and tokenizers (the GPU machine has them;
docs/models.md) and a build of detllm_dump_gpt2. Nothing is downloaded: the
script trains a byte-level BPE tokenizer on generated text, creates random-weight
GPT-2 models from GPT2Config, saves each with save_pretrained, then compares

  * token ids: ours vs. tokenizers' ByteLevelBPETokenizer and transformers'
    AutoTokenizer, on a few thousand generated strings;
  * next-token logits (float32, eager attention): the max absolute difference;
  * greedy generations, token for token (a difference is only excused at a
    near-tie, where float32 rounding may flip the choice).

With --families llama qwen2 mistral it also trains tokenizer.json files with
tokenizers (Llama 3's Split regex + ByteLevel, Qwen2's regex with NFC, and a
SentencePiece-style BPE with byte fallback and a BOS template) and random
LlamaConfig / Qwen2Config / MistralConfig models (GQA, rope scaling, biases,
tied and untied heads, a sliding window), and compares the same way.

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


def hf_encoder(directory):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    return lambda s: tok.encode(s).ids


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


LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = LLAMA3_SPLIT.replace(r"\p{N}{1,3}", r"\p{N}")


def train_hf_tokenizer(directory, rng, vocab_size, kind):
    """A tokenizer.json of `kind` (llama3, qwen2, spm), trained on generated text."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    texts = [random_string(rng) for _ in range(20000)]
    if kind == "spm":
        specials = ["<unk>", "<s>", "</s>"]
        tok = Tokenizer(models.BPE(byte_fallback=True, fuse_unk=True, unk_token="<unk>"))
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"),
                                               normalizers.Replace(" ", "\u2581")])
        alphabet = [f"<0x{b:02X}>" for b in range(256)]
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials + alphabet,
                                      show_progress=False)
        bos = "<s>"
    else:
        specials = ["<|begin_of_text|>", "<|end_of_text|>"]
        tok = Tokenizer(models.BPE(ignore_merges=kind == "llama3"))
        if kind == "qwen2":
            tok.normalizer = normalizers.NFC()
        pattern = LLAMA3_SPLIT if kind == "llama3" else QWEN2_SPLIT
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        bos = "<|begin_of_text|>" if kind == "llama3" else None
    tok.train_from_iterator(texts, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", special_tokens=[(bos, tok.token_to_id(bos))])
    os.makedirs(directory, exist_ok=True)
    tok.save(os.path.join(directory, "tokenizer.json"))
    return tok.get_vocab_size()


def make_llama_family_model(directory, family, shape, vocab, seed):
    import transformers
    torch.manual_seed(seed)
    config_class = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config,
                    "mistral": transformers.MistralConfig}[family]
    config = config_class(vocab_size=vocab, **shape)
    model = transformers.AutoModelForCausalLM.from_config(config).eval()
    with torch.no_grad():  # norms and biases random too, so a misplaced one shows
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(directory)
    print(f"  {family}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters")


def reference_run(directory, device, prompt_ids, new_tokens):
    from transformers import AutoModelForCausalLM
    try:
        model = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager",
                                                     dtype=torch.float32)
    except TypeError:  # transformers 4 names it torch_dtype
        model = AutoModelForCausalLM.from_pretrained(directory, attn_implementation="eager",
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
    parser.add_argument("--families", nargs="+", default=["gpt2", "llama", "qwen2", "mistral"])
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

    shapes = {} if "gpt2" not in args.families else {
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
    llama_shapes = {
        "llama": ("llama3", dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2,
                                 max_position_embeddings=256, attention_bias=True,
                                 tie_word_embeddings=False, rope_theta=500000.0,
                                 rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                               "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                               "original_max_position_embeddings": 64})),
        "qwen2": ("qwen2", dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=1,
                                max_position_embeddings=256, tie_word_embeddings=True,
                                rope_theta=1000000.0)),
        "mistral": ("spm", dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                                max_position_embeddings=256, sliding_window=8,
                                tie_word_embeddings=False)),
    }
    ok = True
    runs = [(name, "gpt2", shape) for name, shape in shapes.items()]
    runs += [(family, family, shape) for family, shape in llama_shapes.items()
             if family in args.families]
    for index, (name, family, shape) in enumerate(runs):
        directory = os.path.join(work, f"model{index}")
        if family == "gpt2":
            make_model(directory, name, shape, vocab, seed=index)
            for f in ("vocab.json", "merges.txt"):
                with open(os.path.join(tok_dir, f), "rb") as src, open(os.path.join(directory, f), "wb") as dst:
                    dst.write(src.read())
        else:
            kind, config = shape
            family_vocab = train_hf_tokenizer(directory, rng, args.vocab_size, kind)
            make_llama_family_model(directory, family, config, family_vocab, seed=index)
        for device in args.devices:
            dump = os.path.join(work, f"dump{index}_{device}.json")
            start = time.time()
            subprocess.run([args.dump, "model", directory, device, "float32",
                            os.path.join(work, "prompts.json"), str(args.new_tokens), dump], check=True)
            ours = json.load(open(dump, encoding="utf-8"))
            entry = {"model": name, "device": device, "dump_seconds": round(time.time() - start, 1)}
            if (index == 0 or family != "gpt2") and device == args.devices[0]:
                ids_path = os.path.join(work, "ids.json")
                subprocess.run([args.dump, "tokens", directory, os.path.join(work, "strings.json"), ids_path],
                               check=True)
                our_ids = json.load(open(ids_path, encoding="utf-8"))["strings"]
                entry["tokenizers"] = {}
                references = reference_tokenizers(directory) if family == "gpt2" else [
                    ("tokenizers.Tokenizer(tokenizer.json)", hf_encoder(directory))]
                for ref_name, encode in references:
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
