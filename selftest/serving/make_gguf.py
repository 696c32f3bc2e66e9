#!/usr/bin/env python3
"""Writes a small Llama-architecture GGUF with random weights (seeded) and a
byte-level BPE vocabulary of ASCII, with PyPI's gguf package, for llama.cpp's
servers in the serving tests; with --checkpoint, the same weights as a Hugging
Face checkpoint (config.json, model.safetensors, tokenizer.json) that our
engine loads, so one model can be compared across engines. No weights are
downloaded: the model is made here.

  make_gguf.py OUT.gguf [--type f32|f16|q8_0|q4_0] [--layers N] [--width N]
               [--seed N] [--checkpoint DIR]
"""
import argparse
import json
import os

import gguf
import numpy as np

from toy_vocabulary import CHAT_TEMPLATE, CONTEXT, MERGES, tokens, write_tokenizer

HEADS, KV_HEADS = 4, 2
EPS, THETA = 1e-5, 10000.0
TYPES = {  # --type: the GGUF file type, and how a 2-D weight is stored
    "f32": (gguf.LlamaFileType.ALL_F32, gguf.GGMLQuantizationType.F32),
    "f16": (gguf.LlamaFileType.MOSTLY_F16, gguf.GGMLQuantizationType.F16),
    "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, gguf.GGMLQuantizationType.Q8_0),
    "q4_0": (gguf.LlamaFileType.MOSTLY_Q4_0, gguf.GGMLQuantizationType.Q4_0),
}


def weights(rng, layers, width):
    """The model in Hugging Face's layout (rotate-half rope), float32."""
    ffn = 2 * width
    head_dim = width // HEADS
    vocab = len(tokens())

    def weight(*shape, std=0.05):
        return rng.normal(0, std, shape).astype(np.float32)

    def norm():
        return (1 + rng.normal(0, 0.1, width)).astype(np.float32)

    w = {"model.embed_tokens.weight": weight(vocab, width, std=0.5)}
    for i in range(layers):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm()
        w[p + "self_attn.q_proj.weight"] = weight(width, width)
        w[p + "self_attn.k_proj.weight"] = weight(KV_HEADS * head_dim, width)
        w[p + "self_attn.v_proj.weight"] = weight(KV_HEADS * head_dim, width)
        w[p + "self_attn.o_proj.weight"] = weight(width, width)
        w[p + "post_attention_layernorm.weight"] = norm()
        w[p + "mlp.gate_proj.weight"] = weight(ffn, width)
        w[p + "mlp.up_proj.weight"] = weight(ffn, width)
        w[p + "mlp.down_proj.weight"] = weight(width, ffn)
    w["model.norm.weight"] = norm()
    w["lm_head.weight"] = weight(vocab, width, std=0.5)
    return w


def to_interleaved_rope(x, heads):
    """llama.cpp's Llama rotates adjacent pairs, Hugging Face's the two halves
    of each head: the rows of q and k are reordered as llama.cpp's own
    converter does, so both compute the same model."""
    return x.reshape(heads, 2, x.shape[0] // heads // 2, x.shape[1]).swapaxes(1, 2).reshape(x.shape)


GGUF_NAMES = {
    "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
    "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}


def write_gguf(path, w, layers, width, kind):
    vocabulary = tokens()
    types = [gguf.TokenType.NORMAL] * (len(vocabulary) - 1) + [gguf.TokenType.CONTROL]
    file_type, matrix_type = TYPES[kind]
    out = gguf.GGUFWriter(path, "llama")
    out.add_name("detllm-toy-llama")
    out.add_context_length(CONTEXT)
    out.add_embedding_length(width)
    out.add_block_count(layers)
    out.add_feed_forward_length(2 * width)
    out.add_head_count(HEADS)
    out.add_head_count_kv(KV_HEADS)
    out.add_layer_norm_rms_eps(EPS)
    out.add_rope_dimension_count(width // HEADS)
    out.add_rope_freq_base(THETA)
    out.add_file_type(file_type)
    out.add_tokenizer_model("gpt2")
    out.add_tokenizer_pre("default")
    out.add_token_list(vocabulary)
    out.add_token_types(types)
    out.add_token_merges([a + " " + b for a, b in MERGES])
    out.add_bos_token_id(len(vocabulary) - 1)
    out.add_eos_token_id(len(vocabulary) - 1)
    out.add_add_bos_token(False)
    out.add_chat_template(CHAT_TEMPLATE)

    def add(name, x):
        if x.ndim == 1 or matrix_type == gguf.GGMLQuantizationType.F32:  # norms stay f32
            out.add_tensor(name, x)
        elif matrix_type == gguf.GGMLQuantizationType.F16:
            out.add_tensor(name, x.astype(np.float16))
        else:
            out.add_tensor(name, gguf.quants.quantize(x, matrix_type), raw_dtype=matrix_type)

    add("token_embd.weight", w["model.embed_tokens.weight"])
    for i in range(layers):
        for hf, name in GGUF_NAMES.items():
            x = w[f"model.layers.{i}.{hf}.weight"]
            if hf == "self_attn.q_proj":
                x = to_interleaved_rope(x, HEADS)
            elif hf == "self_attn.k_proj":
                x = to_interleaved_rope(x, KV_HEADS)
            add(f"blk.{i}.{name}.weight", x)
    add("output_norm.weight", w["model.norm.weight"])
    add("output.weight", w["lm_head.weight"])
    out.write_header_to_file()
    out.write_kv_data_to_file()
    out.write_tensors_to_file()
    out.close()


def write_checkpoint(folder, w, layers, width):
    """The same model as transformers' LlamaForCausalLM reads it."""
    from safetensors.numpy import save_file  # only here: llama-cpp-python's env has no safetensors
    os.makedirs(folder, exist_ok=True)
    eos = len(tokens()) - 1
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": width,
        "intermediate_size": 2 * width, "num_hidden_layers": layers,
        "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
        "max_position_embeddings": CONTEXT, "rms_norm_eps": EPS, "rope_theta": THETA,
        "vocab_size": eos + 1, "bos_token_id": eos, "eos_token_id": eos,
        "tie_word_embeddings": False, "hidden_act": "silu", "torch_dtype": "float32",
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    save_file(w, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    write_tokenizer(folder)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--type", choices=sorted(TYPES), default="f32")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--checkpoint", help="also write the same weights as a Hugging Face checkpoint")
    args = p.parse_args()
    w = weights(np.random.default_rng(args.seed), args.layers, args.width)
    write_gguf(args.out, w, args.layers, args.width, args.type)
    if args.checkpoint:
        write_checkpoint(args.checkpoint, w, args.layers, args.width)


if __name__ == "__main__":
    main()
