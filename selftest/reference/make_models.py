"""The model fixtures of the `reference` tests: random-weight checkpoints written
by transformers' own save_pretrained, and what transformers computes with them.

For each family (FAMILIES) it writes <out>/<family>/ with config.json, the
safetensors file(s), a tokenizer trained here with `tokenizers`, and
expected.json:

  prompts          the prompt texts and transformers' token ids for them
  greedy           per prompt, generate() alone: 32 greedy tokens and the raw
                   logits of each step
  sequence_logits  per prompt, one forward pass over prompt + greedy tokens:
                   the logits at every position
  batch            generate() on all prompts at once, left-padded: the tokens
                   and the logits of each step per row

The C++ side (reference_test.cpp) loads the directory with load_hf_model and
compares. Weights are drawn with a standard deviation far above
transformers' default initialisation (0.02), which makes near-ties: with
these, top-1/top-2 logit margins are far above float32 noise.
"""
import json
import os

import torch
from transformers import (AutoModelForCausalLM, Gemma2Config, Gemma3TextConfig, GPT2Config,
                          GenerationConfig, LlamaConfig, MistralConfig, MixtralConfig, Phi3Config,
                          PreTrainedTokenizerFast, Qwen2Config, Qwen2MoeConfig, Qwen3Config,
                          Qwen3MoeConfig)

from tokenizer_kinds import LLAMA3_SPLIT, byte_level_bpe, sentencepiece_bpe

NEW_TOKENS = 32
PROMPTS = [
    "The capital of France is",
    "Choose one: A or B.",
    "def fibonacci(n):\n    return",
    "Ein Wörterbuch, 12345 and 67 more; über alles",
]
# Longer prompts for dynamic rope and the sliding window: past the context the
# scaling starts at, and longer than the window.
LONG_PROMPTS = PROMPTS + [
    "Licensed under the Apache License, Version 2.0 (the License); you may not use "
    "this file except in compliance with the License.",
]


def llama(**extra):
    base = dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                num_hidden_layers=2, intermediate_size=160, max_position_embeddings=256,
                rms_norm_eps=1e-6, tie_word_embeddings=False)
    base.update(extra)
    return LlamaConfig(**base)


# name: (config, storage dtype, shard size or None, prompts)
FAMILIES = {
    "gpt2": (lambda: GPT2Config(n_embd=64, n_layer=2, n_head=4, n_positions=128,
                                 activation_function="gelu_new"),
             torch.float32, None, PROMPTS),
    "llama_gqa_llama3": (lambda: llama(rope_parameters={
        "rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
        torch.float32, None, LONG_PROMPTS),
    "llama_linear": (lambda: llama(attention_bias=True, rope_parameters={
        "rope_type": "linear", "rope_theta": 10000.0, "factor": 4.0}),
        torch.float32, None, PROMPTS),
    # Dynamic NTK scaling starts past max_position_embeddings (16): every long
    # prompt and every generation crosses it.
    "llama_dynamic": (lambda: llama(max_position_embeddings=16, rope_parameters={
        "rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0}),
        torch.float32, None, LONG_PROMPTS),
    # YaRN from 16 positions, factor 4: every long prompt and generation
    # reaches past the original context; cos and sin scaled by 0.1 ln 4 + 1.
    "llama_yarn": (lambda: llama(max_position_embeddings=64, rope_parameters={
        "rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
        "original_max_position_embeddings": 16}),
        torch.float32, None, LONG_PROMPTS),
    # Biases on q/k/v, a tied head, head_dim 16 where hidden/heads is 12.
    "qwen2": (lambda: Qwen2Config(hidden_size=48, num_attention_heads=4, head_dim=16,
                                   num_key_value_heads=1, num_hidden_layers=2,
                                   intermediate_size=96, max_position_embeddings=256,
                                   rope_theta=1000000.0, tie_word_embeddings=True),
              torch.float32, None, PROMPTS),
    # Per-head q/k RMSNorm, head_dim 16 where hidden/heads is 12, biases on
    # q, k, v and o (attention_bias), a tied head.
    "qwen3": (lambda: Qwen3Config(hidden_size=48, num_attention_heads=4, head_dim=16,
                                   num_key_value_heads=2, num_hidden_layers=2,
                                   intermediate_size=96, max_position_embeddings=256,
                                   attention_bias=True, tie_word_embeddings=True),
              torch.float32, None, PROMPTS),
    # A window of 4 tokens: far shorter than every sequence.
    "mistral": (lambda: MistralConfig(hidden_size=64, num_attention_heads=4,
                                      num_key_value_heads=2, num_hidden_layers=2,
                                      intermediate_size=128, max_position_embeddings=256,
                                      sliding_window=4, tie_word_embeddings=False),
                torch.float32, None, LONG_PROMPTS),
    # q|k|v and gate|up fused (qkv_proj, gate_up_proj), GQA 4/2, untied.
    "phi3": (lambda: Phi3Config(hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                                num_hidden_layers=2, intermediate_size=128,
                                max_position_embeddings=256, tie_word_embeddings=False,
                                pad_token_id=0, bos_token_id=None, eos_token_id=None),
             torch.float32, None, PROMPTS),
    # 8 experts, 2 per token, renormalised; layer 1 dense (mlp_only_layers).
    "qwen3_moe": (lambda: Qwen3MoeConfig(hidden_size=48, num_attention_heads=4, head_dim=16,
                                         num_key_value_heads=2, num_hidden_layers=3,
                                         intermediate_size=96, moe_intermediate_size=32,
                                         num_experts=8, num_experts_per_tok=2,
                                         norm_topk_prob=True, mlp_only_layers=[1],
                                         max_position_embeddings=256,
                                         tie_word_embeddings=False),
                  torch.float32, None, PROMPTS),
    # Mixtral's names (block_sparse_moe, w1/w2/w3), 4 experts, 2 per token, a window.
    "mixtral": (lambda: MixtralConfig(hidden_size=64, num_attention_heads=4,
                                      num_key_value_heads=2, num_hidden_layers=2,
                                      intermediate_size=64, num_local_experts=4,
                                      num_experts_per_tok=2, sliding_window=6,
                                      max_position_embeddings=256, tie_word_embeddings=False),
                torch.float32, None, LONG_PROMPTS),
    # A shared expert and its sigmoid gate beside 6 routed experts, not renormalised.
    "qwen2_moe": (lambda: Qwen2MoeConfig(hidden_size=48, num_attention_heads=4,
                                         num_key_value_heads=2, num_hidden_layers=2,
                                         intermediate_size=96, moe_intermediate_size=32,
                                         shared_expert_intermediate_size=64, num_experts=6,
                                         num_experts_per_tok=2, norm_topk_prob=False,
                                         max_position_embeddings=256,
                                         tie_word_embeddings=False),
                  torch.float32, None, PROMPTS),
    # Sliding (window 4) and global layers alternating, both soft-cappings
    # (small enough to bite), query_pre_attn_scalar other than head_dim.
    "gemma2": (lambda: Gemma2Config(hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                                    head_dim=16, num_hidden_layers=3, intermediate_size=128,
                                    max_position_embeddings=256, sliding_window=4,
                                    query_pre_attn_scalar=24, attn_logit_softcapping=5.0,
                                    final_logit_softcapping=12.0),
               torch.float32, None, LONG_PROMPTS),
    # q/k norm, the sliding layers' own rope base, linear rope on the global layer.
    "gemma3_text": (lambda: Gemma3TextConfig(
        hidden_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
        num_hidden_layers=3, intermediate_size=128, max_position_embeddings=256,
        sliding_window=4, query_pre_attn_scalar=16,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                         "full_attention": {"rope_type": "linear", "rope_theta": 1000000.0,
                                            "factor": 8.0}}),
        torch.float32, None, LONG_PROMPTS),
    # LongRoPE (Phi-3-128k, Phi-3.5): short factors up to 16 positions, long
    # ones past them; every long prompt and generation crosses over.
    "phi3_longrope": (lambda: Phi3Config(
        hidden_size=64, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2,
        intermediate_size=128, max_position_embeddings=128, original_max_position_embeddings=16,
        rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0,
                         "short_factor": [1.0, 1.1, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0],
                         "long_factor": [1.0, 1.5, 2.5, 4.0, 6.0, 9.0, 12.0, 16.0]},
        tie_word_embeddings=False, pad_token_id=0, bos_token_id=None, eos_token_id=None),
        torch.float32, None, LONG_PROMPTS),
    # Stored as bfloat16 / float16, in shards with an index.
    "llama_bf16_sharded": (lambda: llama(), torch.bfloat16, "40KB", PROMPTS),
    "qwen2_f16_sharded": (lambda: Qwen2Config(hidden_size=48, num_attention_heads=4,
                                               num_key_value_heads=2, num_hidden_layers=2,
                                               intermediate_size=96,
                                               max_position_embeddings=256,
                                               tie_word_embeddings=False),
                          torch.float16, "30KB", PROMPTS),
    "qwen3_bf16": (lambda: Qwen3Config(hidden_size=64, num_attention_heads=4,
                                        num_key_value_heads=2, num_hidden_layers=2,
                                        intermediate_size=128, max_position_embeddings=256,
                                        tie_word_embeddings=False),
                   torch.bfloat16, None, PROMPTS),
    "qwen3_moe_bf16": (lambda: Qwen3MoeConfig(hidden_size=64, num_attention_heads=4,
                                              num_key_value_heads=2, num_hidden_layers=2,
                                              intermediate_size=128, moe_intermediate_size=32,
                                              num_experts=4, num_experts_per_tok=2,
                                              norm_topk_prob=True, max_position_embeddings=256,
                                              tie_word_embeddings=False),
                       torch.bfloat16, None, PROMPTS),
}


def large_random_weights(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name or name.endswith("ln_1.weight") or
                                 name.endswith("ln_2.weight") or name.endswith("ln_f.weight")):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=generator))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=generator))


# Each family's tokenizer style: SentencePiece-style BPE with byte fallback
# for the families that ship one (Llama 2's normalizer for Mixtral and Phi-3,
# Gemma's), byte-level BPE for the others (GPT-2's, or with Llama 3's split).
SENTENCEPIECE_STYLE = {"mixtral": "normalizer", "phi3": "normalizer",
                       "phi3_longrope": "normalizer", "gemma2": "gemma",
                       "gemma3_text": "gemma"}


def write_tokenizer(directory, family, text):
    """A tokenizer trained on real text, in the family's style."""
    if family in SENTENCEPIECE_STYLE:
        tok = sentencepiece_bpe(text, 600, SENTENCEPIECE_STYLE[family])
        fast = PreTrainedTokenizerFast(tokenizer_object=tok)
        fast.save_pretrained(directory)
        return fast, tok.get_vocab_size()
    tok = byte_level_bpe(text, vocab_size=512, split=None if family == "gpt2" else LLAMA3_SPLIT,
                         specials=["<|endoftext|>"] if family == "gpt2"
                         else ["<|begin_of_text|>", "<|end_of_text|>"],
                         bos=None if family == "gpt2" else "<|begin_of_text|>")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    fast.save_pretrained(directory)
    return fast, tok.get_vocab_size()


def fresh(directory):
    # Loaded again for every call: dynamic rope keeps state across calls.
    return AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32,
                                                attn_implementation="eager").eval()


def greedy_config(pad_id):
    # No eos: every row generates NEW_TOKENS tokens (min_new_tokens would mask
    # eos's logit instead, which the C++ side does not do).
    return GenerationConfig(max_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None,
                            bos_token_id=None, pad_token_id=pad_id, output_logits=True,
                            return_dict_in_generate=True)


def make_family(out, family, seed, text):
    make_config, storage, shard, prompts = FAMILIES[family]
    directory = os.path.join(out, family)
    os.makedirs(directory, exist_ok=True)
    fast, vocab = write_tokenizer(directory, family, text)
    config = make_config()
    config.vocab_size = vocab + 7  # a padded embedding, as Qwen's checkpoints have
    config.bos_token_id = config.eos_token_id = config.pad_token_id = None
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    large_random_weights(model, seed)
    model.generation_config = GenerationConfig()
    model.to(storage).save_pretrained(directory, **({"max_shard_size": shard} if shard else {}))

    pad = 0
    expected = {"family": family, "storage_dtype": str(storage).replace("torch.", ""),
                "new_tokens": NEW_TOKENS, "prompts": [], "greedy": [], "sequence_logits": []}
    with torch.no_grad():
        for text_prompt in prompts:
            ids = fast(text_prompt, add_special_tokens=True)["input_ids"]
            expected["prompts"].append({"text": text_prompt, "ids": ids})
            result = fresh(directory).generate(torch.tensor([ids]),
                                               attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                               generation_config=greedy_config(pad))
            tokens = result.sequences[0, len(ids):].tolist()
            expected["greedy"].append({"tokens": tokens,
                                       "logits": [l[0].tolist() for l in result.logits]})
            sequence = torch.tensor([ids + tokens])
            expected["sequence_logits"].append(fresh(directory)(sequence).logits[0].tolist())
        fast.pad_token = fast.convert_ids_to_tokens(pad)
        fast.padding_side = "left"
        batch = fast([p for p in prompts], add_special_tokens=True, padding=True,
                     return_tensors="pt")
        result = fresh(directory).generate(**batch, generation_config=greedy_config(pad))
        width = batch["input_ids"].shape[1]
        expected["batch"] = {
            "tokens": result.sequences[:, width:].tolist(),
            "logits": [[l[row].tolist() for l in result.logits] for row in range(len(prompts))]}
    with open(os.path.join(directory, "expected.json"), "w") as f:
        json.dump(expected, f)


def make_all(out, text):
    """`text`: what the tokenizers are trained on (corpus.training_text())."""
    for index, family in enumerate(FAMILIES):
        make_family(out, family, 1000 + index, text)
    return list(FAMILIES)
