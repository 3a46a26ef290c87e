"""
The gradient check that circulated with the gist: for a few random entries of each parameter,
the numerical gradient (L(w + 1e-5) - L(w - 1e-5)) / 2e-5 beside lossFun's analytic one, and
their relative error |a - n| / |a + n|. From the project's folder:

    python tests/gradient_check.py [TEXT]        # TEXT: input.txt unless given

It checks lossFun on the first 25 characters of TEXT, from a zero state, with a fresh model of
10 neurons, always the same (seed 0).
"""
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from min_char_rnn import char_maps, lossFun, read_data  # noqa: E402

HIDDEN_SIZE, SEQ_LENGTH, SEED, CHECKS = 10, 25, 0, 5
# Weights drawn at 0.3, not at the gist's 0.01: the gradients then stand well above the
# rounding error of a difference of two losses (about 1e-14 / 2e-5, some 1e-9)
SCALE = 0.3
NAMES = ("Wxh", "Whh", "Why", "bh", "by")


def central_difference(inputs, targets, hprev, params, param, i, h=1e-5):
    """d loss / d param[i] as (loss(param[i] + h) - loss(param[i] - h)) / 2h."""
    old = param[i]
    param[i] = old + h
    plus = lossFun(inputs, targets, hprev, params)[0]
    param[i] = old - h
    minus = lossFun(inputs, targets, hprev, params)[0]
    param[i] = old
    return (plus - minus) / (2 * h)


def fresh_model(vocab_size, rng):
    """Wxh, Whh, Why, bh, by, each entry normal times SCALE."""
    H, V = HIDDEN_SIZE, vocab_size
    return [rng.randn(*shape) * SCALE for shape in [(H, V), (H, H), (V, H), (H, 1), (V, 1)]]


def check(inputs, targets, hprev, params, rng, checks=CHECKS):
    """Print a header for each parameter, then "numerical, analytic => relative error" for up
    to checks random entries whose analytic gradient is neither 0 nor clipped."""
    analytic = lossFun(inputs, targets, hprev, params)[1:6]
    for name, param, dparam in zip(NAMES, params, analytic):
        usable = np.flatnonzero((dparam != 0) & (np.abs(dparam) < 5))
        chosen = rng.choice(usable, min(checks, len(usable)), replace=False)
        print("%s (%d x %d): %d random entries of the %d neither 0 nor clipped"
              % (name, *param.shape, len(chosen), len(usable)))
        for flat in chosen:
            i = np.unravel_index(flat, param.shape)
            a = dparam[i]
            n = central_difference(inputs, targets, hprev, params, param, i)
            print("%f, %f => %e" % (n, a, abs(a - n) / abs(a + n)))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else "input.txt"
    data, chars = read_data(path)
    char_to_ix = char_maps(chars)[0]
    ixes = [char_to_ix[ch] for ch in data[:SEQ_LENGTH + 1]]
    rng = np.random.RandomState(SEED)
    params = fresh_model(len(chars), rng)
    print("lossFun on the first %d characters of %s, from a zero state, a fresh model of %d "
          "neurons (seed %d)" % (len(ixes) - 1, path, HIDDEN_SIZE, SEED))
    print("left out: entries whose gradient is exactly 0 (0/0: Wxh's columns for characters "
          "not in the chunk) and those lossFun clips to -5 or 5")
    check(ixes[:-1], ixes[1:], np.zeros((HIDDEN_SIZE, 1)), params, rng)


if __name__ == "__main__":
    main()
