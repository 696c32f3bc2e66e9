"""The vocabulary of the serving tests' random-weight models: byte-level BPE
over newline and printable ASCII, ten merges and one end token, written as
llama.cpp's GGUF metadata (make_gguf.py) and as Hugging Face's tokenizer.json
(make_gguf.py --checkpoint, make_checkpoint.py), so that every engine tokenizes
a prompt into the same ids. The chat template is ChatML's."""
import json
import os

MERGES = [("Ġ", "t"), ("Ġ", "a"), ("h", "e"), ("i", "n"), ("r", "e"), ("o", "n"),
          ("Ġt", "he"), ("e", "r"), ("Ġ", "s"), ("a", "t")]
EOS_TEXT = "<|endoftext|>"
CONTEXT = 512
# ChatML, written with the vocabulary's own characters (no special tokens):
# one template for llama.cpp (GGUF metadata) and transformers (vLLM).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def byte_symbols():
    """GPT-2's printable stand-in for each byte the vocabulary has: newline and
    printable ASCII only. With every byte, a random model emits bytes that are
    not UTF-8 on their own, and llama-cpp-python then returns more tokens than
    max_tokens asked for (an empty text for each); the harness rightly refuses
    that, so the vocabulary gives it no such token."""
    symbols = {10: "\u010a", 32: "\u0120"}  # GPT-2's "Ċ" and "Ġ"
    for b in range(33, 127):
        symbols[b] = chr(b)
    return [symbols[b] for b in sorted(symbols)]


def tokens(extra=0):
    """Every token, by id: bytes, merges, `extra` tokens no text encodes to
    (a wide vocabulary has more near-ties, as a real one does), then the end
    token."""
    return (byte_symbols() + [a + b for a, b in MERGES] + [f"<extra_{i}>" for i in range(extra)] +
            [EOS_TEXT])


def write_tokenizer(folder, extra=0):
    """tokenizer.json and tokenizer_config.json of the vocabulary."""
    vocabulary = tokens(extra)
    eos = len(vocabulary) - 1
    tokenizer = {
        "version": "1.0",
        "added_tokens": [{"id": eos, "content": EOS_TEXT, "single_word": False,
                          "lstrip": False, "rstrip": False, "normalized": False,
                          "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False,
                  "vocab": {s: i for i, s in enumerate(vocabulary[:eos])},
                  "merges": [a + " " + b for a, b in MERGES]},
    }
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": EOS_TEXT,
                   "eos_token": EOS_TEXT, "add_bos_token": False, "model_max_length": CONTEXT,
                   "chat_template": CHAT_TEMPLATE}, f, indent=1)
