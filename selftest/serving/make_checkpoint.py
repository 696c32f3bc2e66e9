#!/usr/bin/env python3
"""Writes a Llama checkpoint with random weights (seeded) with transformers'
save_pretrained, and the serving tests' vocabulary (toy_vocabulary.py), for
vLLM in the serving tests. Wide enough (1024) that its logits are not near
uniform: a narrow random model's near-ties are everywhere and show nothing.

  make_checkpoint.py DIR [--layers 4] [--width 1024] [--seed 1]
"""
import argparse

import torch
import transformers

from toy_vocabulary import CONTEXT, tokens, write_tokenizer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--width", type=int, default=1024)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--extra-tokens", type=int, default=0)
    args = p.parse_args()
    eos = len(tokens(args.extra_tokens)) - 1
    config = transformers.LlamaConfig(
        hidden_size=args.width, intermediate_size=2 * args.width,
        num_hidden_layers=args.layers, num_attention_heads=8, num_key_value_heads=4,
        vocab_size=eos + 1, max_position_embeddings=CONTEXT, rms_norm_eps=1e-5,
        bos_token_id=eos, eos_token_id=eos, tie_word_embeddings=False)
    torch.manual_seed(args.seed)
    transformers.LlamaForCausalLM(config).save_pretrained(args.out)
    write_tokenizer(args.out, args.extra_tokens)


if __name__ == "__main__":
    main()
