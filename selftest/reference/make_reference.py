#!/usr/bin/env python3
"""Writes the fixtures of the `reference` tests (ctest -L reference) with the
pinned transformers, tokenizers and torch (scripts/requirements.txt):

    make_reference.py --out DIR

DIR/models/<family>/ (make_models.py), DIR/tokenizers/<kind>/
(make_tokenizers.py) and DIR/versions.json, the versions that wrote them.
Nothing is downloaded: tokenizers are trained on text files of this machine,
models get random weights."""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Offline (nothing is fetched from the Hub) and quiet.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

import corpus  # noqa: E402
import make_models  # noqa: E402
import make_tokenizers  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the reference itself: no threading noise
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "tokenizers": tokenizers.__version__, "python": sys.version.split()[0]}
    start = time.time()
    text = corpus.training_text()
    tokenizer_kinds = make_tokenizers.make_all(os.path.join(args.out, "tokenizers"), text)
    families = make_models.make_all(os.path.join(args.out, "models"), text)
    with open(os.path.join(args.out, "versions.json"), "w") as f:
        json.dump(dict(versions, families=families, tokenizers=tokenizer_kinds), f, indent=2)
    print(f"reference fixtures in {args.out} ({time.time() - start:.0f} s): "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))


if __name__ == "__main__":
    main()
