"""Checkpoints: stopped and resumed, older formats, a failed save, starting again."""
import io
import os
import re
import resource
import signal

import numpy as np
import pytest

from conftest import (BOUND, FORMAT_1, SEED, SHORT_TEXT, SMALL, WHOLE, files, npz_arrays,
                      one_error_line, run_main, same_arrays, train_to, trains, written)
from min_char_rnn import PARAMS, checkpoint_arrays, load_checkpoint

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


class SignalOnLine(io.TextIOWrapper):
    """A stdout at which the user sends signum as soon as a line holding `line` appears."""

    def __init__(self, signum, line):
        super().__init__(io.BytesIO(), encoding="utf-8", newline="")
        self.signum = signum
        self.line = line

    def write(self, text):
        if self.line in text:
            os.kill(os.getpid(), self.signum)
        return super().write(text)


@pytest.fixture
def signals_as_in_a_shell():
    """The signals handled as a shell leaves them, even under `trap "" INT`; restored after."""
    found = {signum: signal.signal(signum, signal.default_int_handler) for signum in SIGNALS}
    yield
    for signum, handler in found.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda signum: signum.name)
def test_a_run_stopped_and_resumed_is_the_run_never_stopped(
        tmp_path, short_text, capsys, whole_run, signals_as_in_a_shell, signum):
    """Stopped by --max-iters at 1, 7 (the text wraps), 57 and 100 (a sample is next); by the
    signal as iteration 100 prints its line (it finishes, is saved and said); at the end, twice.
    Resumed through a symlink, which stays one: what it prints and the arrays it leaves."""
    path = tmp_path / "m.npz"
    parts = trains(capsys, short_text, "--checkpoint", path, *SEED, *SMALL, "--max-iters", 1)[0]
    link = tmp_path / "link.npz"
    link.symlink_to(path)
    resume = [short_text, "--checkpoint", link, "--resume"]
    for stop, flags in [(7, SMALL), (57, []), (100, [])]:
        parts += trains(capsys, *resume, *flags, "--max-iters", stop)[0]
    stdout = SignalOnLine(signum, "iter 100,")
    status, out, err = run_main(capsys, *resume, *BOUND, stdout=stdout)
    assert status == 128 + signum and signal.getsignal(signum) is signal.default_int_handler
    assert err.splitlines()[-1] == f"stopped at iteration 101; saved {link}"
    parts += written(stdout)
    for stop in (WHOLE, WHOLE):
        parts += trains(capsys, *resume, "--max-iters", stop)[0]
    out, folder = whole_run
    data_line = "data has 48 characters, 14 unique.\n"
    assert parts.count(data_line) == 7
    assert parts.replace(data_line, "") == out.replace(data_line, "")
    same_arrays(npz_arrays(path), npz_arrays(folder / "m.npz"))
    assert link.is_symlink() and list(files(tmp_path)) == ["link.npz", "m.npz", "short.txt"]
    assert list(files(folder)) == ["m.npz", "short.txt"]


def test_ctrl_c_before_training_ends_the_run_at_once_and_without_a_checkpoint_saves_nothing(
        tmp_path, short_text, capsys, signals_as_in_a_shell):
    status, out, err = run_main(capsys, short_text, *SEED, *BOUND, "--checkpoint",
                                tmp_path / "m.npz", stdout=SignalOnLine(signal.SIGINT, "data"))
    assert (status, err) == (130, "min_char_rnn.py: interrupted\n")
    assert list(files(tmp_path)) == ["short.txt"]
    status, out, err = run_main(capsys, short_text, *SEED, *SMALL, *BOUND,
                                stdout=SignalOnLine(signal.SIGINT, "iter 0,"))
    assert status == 130
    assert err.splitlines()[1] == "stopped at iteration 1; nothing saved (no --checkpoint)"


def test_checkpoints_of_formats_1_and_2_resume_exactly_without_the_history_they_lack(
        model, short_text, capsys):
    """FORMAT_1 (version 1.0.0, 30 iterations on SHORT_TEXT) has no history; format 2 no mean
    raw loss nor running sum: its points have none, nor has the first after the resume."""
    state = load_checkpoint(FORMAT_1)
    arrays = npz_arrays(FORMAT_1)
    assert state["n"] == 30 and state["losses"] == [] and state["samples"] == []
    for name in (*PARAMS, *("m" + k for k in PARAMS), "hprev", "smooth_loss", "n", "p"):
        np.testing.assert_array_equal(state[name], arrays[name], err_msg=name)
    format_1 = model.parent / "format1.npz"
    format_1.write_bytes(FORMAT_1.read_bytes())
    arrays = npz_arrays(model)
    del arrays["raw_loss"], arrays["loss_sum"]
    format_2 = model.parent / "format2.npz"
    np.savez(format_2, format_version=np.int64(2), **arrays)
    for path in (format_1, model, format_2):
        trains(capsys, short_text, "--checkpoint", path, "--resume", "--max-iters", 301)
    train_to(SHORT_TEXT, state, 301)
    same_arrays(npz_arrays(format_1), checkpoint_arrays(state))
    assert load_checkpoint(format_1)["losses"][0][2] is None  # no mean of the chunks before 30
    today = load_checkpoint(model)["losses"]
    old = load_checkpoint(format_2)["losses"]
    assert [n for n, smooth, raw in today] == [0, 100, 200, 300]
    assert all(raw > 0 for n, smooth, raw in today)
    assert old == [(n, smooth, None) for n, smooth, raw in today[:3]] + today[3:]


def test_a_save_that_fails_keeps_the_previous_checkpoint(model, short_text, capsys):
    """A disk that takes 4 kB more of any file: a resume saves at once, and that save fails."""
    before = files(model.parent)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    found = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond fails, as ENOSPC does
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, limits[1]))
    try:
        status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume", *BOUND)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, found)
    resuming, err = err.split("\n", 1)
    assert resuming == f"resuming {model} at iteration {WHOLE}" and "\n----" not in out
    one_error_line(status, err, f"cannot save {model}: ", f"{model} keeps iteration {WHOLE}")
    assert files(model.parent) == before


def test_after_a_divergence_the_line_says_how_to_start_again_and_that_works(
        tmp_path, short_text, capsys):
    """A learning rate of 1e4 overflows within a few iterations, on any machine."""
    path = tmp_path / "m.npz"
    flags = [short_text, "--seed", 0, *SMALL[:4]]
    status, out, err = run_main(capsys, *flags, "--learning-rate", 1e4, "--checkpoint", path,
                                "--save-every", 1, *BOUND)
    kept = int(npz_arrays(path)["n"])
    one_error_line(status, err, "diverged at iteration", f"{path} keeps iteration {kept}",
                   "a new --checkpoint", f"remove {path}")
    rate = re.search(r"--learning-rate, such as ([^,]+),", err)[1]
    again = [*flags, "--learning-rate", rate, "--max-iters", 20]
    trains(capsys, *again, "--checkpoint", tmp_path / "new.npz")
    path.unlink()
    trains(capsys, *again, "--checkpoint", path)
    assert npz_arrays(path)["n"] == 20
    assert list(files(tmp_path)) == ["m.npz", "new.npz", "short.txt"]
