#!/usr/bin/env python3
"""Writes a small Llama-architecture GGUF with random weights (seeded) and a
byte-level BPE vocabulary of ASCII, with PyPI's gguf package, for llama.cpp's server in
the serving tests. No weights are downloaded: the checkpoint is made here.

  make_gguf.py OUT.gguf [--seed N]
"""
import argparse

import gguf
import numpy as np

LAYERS, WIDTH, HEADS, KV_HEADS, FFN = 2, 64, 4, 2, 128
MERGES = [("Ġ", "t"), ("Ġ", "a"), ("h", "e"), ("i", "n"), ("r", "e"), ("o", "n"),
          ("Ġt", "he"), ("e", "r"), ("Ġ", "s"), ("a", "t")]


def byte_symbols():
    """GPT-2's printable stand-in for each byte the vocabulary has: newline and
    printable ASCII only. With every byte, a random model emits bytes that are
    not UTF-8 on their own, and llama-cpp-python then returns more tokens than
    max_tokens asked for (an empty text for each); the harness rightly refuses
    that, so the vocabulary gives it no such token."""
    symbols = {10: "\u010a", 32: "\u0120"}  # GPT-2's "Ċ" and "Ġ"
    for b in range(33, 127):
        symbols[b] = chr(b)
    return [symbols[b] for b in sorted(symbols)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)

    tokens = byte_symbols() + [a + b for a, b in MERGES] + ["<|endoftext|>"]
    types = [gguf.TokenType.NORMAL] * (len(tokens) - 1) + [gguf.TokenType.CONTROL]
    vocab = len(tokens)
    head_dim = WIDTH // HEADS

    w = gguf.GGUFWriter(args.out, "llama")
    w.add_name("detllm-toy-llama")
    w.add_context_length(512)
    w.add_embedding_length(WIDTH)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([a + " " + b for a, b in MERGES])
    w.add_bos_token_id(vocab - 1)
    w.add_eos_token_id(vocab - 1)
    w.add_add_bos_token(False)

    def weight(*shape, std=0.05):
        return rng.normal(0, std, shape).astype(np.float32)

    def norm():
        return (1 + rng.normal(0, 0.1, WIDTH)).astype(np.float32)

    w.add_tensor("token_embd.weight", weight(vocab, WIDTH, std=0.5))
    for i in range(LAYERS):
        w.add_tensor(f"blk.{i}.attn_norm.weight", norm())
        w.add_tensor(f"blk.{i}.attn_q.weight", weight(WIDTH, WIDTH))
        w.add_tensor(f"blk.{i}.attn_k.weight", weight(KV_HEADS * head_dim, WIDTH))
        w.add_tensor(f"blk.{i}.attn_v.weight", weight(KV_HEADS * head_dim, WIDTH))
        w.add_tensor(f"blk.{i}.attn_output.weight", weight(WIDTH, WIDTH))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", norm())
        w.add_tensor(f"blk.{i}.ffn_gate.weight", weight(FFN, WIDTH))
        w.add_tensor(f"blk.{i}.ffn_up.weight", weight(FFN, WIDTH))
        w.add_tensor(f"blk.{i}.ffn_down.weight", weight(WIDTH, FFN))
    w.add_tensor("output_norm.weight", norm())
    w.add_tensor("output.weight", weight(vocab, WIDTH, std=0.5))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
