"""tokenizer.json files of every kind detllm's loader accepts, made with the
`tokenizers` library itself (trained on real text, then written by it), for
the tokenizer reference tests."""
import json

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
from tokenizers import pre_tokenizers, processors, trainers

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPACE = "\u2581"
BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]

# Added tokens with every flag: matched whole-word only, taking the whitespace
# around them, and matched on the normalized text (normalized=True) or raw.
FLAGGED = [AddedToken("<mask>", lstrip=True, special=True),
           AddedToken("[SEP]", rstrip=True, special=True),
           AddedToken("both", lstrip=True, rstrip=True, special=False),
           AddedToken("word", single_word=True, special=False),
           AddedToken("Caf\u00e9", normalized=True, special=False),
           AddedToken(" spaced", normalized=False, special=False)]
FLAGGED_TEXT = ["<mask>", " <mask> ", "[SEP]  x", "a both b", "word", "swordfish word.",
                "wordy", "Cafe\u0301", "Caf\u00e9", " spaced", "x spaced"]


def byte_level_bpe(text, vocab_size, split, specials, bos, normalizer=None, ignore_merges=False):
    """Byte-level BPE as GPT-2 (split=None: ByteLevel's own regex), Llama 3 or Qwen2."""
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer:
        tok.normalizer = normalizer
    if split:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(split), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(text, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
            special_tokens=[(bos, tok.token_to_id(bos))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def grow_vocabulary(tok, entries, text):
    """Adds whole pieces of the text (reachable with ignore_merges) and then
    filler tokens until the vocabulary has `entries`; ids follow the trained
    ones, so keys are far from id order."""
    file = json.loads(tok.to_str())
    vocab = file["model"]["vocab"]
    added = {t["content"] for t in file["added_tokens"]}
    next_id = max(max(vocab.values()), max((t["id"] for t in file["added_tokens"]), default=0)) + 1
    pieces = set()
    for line in text:
        for piece, _ in tok.pre_tokenizer.pre_tokenize_str(line):
            pieces.add(piece)
    for piece in sorted(pieces) + [f"\u0120filler{i}" for i in range(entries)]:
        if len(vocab) + len(added) >= entries:
            break
        if piece not in vocab and piece not in added:
            vocab[piece] = next_id
            next_id += 1
    # The added tokens' ids must stay above the vocabulary's, as in real files.
    for token in file["added_tokens"]:
        del vocab[token["content"]]
        token["id"] = next_id
        vocab[token["content"]] = next_id
        next_id += 1
    for item in file["post_processor"].get("special_tokens", {}).values():
        item["ids"] = [vocab[t] for t in item["tokens"]]
    return Tokenizer.from_str(json.dumps(file))


def sentencepiece_bpe(text, vocab_size, style, scheme="always", split=True):
    """SentencePiece-style BPE with byte fallback: Llama 2's normalizer
    (style "normalizer"), Gemma's (style "gemma": spaces replaced, no space
    prepended, none stripped when decoding) or a Metaspace pre-tokenizer in
    `scheme`."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    if style == "gemma":
        tok.normalizer = normalizers.Replace(" ", SPACE)
        tok.decoder = decoders.Sequence([decoders.Replace(SPACE, " "), decoders.ByteFallback(),
                                         decoders.Fuse()])
    elif style == "normalizer":
        tok.normalizer = normalizers.Sequence([normalizers.Prepend(SPACE),
                                               normalizers.Replace(" ", SPACE)])
        tok.decoder = decoders.Sequence([decoders.Replace(SPACE, " "), decoders.ByteFallback(),
                                         decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme=scheme,
                                                     split=split)
        tok.decoder = decoders.Sequence([decoders.ByteFallback(),
                                         decoders.Metaspace(replacement=SPACE,
                                                            prepend_scheme=scheme, split=split)])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size,
                                  special_tokens=["<unk>", "<s>", "</s>"] + BYTE_TOKENS,
                                  show_progress=False)
    tok.train_from_iterator(text, trainer)
    # Byte tokens belong to the model's vocabulary, not to added_tokens (as in
    # Llama 2's file): the text "<0x41>" is not one token.
    file = json.loads(tok.to_str())
    file["added_tokens"] = [t for t in file["added_tokens"] if t["content"] not in BYTE_TOKENS]
    tok = Tokenizer.from_str(json.dumps(file))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


def kinds(text):
    """name -> (Tokenizer, its added tokens' texts for the test strings)."""
    out = {}
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    llama3 = byte_level_bpe(text, 8000, LLAMA3_SPLIT, specials, "<|begin_of_text|>",
                            ignore_merges=True)
    out["llama3_large"] = (grow_vocabulary(llama3, 128256, text), specials)
    qwen_specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    qwen2 = byte_level_bpe(text, 6000, QWEN2_SPLIT, qwen_specials, None,
                           normalizer=normalizers.NFC())
    out["qwen2_nfc_large"] = (grow_vocabulary(qwen2, 151665, text), qwen_specials)
    out["gpt2"] = (byte_level_bpe(text, 4000, None, ["<|endoftext|>"], None), ["<|endoftext|>"])
    out["spm_llama2"] = (sentencepiece_bpe(text, 3000, "normalizer"), ["<s>", "</s>", "<unk>"])
    for scheme in ("always", "first", "never"):
        out[f"spm_metaspace_{scheme}"] = (sentencepiece_bpe(text, 3000, "metaspace", scheme),
                                          ["<s>", "</s>"])
    out["spm_metaspace_nosplit"] = (sentencepiece_bpe(text, 3000, "metaspace", "first", False),
                                    ["<s>"])
    out["spm_gemma"] = (sentencepiece_bpe(text, 3000, "gemma"), ["<s>", "</s>", "<unk>"])
    # Flagged added tokens on a normalizer-free, an NFC and a SentencePiece file.
    for base in ("gpt2", "qwen2_nfc_large", "spm_llama2"):
        tok = Tokenizer.from_str(out[base][0].to_str())
        tok.add_tokens(FLAGGED)
        out[f"{base}_flagged"] = (tok, out[base][1] + FLAGGED_TEXT)
    return out
