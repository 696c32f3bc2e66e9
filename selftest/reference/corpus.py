"""Text for the reference tests: real text from files every Debian machine has,
and generated strings that aim at tokenizers' edge cases (code points from
every plane, whitespace runs, contractions in odd cases, digits of many
scripts, control characters). Seeded: the same strings on every run."""
import glob
import os
import random


# Debian's license texts: the same on every Debian 12 machine, so the trained
# tokenizers, and with them the model fixtures and their figures, are too.
LICENSES = sorted(glob.glob("/usr/share/common-licenses/*"))
# For test strings also Python's own sources (code), which vary a little with
# the interpreter's version.
SOURCES = sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))[:40]

# Decimal digits of many scripts: ASCII, Arabic-Indic, extended Arabic-Indic,
# Devanagari, Bengali, Thai, Tibetan, Myanmar, fullwidth, mathematical bold.
DIGIT_ZEROS = [0x30, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0xF20, 0x1040, 0xFF10, 0x1D7CE]
# Letters of several scripts, for words that are not English.
SCRIPTS = [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x391, 0x3C9), (0x410, 0x44F),
           (0x5D0, 0x5EA), (0x627, 0x64A), (0x905, 0x939), (0xE01, 0xE2E), (0x3041, 0x3096),
           (0x30A1, 0x30FA), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0x1F600, 0x1F64F)]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'lL",
                "'D", "\u2019s"]
WHITESPACE = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2009",
              "\u200b", "\x0b", "\x0c", " \t\n  "]


def real_lines(paths):
    lines = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines += [line.rstrip("\n") for line in f if line.strip()]
        except (OSError, UnicodeDecodeError):
            continue
    return lines


def training_text():
    """Real text to train tokenizers on (about 1 MB)."""
    return real_lines(LICENSES)


def random_code_point(rng):
    # Every plane, 0 to 16 (the BMP thrice as often): assigned, unassigned and
    # private-use code points; never a surrogate (no Python str, and no UTF-8,
    # holds one).
    plane = rng.choice([0, 0] + list(range(17)))
    while True:
        c = plane * 0x10000 + rng.randrange(0x10000)
        if not 0xD800 <= c <= 0xDFFF:
            return chr(c)


def word(rng):
    lo, hi = rng.choice(SCRIPTS)
    return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 8)))


def digits(rng):
    zero = rng.choice(DIGIT_ZEROS)
    return "".join(chr(zero + rng.randrange(10)) for _ in range(rng.randint(1, 9)))


def odd_case(rng, text):
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def generated(rng, specials):
    parts = []
    for _ in range(rng.randint(1, 12)):
        kind = rng.random()
        if kind < 0.25:
            parts.append(word(rng))
        elif kind < 0.35:
            parts.append(odd_case(rng, word(rng)) + rng.choice(CONTRACTIONS))
        elif kind < 0.5:
            parts.append(rng.choice(WHITESPACE))
        elif kind < 0.6:
            parts.append(digits(rng))
        elif kind < 0.7:
            parts.append("".join(random_code_point(rng) for _ in range(rng.randint(1, 4))))
        elif kind < 0.75:
            parts.append(chr(rng.choice(list(range(0, 32)) + [127] + list(range(0x80, 0xA0)))))
        elif kind < 0.8 and specials:
            parts.append(rng.choice(specials))
        else:
            parts.append(rng.choice("!?.,;:-_()[]{}<>\"'`~@#$%^&*+=/\\|"))
    return "".join(parts)


def test_strings(count, specials, seed=19):
    """`count` strings: half real lines (some with added tokens spliced in), half generated."""
    rng = random.Random(seed)
    lines = real_lines(LICENSES + SOURCES)
    strings = ["", " ", "Hello world", "  leading and trailing  ", "I'LL DON'T we'Re",
               "\u00e9 vs e\u0301 (NFC)", "\U0001F600\U0001F44D\U0001F3FD"]
    while len(strings) < count // 2:
        line = rng.choice(lines)
        if specials and rng.random() < 0.2:
            at = rng.randrange(len(line) + 1)
            line = line[:at] + rng.choice(specials) + line[at:]
        strings.append(line)
    while len(strings) < count:
        strings.append(generated(rng, specials))
    return strings
