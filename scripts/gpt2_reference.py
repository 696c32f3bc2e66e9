#!/usr/bin/env python3
"""GPT-2's reference byte-level BPE encoder (OpenAI's encoder.py algorithm, run
with the `regex` module, as transformers' Python GPT2Tokenizer does), a small
BPE trainer, and a generator of tricky strings.

Run as a program, it checks detllm's tokenizer against the reference:

    python3 scripts/gpt2_reference.py --dump build/selftest/detllm_dump_gpt2 --strings 3000

It trains merges on generated text, writes vocab.json and merges.txt, has
detllm_dump_gpt2 tokenize thousands of generated strings, and compares every
token id. Exit status 0 when all agree. Needs only python3 and python3-regex.
"""
import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile

try:
    import regex
except ImportError:  # the self-test skips (CTest's SKIP_RETURN_CODE) rather than fails
    print("gpt2_reference.py needs the regex module: apt-get install python3-regex", file=sys.stderr)
    sys.exit(77)

PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
END_OF_TEXT = "<|endoftext|>"


def bytes_to_unicode():
    """GPT-2's map from bytes to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_ENCODER = bytes_to_unicode()


class ReferenceEncoder:
    """OpenAI's GPT-2 encoder: regex pre-tokenization, then merges by rank."""

    def __init__(self, vocab, merges):
        self.encoder = vocab
        self.ranks = {tuple(m.split(" ")): i for i, m in enumerate(merges)}

    def bpe(self, token):
        word = tuple(token)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
        return word

    def encode(self, text):
        ids = []
        parts = text.split(END_OF_TEXT)  # the special token, as transformers splits it out
        for k, part in enumerate(parts):
            if k:
                ids.append(self.encoder[END_OF_TEXT])
            for piece in PATTERN.findall(part):
                symbols = "".join(BYTE_ENCODER[b] for b in piece.encode("utf-8"))
                ids.extend(self.encoder[s] for s in self.bpe(symbols))
        return ids


def train_bpe(texts, merges_wanted):
    """The classic BPE trainer: merge the most frequent pair, ties by the pair itself."""
    words = collections.Counter()
    for text in texts:
        for piece in PATTERN.findall(text):
            words[tuple(BYTE_ENCODER[b] for b in piece.encode("utf-8"))] += 1
    merges = []
    for _ in range(merges_wanted):
        pairs = collections.Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        merged = collections.Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    return merges


def write_tokenizer_files(directory, merges):
    """vocab.json in GPT-2's order (byte symbols, merges, <|endoftext|>) and merges.txt."""
    vocab = {}
    for b in sorted(BYTE_ENCODER, key=lambda b: (b not in range(33, 127) and b not in range(161, 173)
                                                 and b not in range(174, 256), b)):
        vocab[BYTE_ENCODER[b]] = len(vocab)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab[END_OF_TEXT] = len(vocab)
    with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    return vocab


WORDS = ("the of and to in is was for on that with as it by at from his an were are which this be "
         "have has had not but or one all their they been there more when who will would can no "
         "running jumped quickly tokenizer merges vocabulary determinism batch invariant logits "
         "Hello World OpenAI GPT Transformer CUDA cuBLAS libtorch").split()
PIECES = {
    "contractions": ["I'm", "don't", "they're", "we've", "I'll", "he'd", "it's", "DON'T", "'s",
                     "'ll", "o'clock", "rock'n'roll"],
    "numbers": ["3.14", "1,000", "2024", "007", "½", "१२३", "Ⅻ", "٣", "1e-5", "0x1F"],
    "punctuation": ["!!!", "?!", "...", "—", "(", ")", "[", "]", "{", "}", "->", "==", "#", "@",
                    "$", "%", "\"", "'", "`", "«", "»", "¿", "…"],
    "whitespace": [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\u00a0", "\u3000", " \n ",
                   "\u2009", "\u200b", "\x0b", "\x1c"],
    "emoji": ["😀", "👩‍👩‍👧", "🇫🇷", "✨", "🚀", "👍🏽", "❤️"],
    "scripts": ["東京タワー", "こんにちは", "你好世界", "Привет", "мир", "مرحبا", "שלום", "안녕하세요",
                "नमस्ते", "ελληνικά", "naïve", "café", "e\u0301", "Ångström", "straße", "ﬁ"],
    "code": ["def f(x):", "    return x**2", "for (int i = 0; i < n; ++i) {", "}",
             "<div class=\"a\">", "SELECT * FROM t;", "a_b.c[0]", "#include <vector>"],
    "special": [END_OF_TEXT],
}


def random_string(rng):
    """Words, contractions, numbers, symbols, whitespace runs, emoji and other
    scripts in random order, or random code points from anywhere in Unicode."""
    kind = rng.random()
    if kind < 0.1:  # any code point but surrogates: Unicode's every class
        return "".join(chr(rng.choice([rng.randint(0, 0xD7FF), rng.randint(0xE000, 0x10FFFF),
                                       rng.randint(0x20, 0x2FFF)])) for _ in range(rng.randint(1, 20)))
    parts = []
    for _ in range(rng.randint(1, 12)):
        group = rng.choice(list(PIECES)) if rng.random() < 0.5 else "words"
        parts.append(rng.choice(WORDS if group == "words" else PIECES[group]))
        if rng.random() < 0.7:
            parts.append(rng.choice([" ", " ", " ", "", "\n", "  ", "\t"]))
    return "".join(parts)


def main():
    parser = argparse.ArgumentParser(description="Checks detllm's GPT-2 tokenizer against GPT-2's reference encoder.")
    parser.add_argument("--dump", required=True, help="path to the detllm_dump_gpt2 program")
    parser.add_argument("--strings", type=int, default=3000)
    parser.add_argument("--merges", type=int, default=400)
    args = parser.parse_args()
    rng = random.Random(0)
    work = tempfile.mkdtemp(prefix="detllm_bpe_")
    merges = train_bpe([random_string(rng) for _ in range(2000)], args.merges)
    vocab = write_tokenizer_files(work, merges)
    reference = ReferenceEncoder(vocab, [f"{a} {b}" for a, b in merges])
    strings = [random_string(rng) for _ in range(args.strings)]
    strings += [p for group in PIECES.values() for p in group]
    strings_path, out_path = os.path.join(work, "strings.json"), os.path.join(work, "ids.json")
    with open(strings_path, "w", encoding="utf-8") as f:
        json.dump(strings, f)
    subprocess.run([args.dump, "tokens", work, strings_path, out_path], check=True)
    with open(out_path, encoding="utf-8") as f:
        ours = json.load(f)["strings"]
    bad = [(s, mine) for s, mine in zip(strings, ours) if reference.encode(s) != mine]
    print(f"{len(merges)} merges, {len(vocab)} tokens: {len(strings) - len(bad)} of {len(strings)} "
          f"strings tokenize exactly as GPT-2's reference encoder does")
    for s, mine in bad[:5]:
        print(f"  MISMATCH {s!r}: ours {mine}, reference {reference.encode(s)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
