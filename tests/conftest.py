import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import min_char_rnn

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "min_char_rnn.py"
SHARED = ROOT.parent / "shared"  # the gist's reference outputs, beside the project


def run_main(capsys, *args):
    """min_char_rnn.main(args) in this process: (exit status, stdout, stderr)."""
    try:
        status = min_char_rnn.main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        status = e.code
    out, err = capsys.readouterr()
    return status, out, err


def run_script(*args, **kwargs):
    """The script in a process of its own, as a user runs it."""
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, timeout=60, cwd=kwargs.pop("cwd", ROOT), **kwargs)


def small_model(rng, hidden_size, vocab_size, scale, recurrent=None, output=None):
    """Random parameters (Wxh, Whh, Why, bh, by): normal, times scale (Wxh, bh), recurrent (Whh)
    and output (Why, by), the last two being scale unless given."""
    recurrent = scale if recurrent is None else recurrent
    output = scale if output is None else output
    return (rng.randn(hidden_size, vocab_size) * scale,
            rng.randn(hidden_size, hidden_size) * recurrent,
            rng.randn(vocab_size, hidden_size) * output, rng.randn(hidden_size, 1) * scale,
            rng.randn(vocab_size, 1) * output)


@pytest.fixture
def input_text():
    return (ROOT / "input.txt").read_text(encoding="utf-8")


@pytest.fixture
def shakespeare():
    path = SHARED / "data" / "tinyshakespeare.txt"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return path


def golden(name):
    path = SHARED / "golden" / name
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return path.read_text()


def npz_arrays(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture
def short_text(tmp_path):
    """A text so short that the data pointer wraps every few iterations."""
    path = tmp_path / "short.txt"
    path.write_text("the cat sat on the mat; the rat ran at the cat.\n", encoding="utf-8")
    return path
