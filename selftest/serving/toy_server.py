#!/usr/bin/env python3
"""An OpenAI-compatible completions server for the serving tests: a small
seeded language model behind a continuous-batching scheduler, as vLLM and
llama.cpp's server batch concurrent requests, with only the standard library.

Modes:
  --bug padding     the scheduler left-pads each step's batch and the model
                    averages over the pads too: a real batching bug, so a
                    request's tokens depend on what runs beside it.
  --bug warm-cache  a prompt whose prefix is cached skips the first token of
                    the cached context: warm differs from cold.
  --fault KIND      a server that breaks: http500, malformed, truncated,
                    no-logprobs, two-choices, mismatched, busy-then-ok,
                    always-busy, slow, huge, not-found.
  --flavor          vllm (token_id:N tokens, /version, /tokenize,
                    /reset_prefix_cache), sglang (/tokenize, /flush_cache), llamacpp
                    (chat-style logprobs with ids, /props, /tokenize), plain
                    (legacy logprobs with text only, no tokenizer endpoint).
  --tls-cert/--tls-key  https instead of http.
The port it listens on is written to --port-file once it accepts connections.
"""
import argparse
import http.server
import json
import math
import os
import random
import threading
import time

# llama.cpp draws a random marker for multimodal prompts at each start.
MEDIA_MARKER = "<__media_%016x__>" % random.SystemRandom().getrandbits(64)

VOCAB = 96          # printable ASCII from 32: token id = byte - 32
WIDTH = 8


def token_text(token):
    return chr(token + 32)


class Model:
    """Next token = argmax(W . mean(E[context]) + b): every row's context is
    averaged over its real tokens, or with --bug padding over the whole
    padded row (pads are token 0)."""

    def __init__(self, seed, padding_bug):
        rng = random.Random(seed)
        self.embed = [[rng.gauss(0, 1) for _ in range(WIDTH)] for _ in range(VOCAB)]
        self.weight = [[rng.gauss(0, 1) for _ in range(WIDTH)] for _ in range(VOCAB)]
        self.bias = [rng.gauss(0, 0.5) for _ in range(VOCAB)]
        self.padding_bug = padding_bug

    def step(self, rows):
        """One forward step over a batch: the log-softmax of each row."""
        longest = max(len(r) for r in rows)
        out = []
        for row in rows:
            padded = [0] * (longest - len(row)) + row
            context = padded if self.padding_bug else row
            h = [sum(self.embed[t][i] for t in context) / len(context) for i in range(WIDTH)]
            logits = [sum(w * x for w, x in zip(self.weight[v], h)) + self.bias[v]
                      for v in range(VOCAB)]
            top = max(logits)
            norm = top + math.log(sum(math.exp(l - top) for l in logits))
            out.append([l - norm for l in logits])
        return out


class Request:
    def __init__(self, ids, max_tokens, skip_first):
        self.ids = list(ids[1:] if skip_first and len(ids) > 1 else ids)
        self.max_tokens = max_tokens
        self.cached = 0
        self.tokens, self.logprobs, self.top = [], [], []
        self.done = threading.Event()


class Scheduler(threading.Thread):
    """Continuous batching: every step runs all active requests together;
    new ones join at the next step."""

    def __init__(self, model, window_s):
        super().__init__(daemon=True)
        self.model, self.window_s = model, window_s
        self.lock = threading.Lock()
        self.pending, self.active = [], []
        self.wake = threading.Event()

    def submit(self, request):
        with self.lock:
            self.pending.append(request)
        self.wake.set()
        request.done.wait()

    def run(self):
        while True:
            self.wake.wait()
            time.sleep(self.window_s)  # lets concurrent arrivals join one batch
            with self.lock:
                self.active += self.pending
                self.pending = []
                self.wake.clear()
            while self.active:
                rows = [r.ids + r.tokens for r in self.active]
                for r, logprobs in zip(self.active, self.model.step(rows)):
                    order = sorted(range(VOCAB), key=lambda v: -logprobs[v])
                    r.tokens.append(order[0])
                    r.logprobs.append(logprobs[order[0]])
                    r.top.append([(v, logprobs[v]) for v in order[:2]])
                finished = [r for r in self.active if len(r.tokens) >= r.max_tokens]
                for r in finished:
                    r.done.set()
                with self.lock:
                    self.active = [r for r in self.active if len(r.tokens) < r.max_tokens]
                    self.active += self.pending
                    self.pending = []


def make_handler(args, scheduler):
    cache = set()
    counter = {"completions": 0}
    counter_lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body, headers=()):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def authorized(self):
            # Every GET is logged with what it carried, refused or not (a
            # POST with its body, in body()): the tests read who sent a key.
            if args.log and self.command == "GET":
                with open(args.log, "a") as log:
                    log.write(json.dumps({"path": self.path,
                                          "authorization": self.headers.get("Authorization"),
                                          "body": ""}) + "\n")
            if not args.api_key:
                return True
            if self.headers.get("Authorization") == "Bearer " + args.api_key:
                return True
            self.reply(401, {"error": {"message": "invalid API key", "type": "auth"}})
            return False

        def body(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if args.log:
                with open(args.log, "a") as log:
                    log.write(json.dumps({"path": self.path,
                                          "authorization": self.headers.get("Authorization"),
                                          "body": raw.decode()}) + "\n")
            return json.loads(raw or b"{}")

        def do_GET(self):
            if not self.authorized():
                return
            if self.path == "/v1/models":
                owner = {"vllm": "vllm", "sglang": "sglang", "llamacpp": "llamacpp",
                         "plain": "me"}[args.flavor]
                return self.reply(200, {"object": "list", "data": [
                    {"id": name, "object": "model", "owned_by": owner}
                    for name in args.model_name.split(",")]})
            if self.path == "/version" and args.flavor == "vllm":
                return self.reply(200, {"version": "toy-" + str(args.seed)})
            if self.path == "/props" and args.flavor == "llamacpp":
                # As llama.cpp's: media_marker is drawn anew at each start.
                return self.reply(200, {"total_slots": 8, "model_path": "toy.gguf",
                                        "media_marker": MEDIA_MARKER})
            self.reply(404, {"error": {"message": "not found"}})

        def do_POST(self):
            if not self.authorized():
                return
            body = self.body()
            if self.path == "/tokenize" and args.flavor != "plain":
                text = body.get("prompt", body.get("content", ""))
                return self.reply(200, {"tokens": [max(0, min(VOCAB - 1, ord(c) - 32)) for c in text]})
            if self.path == "/detokenize" and args.flavor != "plain":
                text = "".join(token_text(t) for t in body.get("tokens", []))
                return self.reply(200, {"prompt": text, "content": text})
            reset = {"vllm": "/reset_prefix_cache", "sglang": "/flush_cache"}.get(args.flavor)
            if self.path == reset:
                cache.clear()
                return self.reply(200, {})
            if self.path != "/v1/completions":
                return self.reply(404, {"error": {"message": "not found"}})
            with counter_lock:
                counter["completions"] += 1
                n = counter["completions"]
            if self.fault(n):
                return
            prompt = body["prompt"]
            ids = prompt if isinstance(prompt, list) else [
                max(0, min(VOCAB - 1, ord(c) - 32)) for c in prompt]
            key = tuple(ids[:4])
            warm = key in cache and body.get("cache_prompt", True)
            cache.add(key)
            request = Request(ids, int(body.get("max_tokens", 16)),
                              warm and args.bug == "warm-cache")
            request.cached = min(4, len(ids)) if warm else 0  # the cached prefix
            scheduler.submit(request)
            self.reply(200, self.completion(request, body, n))

        def fault(self, n):
            f = args.fault
            if f == "http500":
                self.reply(500, b"Internal Server Error: the engine died")
            elif f == "malformed":
                self.reply(200, b"{\"choices\": [ {not json")
            elif f == "busy-then-ok" and n <= 2:
                self.reply(429, {"error": {"message": "busy"}}, [("Retry-After", "0")])
            elif f == "always-busy":
                self.reply(503, {"error": {"message": "overloaded"}}, [("Retry-After", "0")])
            elif f == "slow":
                time.sleep(5)
                return False
            elif f == "huge":
                self.reply(200, b"{\"choices\": \"" + b"x" * (65 << 20) + b"\"}")
            elif f == "not-found":
                self.reply(404, {"error": {"message": "The model does not exist."}})
            else:
                return False
            return True

        def completion(self, r, body, n):
            text = "".join(token_text(t) for t in r.tokens)
            as_ids = body.get("return_tokens_as_token_ids") and args.flavor == "vllm"
            name = (lambda t: "token_id:%d" % t) if as_ids else token_text
            if args.flavor == "llamacpp":
                logprobs = {"content": [
                    {"id": t, "token": token_text(t), "logprob": lp,
                     "top_logprobs": [{"id": v, "token": token_text(v), "logprob": l} for v, l in top]}
                    for t, lp, top in zip(r.tokens, r.logprobs, r.top)]}
            else:
                logprobs = {"tokens": [name(t) for t in r.tokens],
                            "token_logprobs": r.logprobs,
                            "top_logprobs": [{name(v): l for v, l in top} for top in r.top],
                            "text_offset": list(range(len(r.tokens)))}
            if "logprobs" not in body:
                logprobs = None
            choice = {"index": 0, "text": text, "logprobs": logprobs, "finish_reason": "length"}
            out = {"id": "cmpl-%d" % n, "object": "text_completion", "model": args.model_name,
                   "choices": [choice]}
            # What it served from its prompt cache, where each server says it.
            if args.flavor == "llamacpp":
                out["timings"] = {"cache_n": r.cached, "prompt_n": len(r.ids) - r.cached}
            elif args.flavor != "plain":
                out["usage"] = {"prompt_tokens": len(r.ids), "completion_tokens": len(r.tokens),
                                "prompt_tokens_details": {"cached_tokens": r.cached}}
            f = args.fault
            if f == "no-logprobs":
                choice["logprobs"] = None
            elif f == "two-choices":
                out["choices"] = [choice, dict(choice, index=1)]
            elif f == "mismatched" and logprobs and "token_logprobs" in logprobs:
                logprobs["token_logprobs"] = logprobs["token_logprobs"][:-1]
            elif f == "truncated":
                return json.dumps(out).encode()[:40]
            return out

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--model-name", default="toy", help="comma-separated: several models")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bug", choices=["none", "padding", "warm-cache"], default="none")
    p.add_argument("--fault", default="none")
    p.add_argument("--flavor", choices=["vllm", "sglang", "llamacpp", "plain"], default="vllm")
    p.add_argument("--api-key", default="")
    p.add_argument("--log", default="")
    p.add_argument("--window-ms", type=float, default=20)
    p.add_argument("--lifetime-s", type=float, default=600, help="exits after this long")
    p.add_argument("--tls-cert", default="", help="serve https with this certificate and --tls-key")
    p.add_argument("--tls-key", default="")
    args = p.parse_args()
    scheduler = Scheduler(Model(args.seed, args.bug == "padding"), args.window_ms / 1000)
    scheduler.start()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args, scheduler))
    server.daemon_threads = True
    if args.tls_cert:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Timer(args.lifetime_s, lambda: os._exit(3)).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
