"""The tokenizer fixtures of the `reference` tests: for each kind of
tokenizer.json (tokenizer_kinds.py), the file, and what `tokenizers` makes of
every test string: <out>/<kind>/tokenizer.json and expected.json with

  ids             tokenizer.encode(text).ids (special tokens added as the file says)
  decoded         tokenizer.decode(ids, skip_special_tokens=False)
  decoded_prefix  the same for the first half of the ids (may cut a character)

and <out>/strings.json, the strings. GPT-2's kind is also written as the
vocab.json/merges.txt pair (<out>/gpt2_pair/)."""
import json
import os

from corpus import test_strings
from tokenizer_kinds import kinds

STRINGS = 6000


def make_all(out, text):
    """`text`: what the tokenizers are trained on (corpus.training_text())."""
    names = []
    for name, (tok, specials) in kinds(text).items():
        directory = os.path.join(out, name)
        os.makedirs(directory, exist_ok=True)
        tok.save(os.path.join(directory, "tokenizer.json"))
        strings = test_strings(STRINGS, specials)
        encodings = tok.encode_batch(strings)
        ids = [e.ids for e in encodings]
        expected = {"strings": strings, "ids": ids,
                    "decoded": tok.decode_batch(ids, skip_special_tokens=False),
                    "decoded_prefix": tok.decode_batch([i[:len(i) // 2] for i in ids],
                                                       skip_special_tokens=False)}
        with open(os.path.join(directory, "expected.json"), "w") as f:
            json.dump(expected, f)
        names.append(name)
        if name == "gpt2":
            pair = os.path.join(out, "gpt2_pair")
            os.makedirs(pair, exist_ok=True)
            tok.model.save(pair)
            with open(os.path.join(pair, "expected.json"), "w") as f:
                json.dump(expected, f)
            names.append("gpt2_pair")
    return names
