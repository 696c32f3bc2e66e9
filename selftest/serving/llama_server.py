#!/usr/bin/env python3
"""llama.cpp's own HTTP server, from PyPI's xllamacpp wheel (its prebuilt CPU
build), for the serving tests: one model, N slots with continuous batching,
/metrics, /slots and /props on, listening on 127.0.0.1 until killed.

  llama_server.py --model M.gguf --port N [--parallel 8] [--kv-unified] [--threads 1]
                  [--chat-template-file T.jinja] [--kv-cache-type f16|f32]
                  [--flash-attn auto|on|off]
"""
import argparse
import time

import xllamacpp


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--ctx-per-slot", type=int, default=512)
    p.add_argument("--kv-unified", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--chat-template-file", help="a chat template replacing the GGUF's own")
    p.add_argument("--kv-cache-type", choices=["f16", "f32"], default="f16",
                   help="the KV cache's storage type (llama.cpp's default: f16)")
    p.add_argument("--flash-attn", choices=["auto", "on", "off"], default="auto",
                   help="llama.cpp's flash-attention kernel (its default: auto)")
    args = p.parse_args()
    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.n_parallel = args.parallel
    params.n_ctx = args.parallel * args.ctx_per_slot
    params.cont_batching = True
    params.kv_unified = args.kv_unified
    params.endpoint_props = True
    params.endpoint_slots = True
    params.endpoint_metrics = True
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    kv_type = {"f32": xllamacpp.ggml_type.GGML_TYPE_F32,
               "f16": xllamacpp.ggml_type.GGML_TYPE_F16}[args.kv_cache_type]
    fa = xllamacpp.llama_flash_attn_type
    params.flash_attn_type = {"auto": fa.LLAMA_FLASH_ATTN_TYPE_AUTO,
                              "on": fa.LLAMA_FLASH_ATTN_TYPE_ENABLED,
                              "off": fa.LLAMA_FLASH_ATTN_TYPE_DISABLED}[args.flash_attn]
    params.cache_type_k = kv_type
    params.cache_type_v = kv_type
    if args.chat_template_file:
        with open(args.chat_template_file) as f:
            params.chat_template = f.read()
    server = xllamacpp.Server(params)  # serves on its own threads
    print("serving", server.listening_address, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
