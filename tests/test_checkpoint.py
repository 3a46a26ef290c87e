"""Checkpoints: a run stopped and resumed is the run never stopped, history included; a save
is whole or not made; what is no checkpoint, or no checkpoint of this text and these flags,
is refused in one line."""
import contextlib
import io
import os
import pickle
import re
import resource
import signal
import zipfile

import numpy as np
import pytest

from conftest import (BOUND, FORMAT_1, SEED, SHORT_TEXT, SMALL, WHOLE, npz_arrays,
                      one_error_line, run_main, same_arrays, temporary_files, train_to, trains,
                      written)
from min_char_rnn import PARAMS, checkpoint_arrays, load_checkpoint


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


@contextlib.contextmanager
def handled_as_in_a_shell(signum):
    """signum handled as a shell leaves it to Python, also where pytest started with it
    ignored (`... &` in a script); the handler of the test session after."""
    found = signal.signal(signum, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signum, found)


# Stopped and resumed

def test_a_fresh_run_saves_its_checkpoint_and_nothing_else(whole_run):
    out, folder = whole_run
    assert sorted(p.name for p in folder.iterdir()) == ["m.npz", "short.txt"]
    assert load_checkpoint(folder / "m.npz")["n"] == WHOLE


def test_runs_stopped_by_max_iters_and_resumed_are_the_run_never_stopped(
        tmp_path, short_text, capsys, whole_run):
    """Stopped after the first iteration, where the text wraps (every 7), in the middle and
    where a sample is kept next (100), then resumed (with flags that agree, once): what they
    print and the checkpoint they leave, array for array, the history included."""
    path = tmp_path / "parts.npz"
    parts = trains(capsys, short_text, "--checkpoint", path, *SEED, *SMALL, "--max-iters", 1)[0]
    for stop, flags in [(7, SMALL), (57, []), (100, []), (WHOLE, [])]:
        data_line, rest = trains(capsys, short_text, "--checkpoint", path, "--resume", *flags,
                                 "--max-iters", stop)[0].split("\n", 1)
        assert data_line == "data has 48 characters, 14 unique."
        parts += rest
    out, folder = whole_run
    assert parts == out
    same_arrays(npz_arrays(path), npz_arrays(folder / "m.npz"))


SIGNALS = [signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)]


@pytest.mark.parametrize("signum", [s for s in SIGNALS if s], ids=lambda s: s.name)
def test_a_signal_while_training_stops_the_run_which_saves_and_resumes_exactly(
        tmp_path, short_text, capsys, whole_run, signum):
    """The signal comes as iteration 100 prints its line: that iteration finishes, is saved
    and said; the handler the run found is put back; resumed, the run is the one never
    stopped."""
    path, stdout = tmp_path / "m.npz", SignalOnLine(signum, "iter 100,")
    with handled_as_in_a_shell(signum):
        status, out, err = run_main(capsys, short_text, "--checkpoint", path, *SEED, *SMALL,
                                    *BOUND, stdout=stdout)
        assert signal.getsignal(signum) is signal.default_int_handler
    assert status == 128 + signum and err.startswith("iteration 101: 101 iterations in ")
    assert err.splitlines()[1:] == [f"stopped at iteration 101; saved {path}"]
    rest = trains(capsys, short_text, "--checkpoint", path, "--resume", "--max-iters", WHOLE)[0]
    out, folder = whole_run
    assert written(stdout) + rest.split("\n", 1)[1] == out
    same_arrays(npz_arrays(path), npz_arrays(folder / "m.npz"))
    assert temporary_files(tmp_path) == []


def test_ctrl_c_before_training_ends_the_run_at_once_and_without_a_checkpoint_saves_nothing(
        tmp_path, short_text, capsys):
    with handled_as_in_a_shell(signal.SIGINT):
        status, out, err = run_main(capsys, short_text, *SEED, *BOUND, "--checkpoint",
                                    tmp_path / "m.npz", stdout=SignalOnLine(signal.SIGINT, "data"))
        assert (status, err) == (130, "min_char_rnn.py: interrupted\n")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["short.txt"]
        status, out, err = run_main(capsys, short_text, *SEED, *SMALL, *BOUND,
                                    stdout=SignalOnLine(signal.SIGINT, "iter 0,"))
    assert status == 130
    assert err.splitlines()[1] == "stopped at iteration 1; nothing saved (no --checkpoint)"


def test_a_format_1_checkpoint_loads_with_no_history_and_resumes_exactly(tmp_path, short_text,
                                                                         capsys):
    """Written by version 1.0.0 after 30 iterations on SHORT_TEXT: its numbers are the ones
    np.load reads, its history is empty; resumed, it trains on as its state does here."""
    state, arrays = load_checkpoint(FORMAT_1), npz_arrays(FORMAT_1)
    assert state["n"] == 30 and state["losses"] == [] and state["samples"] == []
    for name in (*PARAMS, *("m" + k for k in PARAMS), "hprev", "smooth_loss", "n", "p"):
        np.testing.assert_array_equal(state[name], arrays[name], err_msg=name)
    path = tmp_path / "m.npz"
    path.write_bytes(FORMAT_1.read_bytes())
    trains(capsys, short_text, "--checkpoint", path, "--resume", "--max-iters", 101)
    train_to(SHORT_TEXT, state, 101)
    same_arrays(npz_arrays(path), checkpoint_arrays(state))
    assert load_checkpoint(path)["losses"][0][2] is None  # no mean of the chunks before 30


def test_a_format_2_history_resumes_without_the_means_it_did_not_keep(model, short_text,
                                                                      capsys):
    """Format 2 kept no mean raw loss and no running sum: its points have no mean, nor has the
    first line after the resume; the lines after have the means a run of today's has."""
    arrays = npz_arrays(model)
    del arrays["raw_loss"], arrays["loss_sum"]
    format_2 = model.parent / "format2.npz"
    np.savez(format_2, format_version=np.int64(2), **arrays)
    for path in (model, format_2):
        trains(capsys, short_text, "--checkpoint", path, "--resume", "--max-iters", 301)
    today, old = load_checkpoint(model)["losses"], load_checkpoint(format_2)["losses"]
    assert [(n, smooth) for n, smooth, raw in old] == [(n, smooth) for n, smooth, raw in today]
    assert [n for n, smooth, raw in today] == [0, 100, 200, 300]
    assert all(raw > 0 for n, smooth, raw in today)
    assert [raw for n, smooth, raw in old] == [None, None, None, today[3][2]]


def test_resuming_at_max_iters_already_does_nothing(model, short_text, capsys):
    before = model.read_bytes()
    out, err = trains(capsys, short_text, "--checkpoint", model, "--resume", "--max-iters",
                      WHOLE)
    assert out == "data has 48 characters, 14 unique.\n"
    assert f"iteration {WHOLE}" in err and "nothing to do" in err
    assert model.read_bytes() == before


def test_a_resume_through_a_symlink_updates_its_target(model, short_text, tmp_path, capsys):
    link = tmp_path / "link.npz"
    link.symlink_to(model)
    trains(capsys, short_text, "--checkpoint", link, "--resume", "--max-iters", WHOLE + 5)
    assert link.is_symlink() and os.readlink(link) == str(model)
    assert npz_arrays(model)["n"] == WHOLE + 5 and temporary_files(tmp_path) == []


# A save that fails

@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="no RLIMIT_FSIZE")
def test_a_save_that_fails_keeps_the_previous_checkpoint(model, short_text, capsys):
    """A disk that takes 4 kB more of any file (RLIMIT_FSIZE): a resume saves at once, before
    it trains, and that save fails; the checkpoint is as it was, no temporary file is left."""
    before = model.read_bytes()
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
    assert model.read_bytes() == before and temporary_files(model.parent) == []


PATHS = {  # where a fresh run cannot save or will not: the words of its line, and its status
    "a missing folder": ("{tmp}/new/m.npz", ["cannot save {tmp}/new/m.npz: "], 1),
    "a file taken for a folder": ("{tmp}/short.txt/m.npz", ["cannot save", "Not a dir"], 1),
    "a name of 256 bytes": ("{tmp}/" + "m" * 252 + ".npz", ["cannot save", "too long"], 1),
    "a folder's path": ("{tmp}/models/", ["--checkpoint needs a file name"], 2),
    "/dev/null": ("/dev/null", ["/dev/null is there and is no checkpoint"], 1),
    "a text": ("{tmp}/short.txt", ["short.txt is there and is no checkpoint"], 1),
    "a checkpoint": ("{tmp}/model.npz", ["model.npz already exists", "--resume"], 1),
}


@pytest.mark.parametrize("path,words,code", PATHS.values(), ids=PATHS.keys())
def test_a_fresh_run_refuses_a_path_it_cannot_or_may_not_save_to_before_it_trains(
        model, short_text, tmp_path, capsys, path, words, code):
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    path = path.format(tmp=tmp_path)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, *SEED, *BOUND)
    one_error_line(status, err, *(word.format(tmp=tmp_path) for word in words), code=code)
    assert "\n----" not in out
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


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
    assert npz_arrays(path)["n"] == 20 and temporary_files(tmp_path) == []


# What is not a checkpoint

class Trap:
    """Unpickling this would create the file named: the proof that nothing was unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def saved(**changes):
    """A maker of a bad checkpoint: the good one's arrays with changes (a function of the
    arrays; None removes the entry), saved as np.savez saves them."""
    def make(path, arrays):
        for name, change in changes.items():
            if change is None:
                del arrays[name]
            else:
                arrays[name] = change(arrays)
        np.savez(path, **arrays)
    return make


def truncated(path, arrays):
    np.savez(path, **arrays)
    path.write_bytes(path.read_bytes()[:3000])


def python_2_header(path, arrays):
    """Wxh's .npy header as numpy on Python 2 wrote it, (8L, 14L): numpy warns as it reads it."""
    np.savez(path, **arrays)
    with zipfile.ZipFile(path) as npz:
        entries = {name: npz.read(name) for name in npz.namelist()}
    entries["Wxh.npy"] = entries["Wxh.npy"].replace(b"(8, 14), }  ", b"(8L, 14L), }")
    with zipfile.ZipFile(path, "w") as npz:
        for name, data in entries.items():
            npz.writestr(name, data)


def zipped_document(path, arrays):  # as a .docx or an .epub is
    with zipfile.ZipFile(path, "w") as document:
        document.writestr("word/document.xml", "<w:document/>")


def contents(path):
    """The bytes of a file; None for what is no file."""
    if path.is_file():
        return path.read_bytes()
    return None


NOT_AN_NPZ = "is not a min-char-rnn checkpoint: it is not an .npz file"
UNUSABLE = "is not a usable min-char-rnn checkpoint: "
BAD_CHECKPOINTS = {  # how a bad checkpoint is made, and words of the line that refuses it
    "missing": (lambda path, arrays: None, ["no checkpoint at"]),
    "a folder": (lambda path, arrays: path.mkdir(), [NOT_AN_NPZ]),
    "/dev/null": (lambda path, arrays: path.symlink_to("/dev/null"), [NOT_AN_NPZ]),
    "a text": (lambda path, arrays: path.write_text(SHORT_TEXT), [NOT_AN_NPZ]),
    "a pickle": (lambda path, arrays: path.write_bytes(pickle.dumps(Trap(path.parent / "trap"))),
                 [NOT_AN_NPZ]),
    "a zip, as a .docx is": (zipped_document, [NOT_AN_NPZ]),
    "a truncated checkpoint": (truncated, [UNUSABLE]),
    "a pickled object inside": (saved(vocab=lambda a: np.array([Trap("trap")], dtype=object)),
                                [UNUSABLE, "allow_pickle"]),
    "another program's .npz": (lambda path, arrays: np.savez(path, w=np.ones(3)),
                               [UNUSABLE, "lacks the entries"]),
    "an entry missing": (saved(mWhh=None), [UNUSABLE, "lacks the entries 'mWhh'"]),
    "the wrong shape": (saved(Whh=lambda a: a["Whh"][:5]), [UNUSABLE, "Whh has the shape"]),
    "a header numpy warns of": (python_2_header, [UNUSABLE, "Python 2"]),
}


@pytest.mark.parametrize("how", [["--sample-only"], ["short.txt", "--resume", *BOUND]],
                         ids=["sampling", "resuming"])
@pytest.mark.parametrize("make,words", BAD_CHECKPOINTS.values(), ids=BAD_CHECKPOINTS.keys())
def test_a_bad_checkpoint_gets_one_line_and_is_left_as_it_is(
        model, short_text, tmp_path, capsys, monkeypatch, how, make, words):
    path = tmp_path / "bad.npz"
    make(path, npz_arrays(model))
    before = contents(path)
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(capsys, "--checkpoint", path, *how)
    one_error_line(status, err, path, *words)
    assert "\n----" not in out and contents(path) == before
    assert not (tmp_path / "trap").exists() and temporary_files(tmp_path) == []


DISAGREEMENTS = {  # the text, the flags, and the words of the line that refuses them
    "--hidden-size": (SHORT_TEXT, ["--hidden-size", 13], "--hidden-size 13 contradicts the "
                                                         "checkpoint's 8; leave --hidden-size"),
    "--seq-length": (SHORT_TEXT, ["--seq-length", 7], "--seq-length 7 contradicts"),
    "--learning-rate": (SHORT_TEXT, ["--learning-rate", 0.1], "--learning-rate 0.1 contradicts"),
    "--seed": (SHORT_TEXT, ["--seed", 5], "--seed 5 contradicts"),
    "--sample-length": (SHORT_TEXT, ["--sample-length", 41], "--sample-length 41 contradicts"),
    "other characters": (SHORT_TEXT.replace("c", "k"), [], "characters (new: 'k'; absent: 'c')"),
    "one more character": (SHORT_TEXT + "é", [], "characters (new: 'é'; absent: none)"),
}


@pytest.mark.parametrize("text,flags,words", DISAGREEMENTS.values(), ids=DISAGREEMENTS.keys())
def test_resume_refuses_flags_or_a_text_that_disagree_with_the_checkpoint(
        model, tmp_path, capsys, text, flags, words):
    before = model.read_bytes()
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    status, out, err = run_main(capsys, tmp_path / "text.txt", "--checkpoint", model, "--resume",
                                *flags, *BOUND)
    one_error_line(status, err, words)
    assert "\n----" not in out and model.read_bytes() == before
