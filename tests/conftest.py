import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import min_char_rnn

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "min_char_rnn.py"
INPUT = ROOT / "input.txt"
SECONDS = 20  # for one run of the script: a regression that trains forever fails instead
SHORT_TEXT = "the cat sat on the mat; the rat ran at the cat.\n"


class RanTooLong(Exception):
    pass


def too_long(signum, frame):
    raise RanTooLong(f"still running after {SECONDS} s")


def run_main(capsys, *args, main=min_char_rnn.main):
    """main(args) in this process: (exit status, stdout, stderr)."""
    old = signal.signal(signal.SIGALRM, too_long)
    signal.setitimer(signal.ITIMER_REAL, SECONDS)
    try:
        status = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        status = e.code
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    out, err = capsys.readouterr()
    return status, out, err


def script_env(**changes):
    """The environment of this process without PYTHONUNBUFFERED (so that what is seen of
    the script's buffering is its own), with changes (a value of None removes a name)."""
    env = dict(os.environ, **changes)
    env.pop("PYTHONUNBUFFERED", None)
    return {k: v for k, v in env.items() if v is not None}


def limit_memory(megabytes):
    """A preexec_fn: the process may map at most megabytes, so a runaway allocation fails
    at once instead of swapping."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes * 2**20, megabytes * 2**20))
    return limit


def run_script(*args, script=SCRIPT, env=None, **kwargs):
    """A script in a process of its own, as a user runs it, from the project's folder."""
    kwargs.setdefault("cwd", ROOT)
    kwargs.setdefault("capture_output", "stdout" not in kwargs)
    return subprocess.run([sys.executable, str(script), *map(str, args)], text=True, timeout=60,
                          env=env or script_env(), **kwargs)


def start_script(*args, **kwargs):
    """The script as a process still running: its stdout and stderr as pipes of bytes."""
    return subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=script_env(),
                            cwd=ROOT, bufsize=0, **kwargs)


def interfering(monkeypatch, at_iteration, act):
    """Make min_char_rnn's lossFun call act() as iteration at_iteration begins."""
    calls = []
    real = min_char_rnn.lossFun

    def lossFun(*args):
        if len(calls) == at_iteration:
            act()
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(min_char_rnn, "lossFun", lossFun)


def train_to(data, state, n):
    """Run min_char_rnn.train on data until state is at iteration n, as the script does."""
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for k in min_char_rnn.train(data, state):
            if k == n:
                break


def small_model(rng, hidden_size, vocab_size, scale, recurrent=None, output=None):
    """Random parameters (Wxh, Whh, Why, bh, by): normal, times scale (Wxh, bh), recurrent (Whh)
    and output (Why, by), the last two being scale unless given."""
    recurrent = scale if recurrent is None else recurrent
    output = scale if output is None else output
    return (rng.randn(hidden_size, vocab_size) * scale,
            rng.randn(hidden_size, hidden_size) * recurrent,
            rng.randn(vocab_size, hidden_size) * output, rng.randn(hidden_size, 1) * scale,
            rng.randn(vocab_size, 1) * output)


def npz_arrays(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture
def input_text():
    return INPUT.read_text(encoding="utf-8")


@pytest.fixture
def short_text(tmp_path):
    """A text so short that the data pointer wraps every few iterations."""
    path = tmp_path / "short.txt"
    path.write_text(SHORT_TEXT, encoding="utf-8")
    return path
