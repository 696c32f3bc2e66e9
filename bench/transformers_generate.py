#!/usr/bin/env python3
"""transformers' side of bench/vs_transformers.cpp: greedy generation with
transformers' eager `generate` on a checkpoint directory, timed in-process
(the model is loaded and warmed up first, as the C++ side's is).

    transformers_generate.py --dir D --ids ids.json --tokens 128 --threads 2 --iterations 1

ids.json: the batch's prompts as token ids (lists of ints; or that JSON inline),
left-padded here as the C++ side pads them. Prints one JSON line: {"seconds": [...], "torch": ...}.
"""
import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoModelForCausalLM, GenerationConfig  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--iterations", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.ids.startswith("["):  # inline, for the smoke test
        prompts = json.loads(args.ids)
    else:
        with open(args.ids) as f:
            prompts = json.load(f)
    width = max(len(p) for p in prompts)
    input_ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    model = AutoModelForCausalLM.from_pretrained(args.dir, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    # No eos: every row generates exactly --tokens tokens, as on the C++ side.
    config = GenerationConfig(max_new_tokens=args.tokens, do_sample=False, eos_token_id=None,
                              bos_token_id=None, pad_token_id=0)
    seconds = []
    with torch.inference_mode():
        model.generate(input_ids, attention_mask=mask, generation_config=config)  # warm-up
        for _ in range(args.iterations):
            start = time.perf_counter()
            out = model.generate(input_ids, attention_mask=mask, generation_config=config)
            seconds.append(time.perf_counter() - start)
    assert out.shape[1] == width + args.tokens
    blas = [line.strip() for line in torch.__config__.show().splitlines()
            if "Math Kernel" in line or "BLAS_INFO" in line]
    print(json.dumps({"seconds": seconds, "torch": torch.__version__,
                      "transformers": transformers.__version__, "threads": args.threads,
                      "blas": blas[0] if blas else "unknown"}))


if __name__ == "__main__":
    main()
