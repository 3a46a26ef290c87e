"""What the tests share: texts, a small trained model, ways to run the script, the one line."""
import contextlib
import errno
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import min_char_rnn

ROOT = Path(__file__).resolve().parents[1]
INPUT = ROOT / "input.txt"
FORMAT_1 = Path(__file__).parent / "data" / "format1.npz"  # written by version 1.0.0
SHORT_TEXT = "the cat sat on the mat; the rat ran at the cat.\n"
# A small model on SHORT_TEXT: 48 characters, so that with chunks of 6 the data pointer goes
# back to 0 every 7 iterations
SMALL = ["--hidden-size", 8, "--seq-length", 6, "--learning-rate", 0.05, "--sample-length", 30]
SEED = ["--seed", 9]
BOUND = ["--max-iters", 1000]  # for a run that is to end on its own (an error, a signal)
WHOLE = 110  # iterations of the run that trained `model`


class Terminal(io.TextIOWrapper):
    """A stdout as a terminal is to the script: isatty() is true. What was written: written()."""

    def __init__(self):
        super().__init__(io.BytesIO(), encoding="utf-8", newline="")

    def isatty(self):
        return True


class FullDisk(io.StringIO):
    """A stdout on a full disk, as /dev/full is on Linux: every write fails."""

    def write(self, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def written(stream):
    """What was written to a stream made on an io.BytesIO."""
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8")


def run_main(capsys, *args, stdout=None, main=min_char_rnn.main):
    """main(args) in this process, with stdout the given stream if any: (status, out, err)."""
    old_stdout = sys.stdout
    if stdout is not None:
        sys.stdout = stdout
    try:
        status = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        status = e.code
    finally:
        sys.stdout = old_stdout
    out, err = capsys.readouterr()
    return status, out, err


def trains(capsys, *args, stdout=None):
    """A run that ends well: (stdout, stderr)."""
    status, out, err = run_main(capsys, *args, stdout=stdout)
    assert status == 0, err
    return out, err


def quietly(main, *args):
    """main(args) with stdout and stderr of its own, for fixtures: (status, stdout, stderr)."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in args])
    return status, written(out), err.getvalue()


def one_error_line(status, err, *words, code=1, prog="min_char_rnn.py"):
    """Status code, and one line on stderr: the error, with each of words; no traceback."""
    assert status == code, err
    assert len(err.splitlines()) == 1 and err.endswith("\n"), err
    assert err.startswith(f"{prog}: error: "), err
    assert "Traceback" not in err and "Warning" not in err
    for word in words:
        assert str(word) in err


def npz_arrays(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def same_arrays(a, b):
    """Two checkpoints' arrays, equal name for name, dtype and value (NaN equal to NaN)."""
    assert a.keys() == b.keys()
    for name in a:
        assert np.asarray(a[name]).dtype == np.asarray(b[name]).dtype, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def files(folder):
    """The regular files in a folder, by name: a temporary file left behind is one of them."""
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file()}


def train_to(data, state, n):
    """Run min_char_rnn.train on data until state is at iteration n, as the script does."""
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for k in min_char_rnn.train(data, state):
            if k == n:
                break


def small_model(rng, hidden_size, vocab_size, scale, recurrent=None, output=None):
    """Random (Wxh, Whh, Why, bh, by): normal times scale, recurrent (Whh), output (Why, by)."""
    if recurrent is None:
        recurrent = scale
    if output is None:
        output = scale
    return (rng.randn(hidden_size, vocab_size) * scale,
            rng.randn(hidden_size, hidden_size) * recurrent,
            rng.randn(vocab_size, hidden_size) * output, rng.randn(hidden_size, 1) * scale,
            rng.randn(vocab_size, 1) * output)


@pytest.fixture(scope="session", autouse=True)
def early_starts(request, tmp_path_factory):
    """A module's start_early(tmp_path_factory), as the session begins, if its tests are to run."""
    for module in {item.module for item in request.session.items}:
        if hasattr(module, "start_early"):
            module.start_early(tmp_path_factory)


@pytest.fixture
def input_text():
    return INPUT.read_text(encoding="utf-8")


@pytest.fixture
def short_text(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text(SHORT_TEXT, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def whole_run(tmp_path_factory):
    """WHOLE iterations on SHORT_TEXT, saving every 50: (its stdout, the folder of its m.npz)."""
    folder = tmp_path_factory.mktemp("whole")
    (folder / "short.txt").write_text(SHORT_TEXT, encoding="utf-8")
    status, out, err = quietly(min_char_rnn.main, folder / "short.txt", "--checkpoint",
                               folder / "m.npz", *SEED, *SMALL, "--max-iters", WHOLE,
                               "--save-every", 50)
    assert status == 0, err
    return out, folder


@pytest.fixture
def model(tmp_path, whole_run):
    """The checkpoint of whole_run, at iteration WHOLE, a copy of this test's own."""
    path = tmp_path / "model.npz"
    path.write_bytes((whole_run[1] / "m.npz").read_bytes())
    return path
