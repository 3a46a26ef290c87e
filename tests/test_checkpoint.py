"""Checkpoints: saved whole or not at all, loaded exactly or refused in one line, resumed as
if never stopped, history included; one run at a time on each."""
import errno
import os
import pickle
import signal
import stat
import zipfile

import numpy as np
import pytest

import min_char_rnn
from conftest import (BOUND, FORMAT_1, SHORT_TEXT, SMALL, another_run, captured_main,
                      closing_what_it_leaves_open, interfering, leftovers, npz_arrays,
                      one_error_line, run_main, train_to)
from min_char_rnn import CHECKPOINT, HISTORY, PARAMS, Checkpoint, init_training, load_checkpoint

WHOLE = 110  # iterations of the uninterrupted run the stopped ones are compared with
SEED = ["--seed", 9]


def same_state(a, b):
    """Two training states hold the same values: arrays of the same dtype and shape, the
    history, the settings, and generators that will draw the same numbers."""
    assert a.keys() == b.keys()
    for k, v in a.items():
        if k == "rng":
            for x, y in zip(v.get_state(), b[k].get_state()):
                np.testing.assert_array_equal(x, y, err_msg=k)
        elif isinstance(v, np.ndarray):
            assert (b[k].dtype, b[k].shape) == (v.dtype, v.shape), k
            np.testing.assert_array_equal(b[k], v, err_msg=k)
        else:
            assert b[k] == v, k


def same_arrays(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory):
    """WHOLE iterations on SHORT_TEXT in one run, saving every 50: (stdout, the checkpoint's
    arrays, the checkpoint's bytes)."""
    folder = tmp_path_factory.mktemp("whole")
    (folder / "short.txt").write_text(SHORT_TEXT, encoding="utf-8")
    status, out, err = captured_main(folder / "short.txt", "--checkpoint", folder / "m.npz", *SEED,
                                     *SMALL, "--max-iters", WHOLE, "--save-every", 50)
    assert status == 0, err
    return out, npz_arrays(folder / "m.npz"), (folder / "m.npz").read_bytes()


@pytest.fixture
def model(tmp_path, whole_run):
    """A checkpoint of iteration WHOLE on SHORT_TEXT, of this test's own."""
    path = tmp_path / "model.npz"
    path.write_bytes(whole_run[2])
    return path


def trains(capsys, *args):
    """A run that ends well: its stdout."""
    status, out, err = run_main(capsys, *args)
    assert status == 0, err
    return out


# What a save writes

def test_a_checkpoint_saved_and_loaded_is_the_state_that_was_saved(tmp_path, capsys):
    """Arrays, settings, history and the generator: the loaded state trains on exactly as the
    saved one does."""
    data = SHORT_TEXT
    state = init_training(sorted(set(data)), 4, hidden_size=7, seq_length=5, sample_length=30)
    train_to(data, state, 101)
    assert [n for n, loss in state["losses"]] == [0, 100] and len(state["samples"]) == 2
    with closing_what_it_leaves_open():
        Checkpoint(str(tmp_path / "m.npz"), fresh=True).save(state)
    loaded = load_checkpoint(tmp_path / "m.npz")
    same_state(state, loaded)
    train_to(data, state, 130)
    train_to(data, loaded, 130)
    same_state(state, loaded)


def test_a_checkpoint_holds_the_format_2_arrays_and_nothing_else(model):
    arrays = npz_arrays(model)  # allow_pickle=False: an object array would fail here
    assert arrays.keys() == CHECKPOINT.keys() and HISTORY <= arrays.keys()
    for name, (dtype, shape) in CHECKPOINT.items():
        assert arrays[name].dtype == np.dtype(dtype) and arrays[name].ndim == len(shape), name
    assert arrays["format_version"] == 2 and arrays["n"] == WHOLE and arrays["seed"] == 9
    assert "".join(map(chr, arrays["vocab"])) == "".join(sorted(set(SHORT_TEXT)))
    assert arrays["loss_n"].tolist() == arrays["sample_n"].tolist() == [0, 100]
    assert arrays["samples"].shape == (2, 30)


def test_a_fresh_run_saves_iteration_0_before_it_trains(tmp_path, short_text, capsys,
                                                         monkeypatch):
    path, seen = tmp_path / "m.npz", []
    interfering(monkeypatch, 0, lambda: seen.append(npz_arrays(path)))
    trains(capsys, short_text, "--checkpoint", path, *SEED, *SMALL, "--max-iters", 3)
    assert seen[0]["n"] == 0 and seen[0]["loss_n"].size == seen[0]["sample_n"].size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "short.txt"]


def saves_recorded(monkeypatch):
    """The arrays of each save the runs of this test make, in order."""
    saved, real_save = [], Checkpoint.save

    def save(checkpoint, state):
        saved.append({k: a.copy() for k, a in min_char_rnn.checkpoint_arrays(state).items()})
        real_save(checkpoint, state)
    monkeypatch.setattr(Checkpoint, "save", save)
    return saved


def test_a_periodic_save_holds_the_state_of_its_iteration(tmp_path, short_text, capsys,
                                                           monkeypatch):
    """Saved at the start, every --save-every iterations and at the end; the save at 50 of a
    run going on to 75 is the file a run stopped at 50 leaves, n, p, hprev and history too."""
    saved = saves_recorded(monkeypatch)
    trains(capsys, short_text, "--checkpoint", tmp_path / "m.npz", *SEED, *SMALL,
           "--max-iters", 75, "--save-every", 50)
    assert [int(a["n"]) for a in saved] == [0, 50, 75]
    trains(capsys, short_text, "--checkpoint", tmp_path / "at50.npz", *SEED, *SMALL,
           "--max-iters", 50)
    same_arrays(saved[1], npz_arrays(tmp_path / "at50.npz"))


def test_saves_are_1000_iterations_apart_unless_told(tmp_path, short_text, capsys, monkeypatch):
    saved = saves_recorded(monkeypatch)
    trains(capsys, short_text, "--checkpoint", tmp_path / "m.npz", "--hidden-size", 2,
           "--seq-length", 1, "--sample-length", 1, "--max-iters", 1001)
    assert [int(a["n"]) for a in saved] == [0, 1000, 1001]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_the_file_is_as_open_would_make_it_under_the_umask(tmp_path, short_text, capsys, umask):
    old = os.umask(umask)
    try:
        trains(capsys, short_text, "--checkpoint", tmp_path / "m.npz", "--max-iters", 2, *SMALL)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode) == 0o666 & ~umask


def test_a_file_name_of_255_bytes_trains_and_resumes(tmp_path, short_text, capsys):
    """Nothing is added to the name: the save's own file has a short name of its own."""
    path = tmp_path / ("m" * 251 + ".npz")
    trains(capsys, short_text, "--checkpoint", path, *SMALL, "--max-iters", 3)
    trains(capsys, short_text, "--checkpoint", path, "--resume", "--max-iters", 6)
    assert npz_arrays(path)["n"] == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, "short.txt"])


# Stopped and resumed

@pytest.mark.parametrize("stops", [[1, 100], [7], [57, 101]], ids=[
    "after the first iteration, and where a sample is kept next", "where the text wraps next",
    "at 57, and at 101 across an iteration that keeps a sample"])
def test_stopping_and_resuming_changes_nothing(tmp_path, short_text, capsys, whole_run, stops):
    """Runs stopped by --max-iters and resumed print what one run prints and leave its
    checkpoint, array for array, the history of losses and samples included. The text wraps
    every 7 iterations; samples are kept at 0 and 100."""
    path = tmp_path / "parts.npz"
    parts = trains(capsys, short_text, "--checkpoint", path, *SEED, *SMALL, "--max-iters",
                   stops[0])
    for previous, stop in zip(stops, stops[1:] + [WHOLE]):
        assert npz_arrays(path)["n"] == previous
        data_line, rest = trains(capsys, short_text, "--checkpoint", path, "--resume",
                                 "--max-iters", stop).split("\n", 1)
        assert data_line.startswith("data has")
        parts += rest
    assert parts == whole_run[0]
    same_arrays(npz_arrays(path), whole_run[1])


SIGNALS = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s]


@pytest.mark.parametrize("signum", SIGNALS, ids=[s.name for s in SIGNALS])
def test_a_signal_while_training_saves_and_the_run_resumes_exactly(
        tmp_path, short_text, capsys, monkeypatch, whole_run, signum):
    """The signal arrives during iteration 57: that iteration finishes, is saved and said, and
    the handlers are as they were."""
    path, before = tmp_path / "m.npz", signal.getsignal(signum)
    interfering(monkeypatch, 57, lambda: os.kill(os.getpid(), signum))
    status, first, err = run_main(capsys, short_text, "--checkpoint", path, *SEED, *SMALL,
                                  *BOUND)
    monkeypatch.undo()
    assert status == 128 + signum and signal.getsignal(signum) == before
    assert err.splitlines()[1:] == [f"stopped at iteration 58; saved {path}"]
    assert err.startswith("iteration 58: 58 iterations in ")
    assert npz_arrays(path)["n"] == 58 and leftovers(tmp_path) == []
    rest = trains(capsys, short_text, "--checkpoint", path, "--resume", "--max-iters", WHOLE)
    assert first + rest.split("\n", 1)[1] == whole_run[0]
    same_arrays(npz_arrays(path), whole_run[1])


def test_a_format_1_checkpoint_loads_with_no_history_and_resumes_exactly(tmp_path, capsys):
    """A file written by version 1.0.0 (30 iterations on SHORT_TEXT): loaded, its numbers
    are the ones np.load reads; resumed, it trains on as its state does here and is saved
    in format 2, its history starting where it was resumed."""
    arrays, state = npz_arrays(FORMAT_1), load_checkpoint(FORMAT_1)
    assert arrays.keys() == CHECKPOINT.keys() - HISTORY and arrays["format_version"] == 1
    assert state["losses"] == [] and state["samples"] == [] and state["n"] == 30
    for k in (*PARAMS, *("m" + k for k in PARAMS), "hprev", "n", "p", "smooth_loss", "seed",
              "hidden_size", "seq_length", "learning_rate", "sample_length"):
        np.testing.assert_array_equal(state[k], arrays[k], err_msg=k)
    (tmp_path / "short.txt").write_text(SHORT_TEXT, encoding="utf-8")
    (tmp_path / "m.npz").write_bytes(FORMAT_1.read_bytes())
    trains(capsys, tmp_path / "short.txt", "--checkpoint", tmp_path / "m.npz", "--resume",
           "--max-iters", 101)
    train_to(SHORT_TEXT, state, 101)
    same_state(state, load_checkpoint(tmp_path / "m.npz"))
    saved = npz_arrays(tmp_path / "m.npz")
    assert saved["format_version"] == 2 and saved["loss_n"].tolist() == [100]
    assert saved["sample_n"].tolist() == [100]


# A save that fails

def no_space():
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def savez_fails_halfway(monkeypatch):
    def savez(file, **arrays):
        file.write(b"PK\x03\x04 the first bytes of a zip file")
        raise no_space()
    monkeypatch.setattr(np, "savez", savez)


def rename_fails(monkeypatch):
    real = os.replace

    def replace(src, dst, **kwargs):
        if os.path.basename(src).startswith("min-char-rnn-"):
            raise no_space()
        return real(src, dst, **kwargs)
    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("fail", [savez_fails_halfway, rename_fails],
                         ids=["writing fails halfway", "the rename fails"])
def test_a_save_that_fails_keeps_the_previous_checkpoint(tmp_path, short_text, capsys,
                                                         monkeypatch, fail):
    path = tmp_path / "m.npz"
    trains(capsys, short_text, "--checkpoint", path, *SMALL, "--max-iters", 10)
    before = path.read_bytes()
    fail(monkeypatch)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, "--resume",
                                "--max-iters", 20)
    assert err.startswith(f"resuming {path} at iteration 10\n")
    one_error_line(status, err.split("\n", 1)[1], f"cannot save {path}: ",
                   f"{path} keeps iteration 10")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "short.txt"]


def test_a_fresh_run_whose_first_save_fails_leaves_nothing(tmp_path, short_text, capsys,
                                                           monkeypatch):
    savez_fails_halfway(monkeypatch)
    status, out, err = run_main(capsys, short_text, "--checkpoint", tmp_path / "m.npz", *SEED,
                                *BOUND)
    one_error_line(status, err, f"cannot save {tmp_path / 'm.npz'}: ")
    assert "keeps" not in err and "\n----" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.txt"]


PATHS = {  # where a fresh run cannot save: refused before training, nothing left behind
    "a missing folder": "{tmp}/new/m.npz",
    "a name of 256 bytes": "{tmp}/" + "m" * 252 + ".npz",
    "a file taken for a folder": "{tmp}/short.txt/m.npz",
}


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_a_path_that_cannot_be_saved_to_is_found_before_training(tmp_path, short_text, capsys,
                                                                 path):
    path = path.format(tmp=tmp_path)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, *SEED, *BOUND)
    one_error_line(status, err, f"cannot save {path}: ")
    assert "\n----" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.txt"]


def test_a_resume_that_cannot_save_says_so_before_it_trains(model, tmp_path, short_text, capsys,
                                                            monkeypatch):
    """A folder made read-only since the checkpoint was saved (or a full disk): a resumed run
    saves at once too, so it fails there, not after the iterations it would lose."""
    path = tmp_path / "m.npz"
    path.write_bytes(model.read_bytes())

    def mkstemp(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setattr(min_char_rnn.tempfile, "mkstemp", mkstemp)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, "--resume", *BOUND)
    resuming, err = err.split("\n", 1)
    assert resuming == f"resuming {path} at iteration 110"
    one_error_line(status, err, f"cannot save {path}: ", os.strerror(errno.EROFS), "keeps")
    assert "\n----" not in out and path.read_bytes() == model.read_bytes()


# Two runs, one checkpoint

def test_a_fresh_run_never_replaces_a_file_that_appeared_meanwhile(tmp_path, short_text, capsys,
                                                                   monkeypatch):
    """The first save links its file to the name, which fails if the name is taken."""
    path, real = tmp_path / "m.npz", min_char_rnn.read_text

    def read_text(text):  # after the run has looked at the path, before its first save
        path.write_bytes(b"another run's checkpoint")
        return real(text)
    monkeypatch.setattr(min_char_rnn, "read_text", read_text)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, *SEED, *BOUND)
    one_error_line(status, err, path, "meanwhile")
    assert path.read_bytes() == b"another run's checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "short.txt"]


@pytest.mark.parametrize("at", [5, 15], ids=["before the first periodic save",
                                             "after it"])
def test_while_a_run_trains_a_checkpoint_a_second_run_of_it_is_refused(
        tmp_path, short_text, capsys, monkeypatch, at):
    """A fresh run finds the file there; a resumed one finds it locked. No lock file."""
    path, second = tmp_path / "m.npz", []
    interfering(monkeypatch, at, lambda: second.extend([
        another_run(short_text, "--checkpoint", path, *SMALL, *BOUND),
        another_run(short_text, "--checkpoint", path, "--resume", *BOUND)]))
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, *SEED, *SMALL,
                                "--max-iters", 20, "--save-every", 10)
    assert status == 0 and second == [1, 1] and npz_arrays(path)["n"] == 20
    fresh, resumed = err.splitlines()[:2]
    assert fresh.startswith("min_char_rnn.py: error: ") and "already exists; add --resume" in fresh
    assert resumed.startswith("min_char_rnn.py: error: ") and "in use by another run" in resumed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "short.txt"]
    trains(capsys, short_text, "--checkpoint", path, "--resume", "--max-iters", 25)


@pytest.mark.skipif(min_char_rnn.fcntl is None, reason="no lock where there is no fcntl")
def test_a_resume_whose_file_another_run_replaced_while_it_was_read_is_refused(
        model, tmp_path, short_text, capsys, monkeypatch):
    """The lock is taken on the file read; if a save of another run has renamed a new file
    over PATH meanwhile, the lock holds nothing, and the resume is refused all the same."""
    path, real = tmp_path / "m.npz", min_char_rnn.checkpoint_problem
    path.write_bytes(model.read_bytes())
    (tmp_path / "new.npz").write_bytes(model.read_bytes())

    def checkpoint_problem(arrays):  # as the file is read, the other run's save lands
        os.replace(tmp_path / "new.npz", path)
        return real(arrays)
    monkeypatch.setattr(min_char_rnn, "checkpoint_problem", checkpoint_problem)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, "--resume", *BOUND)
    one_error_line(status, err, "in use by another run")
    assert out == "" and path.read_bytes() == model.read_bytes()


def test_a_second_run_is_refused_during_a_save_too(tmp_path, short_text, capsys, monkeypatch):
    """A second --resume started while the first run flushes a save to the disk (its new
    file written and locked, not yet renamed over PATH) finds PATH locked all the same."""
    path, real_fsync, second = tmp_path / "m.npz", os.fsync, {}

    def fsync(fd):
        real_fsync(fd)
        if "status" not in second and path.exists() and npz_arrays(path)["n"] == 5:
            second["status"] = None  # once: the second run's own saves would come here too
            second["status"] = another_run(short_text, "--checkpoint", path, "--resume",
                                           "--max-iters", 7)
    monkeypatch.setattr(os, "fsync", fsync)  # PATH holds 5 while the save of 10 is flushed
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, *SEED, *SMALL,
                                "--max-iters", 12, "--save-every", 5)
    assert status == 0 and second == {"status": 1}, err
    assert "in use by another run" in err.splitlines()[0]


def test_main_lets_go_of_its_checkpoint_as_it_returns(tmp_path, short_text, capsys):
    """From Python (a notebook, IDLE), a run and then a resume of its checkpoint in one
    session: the first main() has ended, so the second may train."""
    path = str(tmp_path / "m.npz")
    first = min_char_rnn.main([str(short_text), "--checkpoint", path, "--max-iters", "3",
                               *map(str, SMALL)])
    second = min_char_rnn.main([str(short_text), "--checkpoint", path, "--resume",
                                "--max-iters", "6"])
    err = capsys.readouterr().err
    assert (first, second) == (0, 0), err
    assert npz_arrays(path)["n"] == 6


# What is not a checkpoint

def test_a_text_given_as_the_checkpoint_is_left_as_it_is(tmp_path, short_text, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("the user's own notes\n")
    status, out, err = run_main(capsys, short_text, "--checkpoint", text, *SEED, *BOUND)
    one_error_line(status, err, text, "is no checkpoint")
    for args in ([short_text, "--checkpoint", text, "--resume", *BOUND],
                 ["--checkpoint", text, "--sample-only"]):
        status, out, err = run_main(capsys, *args)
        one_error_line(status, err, f"{text} is not a usable min-char-rnn checkpoint: ",
                       "not an .npz file")
    assert text.read_text() == "the user's own notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "short.txt"]


def test_a_fresh_run_does_not_replace_a_checkpoint(model, short_text, capsys):
    before = model.read_bytes()
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--max-iters", 10)
    one_error_line(status, err, model, "already exists", "--resume")
    assert out == "" and model.read_bytes() == before


class Trap:
    """Unpickling this would create the file named: the proof that nothing was unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def saved(**changes):
    """A maker of a bad checkpoint: the good one's arrays with changes (each a function of
    the arrays, or a value; None removes the entry), saved as np.savez saves them."""
    def make(path, arrays):
        for name, change in changes.items():
            arrays[name] = change(arrays) if callable(change) else change
        np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return make


def truncated(path, arrays):
    np.savez(path, **arrays)
    path.write_bytes(path.read_bytes()[:3000])


def zipped_document(path, arrays):  # as a .docx or an .epub is
    with zipfile.ZipFile(path, "w") as document:
        for i in range(40):
            document.writestr(f"word/part{i}.xml", "<w:document/>")


def pickled_inside(path, arrays):
    np.savez(path, **dict(arrays, vocab=np.array([Trap(path.parent / "trap")], dtype=object)))


BAD_CHECKPOINTS = {  # how a bad checkpoint is made, and a word of the line that refuses it
    "missing": (lambda path, arrays: None, "no checkpoint at"),
    "a folder": (lambda path, arrays: path.mkdir(), "not a file"),
    "a device": (lambda path, arrays: path.symlink_to("/dev/null"), "not a file"),
    "a text": (lambda path, arrays: path.write_text(SHORT_TEXT), "not an .npz file"),
    "an empty file": (lambda path, arrays: path.write_bytes(b""), "not an .npz file"),
    "a truncated checkpoint": (truncated, ""),
    "a pickle": (lambda path, arrays: path.write_bytes(pickle.dumps(Trap(path.parent / "trap"))),
                 "not an .npz file"),
    "a pickled object inside": (pickled_inside, ""),
    "another program's .npz": (lambda path, arrays: np.savez(path, w=np.ones(3)), "entries"),
    "a zip of many entries": (zipped_document, "and 65 more"),  # of 40 and 29, 4 named
    "an entry missing": (saved(mWhh=None), "mWhh"),
    "format 2 without its history": (saved(**dict.fromkeys(HISTORY)), "loss_n"),
    "format 1 with a history": (saved(format_version=np.array(1)), "loss_n"),
    "a newer format": (saved(format_version=np.array(3)), "format 3"),
    "the wrong shape": (saved(Whh=lambda a: a["Whh"][:5]), "shape"),
    "a vocabulary of floats": (saved(vocab=lambda a: a["vocab"].astype(float)), "kind"),
    "a boolean count": (saved(n=np.array(True)), "kind"),
    "NaN weights": (saved(Why=lambda a: np.where(a["Why"] > 0, np.nan, a["Why"])), "NaN"),
    "an infinite loss in the history": (saved(loss=lambda a: a["loss"] * np.inf), "infinite"),
    "a negative Adagrad memory": (saved(mWhh=lambda a: -a["mWhh"]), "Adagrad"),
    "an unsorted vocabulary": (saved(vocab=lambda a: a["vocab"][::-1].copy()), "vocab"),
    "a character twice": (saved(vocab=lambda a: np.sort(np.append(a["vocab"][1:],
                                                                  a["vocab"][1]))), "vocab"),
    "a surrogate": (saved(vocab=lambda a: np.append(a["vocab"][:-1], 0xD800)), "vocab"),
    "a learning rate of 0": (saved(learning_rate=np.array(0.0)), "out of range"),
    "an iteration beyond 2**62": (saved(n=np.array(2**63 - 2)), "out of range"),
    "a seed beyond 2**32": (saved(seed=np.array(2**64 - 1, np.uint64)), "out of range"),
    "a sample of characters not in vocab": (saved(samples=lambda a: a["samples"] + 1000),
                                            "sample"),
}


@pytest.fixture
def bad_checkpoint(model, tmp_path, request):
    path = tmp_path / "bad.npz"
    make, word = BAD_CHECKPOINTS[request.param]
    make(path, npz_arrays(model))
    return path, word


def refused(status, err, path, word):
    if word == "no checkpoint at":
        one_error_line(status, err, f"no checkpoint at {path}")
    else:
        one_error_line(status, err, f"{path} is not a usable min-char-rnn checkpoint: ", word)
    assert not (path.parent / "trap").exists()


@pytest.mark.parametrize("bad_checkpoint", BAD_CHECKPOINTS, indirect=True)
def test_a_bad_checkpoint_gets_one_line(bad_checkpoint, capsys):
    path, word = bad_checkpoint
    status, out, err = run_main(capsys, "--checkpoint", path, "--sample-only")
    refused(status, err, path, word)
    assert out == ""


@pytest.mark.parametrize("bad_checkpoint", ["a folder", "a pickle", "a truncated checkpoint",
                                            "NaN weights", "a newer format"], indirect=True)
def test_resume_refuses_a_bad_checkpoint_as_sampling_does(bad_checkpoint, short_text, capsys):
    path, word = bad_checkpoint
    before = path.is_file() and path.read_bytes()
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, "--resume", *BOUND)
    refused(status, err, path, word)
    assert "\n----" not in out and (path.is_file() and path.read_bytes()) == before
    assert leftovers(path.parent) == []


def test_integers_and_floats_of_any_width_and_byte_order_load(model, tmp_path):
    arrays = npz_arrays(model)
    odd = {k: a.astype(">i4" if a.dtype.kind in "iu" and k != "rng_keys" else
                       a.dtype.newbyteorder(">")) for k, a in arrays.items()}
    odd["Whh"] = np.asfortranarray(arrays["Whh"])
    np.savez(tmp_path / "odd.npz", **odd)
    loaded, expected = load_checkpoint(tmp_path / "odd.npz"), load_checkpoint(model)
    same_state(expected, loaded)
    assert all(loaded[k].dtype == np.float64 for k in PARAMS)


# Resumed with other settings or another text

CONTRADICTIONS = {"--hidden-size": 13, "--seq-length": 7, "--learning-rate": 0.1, "--seed": 5,
                  "--sample-length": 41}


@pytest.mark.parametrize("flag,value", CONTRADICTIONS.items(), ids=CONTRADICTIONS.keys())
def test_resume_refuses_a_flag_that_contradicts_the_checkpoint(model, short_text, capsys, flag,
                                                               value):
    before = model.read_bytes()
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume",
                                flag, value, "--max-iters", 400)
    one_error_line(status, err, f"{flag} {value} contradicts")
    assert "\n----" not in out and model.read_bytes() == before


def test_resume_accepts_flags_that_agree(model, short_text, capsys):
    trains(capsys, short_text, "--checkpoint", model, "--resume", *SEED, *SMALL,
           "--max-iters", WHOLE + 1)


OTHER_TEXTS = {
    "other characters, as many": (lambda text: text.replace("c", "k"), "new: 'k'; absent: 'c'"),
    "one more character": (lambda text: text + "é", "new: 'é'; absent: none"),
    "one fewer": (lambda text: text.replace(";", "."), "new: none; absent: ';'"),
}


@pytest.mark.parametrize("change,which", OTHER_TEXTS.values(), ids=OTHER_TEXTS.keys())
def test_resume_refuses_a_text_with_other_characters(model, tmp_path, capsys, change, which):
    before = model.read_bytes()
    other = tmp_path / "other.txt"
    other.write_text(change(SHORT_TEXT), encoding="utf-8")
    status, out, err = run_main(capsys, other, "--checkpoint", model, "--resume", *BOUND)
    one_error_line(status, err, other, which)
    assert model.read_bytes() == before


def test_resuming_at_max_iters_already_does_nothing(model, short_text, capsys):
    before = model.read_bytes()
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume",
                                "--max-iters", WHOLE)
    assert status == 0 and out.startswith("data has") and "\n----" not in out
    assert f"iteration {WHOLE}" in err and "nothing to do" in err
    assert model.read_bytes() == before
