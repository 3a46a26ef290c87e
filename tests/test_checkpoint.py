"""Checkpoints: saved whole, loaded exactly, resumed as if never stopped, read safely."""
import io
import os
import pickle
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import min_char_rnn
from conftest import (ROOT, SHORT_TEXT, interfering, limit_memory, npz_arrays, run_main,
                      run_script, script_env, train_to)
from min_char_rnn import PARAMS, Checkpoint, char_maps, init_training, load_checkpoint

SMALL = ["--hidden-size", 12, "--seq-length", 6, "--learning-rate", 0.05, "--sample-length", 40]
FORMAT_1 = Path(__file__).parent / "data" / "format1.npz"  # written by version 1.0.0


def same_state(a, b):
    """Whether two training states hold the same values, of the same types."""
    assert a.keys() == b.keys()
    for k, v in a.items():
        if isinstance(v, np.ndarray):
            assert b[k].dtype == v.dtype and b[k].shape == v.shape, k
            np.testing.assert_array_equal(b[k], v, err_msg=k)
        elif k != "rng":
            assert b[k] == v and type(b[k]) is type(v), k
    for x, y in zip(a["rng"].get_state(), b["rng"].get_state()):
        np.testing.assert_array_equal(x, y)


def test_save_and_load_round_trip(tmp_path, short_text, capsys):
    data = short_text.read_text()
    state = init_training(sorted(set(data)), 4, hidden_size=7, seq_length=5, sample_length=30)
    train_to(data, state, 123)
    path = str(tmp_path / "model.npz")
    with Checkpoint(path, fresh=True) as checkpoint:
        checkpoint.save(state)
    loaded = load_checkpoint(path)
    same_state(state, loaded)
    np.testing.assert_array_equal(loaded["rng"].random_sample(50), state["rng"].random_sample(50))
    train_to(data, state, 250)  # and the loaded state trains on exactly as the saved one does
    train_to(data, loaded, 250)
    same_state(state, loaded)


def test_a_format_1_checkpoint_still_loads_and_resumes(tmp_path, capsys):
    """A file written by version 1.0.0 (30 iterations on SHORT_TEXT): loaded, its numbers
    are the ones np.load reads, and resumed it trains on exactly as its state does here."""
    arrays, state = npz_arrays(FORMAT_1), load_checkpoint(FORMAT_1)
    for k in (*PARAMS, "hprev", "mWxh", "n", "p", "smooth_loss", "seed", "hidden_size"):
        np.testing.assert_array_equal(state[k], arrays[k], err_msg=k)
    assert "".join(state["chars"]) == "".join(sorted(set(SHORT_TEXT))) and state["n"] == 30
    (tmp_path / "short.txt").write_text(SHORT_TEXT, encoding="utf-8")
    (tmp_path / "m.npz").write_bytes(FORMAT_1.read_bytes())
    status, out, err = run_main(capsys, tmp_path / "short.txt", "--checkpoint", tmp_path / "m.npz",
                                "--resume", "--max-iters", 60)
    assert status == 0, err
    train_to(SHORT_TEXT, state, 60)
    same_state(state, load_checkpoint(tmp_path / "m.npz"))


def test_a_checkpoint_holds_plain_numeric_arrays(tmp_path, short_text, capsys):
    path = tmp_path / "model.npz"
    assert run_main(capsys, short_text, "--seed", 1, "--max-iters", 5, "--checkpoint", path)[0] == 0
    arrays = npz_arrays(path)  # allow_pickle=False: this would fail on an object array
    assert arrays.keys() == min_char_rnn.CHECKPOINT.keys()
    assert all(a.dtype.kind in "iuf" for a in arrays.values())
    assert arrays["n"] == 5 and arrays["seed"] == 1 and arrays["format_version"] == 1
    assert "".join(map(chr, arrays["vocab"])) == "".join(sorted(set(short_text.read_text())))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "model.npz.lock",
                                                          "short.txt"]


def one_run(capsys, text, path, *args):
    status, out, err = run_main(capsys, text, "--checkpoint", path, *args)
    assert status == 0, err
    return out


@pytest.mark.parametrize("stops", [[1], [137, 138, 201]],
                         ids=lambda stops: "stop at " + ", ".join(map(str, stops)))
def test_stopping_and_resuming_changes_nothing(tmp_path, short_text, capsys, stops):
    """The short text wraps every 7 iterations, so the runs cross its end many times."""
    whole = one_run(capsys, short_text, tmp_path / "whole.npz", "--seed", 9, *SMALL,
                    "--max-iters", 250, "--save-every", 50)
    path = tmp_path / "parts.npz"
    parts = one_run(capsys, short_text, path, "--seed", 9, *SMALL, "--max-iters", stops[0])
    for previous, stop in zip(stops, stops[1:] + [250]):
        assert npz_arrays(path)["n"] == previous
        data_line, rest = one_run(capsys, short_text, path, "--resume", "--max-iters", stop) \
            .split("\n", 1)
        assert data_line.startswith("data has")
        parts += rest
    assert parts == whole
    saved, expected = npz_arrays(path), npz_arrays(tmp_path / "whole.npz")
    for k in expected:
        np.testing.assert_array_equal(saved[k], expected[k], err_msg=k)


def test_a_periodic_save_holds_the_state_of_its_iteration(tmp_path, short_text, capsys,
                                                           monkeypatch):
    """The save at iteration 50 of a run going on to 75 is the state a run stopped at 50
    saves: n, p, hprev and smooth_loss included."""
    saved = []
    real_save = Checkpoint.save

    def save_and_keep(checkpoint, state):
        saved.append({k: a.copy() for k, a in min_char_rnn.checkpoint_arrays(state).items()})
        real_save(checkpoint, state)

    monkeypatch.setattr(Checkpoint, "save", save_and_keep)
    one_run(capsys, short_text, tmp_path / "m.npz", "--seed", 5, *SMALL, "--max-iters", 75,
            "--save-every", 50)
    monkeypatch.undo()
    assert [int(a["n"]) for a in saved] == [50, 75]
    one_run(capsys, short_text, tmp_path / "at50.npz", "--seed", 5, *SMALL, "--max-iters", 50)
    for k, expected in npz_arrays(tmp_path / "at50.npz").items():
        np.testing.assert_array_equal(saved[0][k], expected, err_msg=k)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_signal_while_training_saves_and_the_run_resumes_exactly(tmp_path, short_text, capsys,
                                                                   monkeypatch, signum):
    """The signal arrives during iteration 57: that iteration finishes, is saved and said."""
    path = tmp_path / "m.npz"
    interfering(monkeypatch, 57, lambda: os.kill(os.getpid(), signum))
    status, first, err = run_main(capsys, short_text, "--seed", 2, *SMALL, "--checkpoint", path)
    monkeypatch.undo()
    assert status == 128 + signum and npz_arrays(path)["n"] == 58
    assert err.splitlines()[-1] == f"interrupted at iteration 58: saved {path}; add --resume " \
                                   "to go on"
    resumed = one_run(capsys, short_text, path, "--resume", "--max-iters", 250)
    whole = one_run(capsys, short_text, tmp_path / "whole.npz", "--seed", 2, *SMALL,
                    "--max-iters", 250)
    assert first + resumed.split("\n", 1)[1] == whole


def test_a_save_that_fails_halfway_keeps_the_previous_checkpoint(tmp_path, short_text, capsys,
                                                                 monkeypatch):
    path = tmp_path / "model.npz"
    one_run(capsys, short_text, path, "--seed", 3, *SMALL, "--max-iters", 10)
    before = path.read_bytes()

    def half_a_save(file, arrays):
        file.write(b"PK\x03\x04 half a zip file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(min_char_rnn, "write_npz", half_a_save)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, "--resume",
                                "--max-iters", 20)
    assert status == 1
    assert err.splitlines()[-1] == f"min_char_rnn.py: error: cannot save {path}: No space left " \
                                   f"on device; {path} keeps iteration 10"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "model.npz.lock",
                                                          "short.txt"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    (folder / "short.txt").write_text(SHORT_TEXT, encoding="utf-8")
    assert min_char_rnn.main([str(folder / "short.txt"), "--seed", "4", *map(str, SMALL),
                              "--max-iters", "300", "--checkpoint", str(folder / "model.npz")]) == 0
    return (folder / "model.npz").read_bytes()


@pytest.fixture
def model(tmp_path, trained):
    """A checkpoint trained a little on the short text, with samples of 40 characters."""
    path = tmp_path / "model.npz"
    path.write_bytes(trained)
    return path


def generated(capsys, model, *args):
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", *args)
    assert status == 0, err
    assert out.endswith("\n")
    return out[:-1]


def test_generation_is_repeatable_by_seed(model, capsys):
    first = generated(capsys, model, "--seed", 1, "--sample-length", 300)
    assert generated(capsys, model, "--seed", 1, "--sample-length", 300) == first
    assert generated(capsys, model, "--seed", 2, "--sample-length", 300) != first
    assert len(first) == 300
    assert set(first) <= set(load_checkpoint(model)["chars"])


def test_generation_is_as_long_as_the_checkpoints_samples_unless_told(model, capsys):
    assert len(generated(capsys, model, "--seed", 1)) == 40
    assert len(generated(capsys, model, "--seed", 1, "--prime", "the")) == 3 + 40
    assert len(generated(capsys, model, "--seed", 1, "--sample-length", 7)) == 7


def test_generation_without_a_seed_says_the_one_it_drew(model, capsys):
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only")
    assert err.startswith("seed ") and err.endswith(" to repeat this sample)\n")
    assert generated(capsys, model, "--seed", int(err.split()[1])) + "\n" == out


def forward(state, text):
    """The state after reading text from zeros, one step at a time, written out here."""
    Wxh, Whh, Why, bh, by = (state[k] for k in PARAMS)
    char_to_ix, ix_to_char = char_maps(state["chars"])
    h = np.zeros((state["hidden_size"], 1))
    for ch in text:
        h = np.tanh(Wxh[:, [char_to_ix[ch]]] + np.dot(Whh, h) + bh)
    return h


def test_generation_continues_the_prime(model, capsys):
    """The prime is read through the network first, and sampling starts from the state after
    all but its last character, with the last as the first input."""
    state = load_checkpoint(model)
    params = tuple(state[k] for k in PARAMS)
    char_to_ix, ix_to_char = char_maps(state["chars"])
    prime = "the rat "
    ixes = min_char_rnn.sample(forward(state, prime[:-1]), char_to_ix[" "], 100, params,
                               np.random.RandomState(8), temperature=1.0)
    expected = prime + "".join(ix_to_char[ix] for ix in ixes)
    assert generated(capsys, model, "--seed", 8, "--sample-length", 100, "--prime", prime) \
        == expected


def test_without_a_prime_the_first_character_is_drawn_uniformly(model, capsys):
    state = load_checkpoint(model)
    params = tuple(state[k] for k in PARAMS)
    rng = np.random.RandomState(12)
    first = rng.choice(len(state["chars"]))  # one uniform draw, then the model's
    ixes = [first] + min_char_rnn.sample(np.zeros((12, 1)), first, 49, params, rng, 1.0)
    assert generated(capsys, model, "--seed", 12, "--sample-length", 50) \
        == "".join(state["chars"][ix] for ix in ixes)


def test_temperature_near_zero_takes_the_most_likely_character(model, capsys):
    state = load_checkpoint(model)
    Wxh, Whh, Why, bh, by = (state[k] for k in PARAMS)
    char_to_ix, ix_to_char = char_maps(state["chars"])
    h, ix, greedy = np.zeros((12, 1)), char_to_ix["t"], ""
    for _ in range(60):
        h = np.tanh(Wxh[:, [ix]] + np.dot(Whh, h) + bh)
        ix = int(np.argmax(np.dot(Why, h) + by))
        greedy += state["chars"][ix]
    for seed in (1, 2):
        assert generated(capsys, model, "--seed", seed, "--prime", "t", "--sample-length", 60,
                         "--temperature", 1e-9) == "t" + greedy


def test_a_large_temperature_is_nearly_uniform(model, capsys):
    text = generated(capsys, model, "--seed", 3, "--sample-length", 2000, "--temperature", 1e6)
    chars = load_checkpoint(model)["chars"]
    counts = np.array([text.count(ch) for ch in chars])
    expected = len(text) / len(chars)
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected)  # a five-sigma band
    at_one = generated(capsys, model, "--seed", 3, "--sample-length", 2000)
    counts_at_one = np.array([at_one.count(ch) for ch in chars])
    assert np.abs(counts_at_one - expected).max() > 10 * np.sqrt(expected)  # the model's own


CONTRADICTIONS = {"--hidden-size": 13, "--seq-length": 7, "--learning-rate": 0.1, "--seed": 5,
                  "--sample-length": 41}


@pytest.mark.parametrize("flag,value", CONTRADICTIONS.items(), ids=CONTRADICTIONS.keys())
def test_resume_refuses_a_flag_that_contradicts_the_checkpoint(model, short_text, capsys, flag,
                                                               value):
    before = model.read_bytes()
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume",
                                flag, value, "--max-iters", 400)
    assert status == 1 and out.startswith("data has") and "\n----" not in out
    saved = load_checkpoint(model)[flag[2:].replace("-", "_")]
    assert f"error: {flag} {value} contradicts the checkpoint's {saved}; leave {flag} out" in err
    assert model.read_bytes() == before


def test_resume_accepts_flags_that_agree(model, short_text, capsys):
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume",
                                "--hidden-size", 12, "--seed", 4, "--sample-length", 40,
                                "--max-iters", 301)
    assert status == 0, err


OTHER_TEXTS = {
    "other characters, as many": (lambda text: text.replace("c", "k"), "new: 'k'; absent: 'c'"),
    "one more character": (lambda text: text + "é", "new: 'é'; absent: none"),
    "one fewer": (lambda text: text.replace(";", "."), "new: none; absent: ';'"),
}


@pytest.mark.parametrize("change,message", OTHER_TEXTS.values(), ids=OTHER_TEXTS.keys())
def test_resume_refuses_a_text_with_other_characters(model, short_text, tmp_path, capsys, change,
                                                     message):
    before = model.read_bytes()
    other = tmp_path / "other.txt"
    other.write_text(change(short_text.read_text()), encoding="utf-8")
    status, out, err = run_main(capsys, other, "--checkpoint", model, "--resume")
    assert status == 1
    assert f"{other} does not have the checkpoint's characters ({message})" in err
    assert model.read_bytes() == before


def test_a_checkpoint_is_not_overwritten_without_resume(model, short_text, capsys):
    before = model.read_bytes()
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--max-iters", 10)
    assert status == 1 and out == "" and "already exists; add --resume" in err
    assert model.read_bytes() == before


def test_resuming_past_max_iters_does_nothing(model, short_text, capsys):
    before = model.read_bytes()
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume",
                                "--max-iters", 300)
    assert status == 0 and out.startswith("data has") and "\n----" not in out
    assert err == f"{model} is at iteration 300 already: nothing to do\n"
    assert model.read_bytes() == before


def test_a_prime_outside_the_vocabulary_is_named(model, capsys):
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", "--prime", "Zoë")
    assert (status, out) == (1, "")
    assert err == "min_char_rnn.py: error: --prime has characters the model does not know: " \
                  "'Z', 'ë'\n"


class Trap:
    """Unpickling this would create the file named: the proof that nothing was unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def write_npz(path, arrays, compression=zipfile.ZIP_STORED):
    """An .npz of arrays, entry by entry, pickles allowed."""
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, a in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(a), allow_pickle=True)
            z.writestr(name + ".npy", buffer.getvalue())


def npy_with_header(header, numbers=bytes(64)):
    """An .npy entry (format 1.0) whose header dictionary is the text given."""
    header = header.encode("latin1")
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + numbers


def changed(**changes):
    """A crafter: the good checkpoint's arrays with changes (a function of the arrays, or a
    value; None removes the entry; bytes are the entry's whole content)."""
    def craft(arrays, path, tmp_path):
        for name, change in changes.items():
            arrays[name] = change(arrays) if callable(change) else change
        write_npz(path, {k: v for k, v in arrays.items() if v is not None and
                         not isinstance(v, bytes)})
        with zipfile.ZipFile(path, "a") as z:
            for name, v in arrays.items():
                if isinstance(v, bytes):
                    z.writestr(name + ".npy", v)
    return craft


def written(make):
    return lambda arrays, path, tmp_path: make(path, arrays, tmp_path)


def inflating_entry(path, arrays, tmp_path):
    """Whh as a compressed entry of 10 kB that inflates to 10 MB."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, a in arrays.items():
            with z.open(name + ".npy", "w") as f:
                if name == "Whh":
                    f.write(npy_with_header("{'descr': '<f8', 'fortran_order': False, "
                                            "'shape': (1000, 5000)}", b""))
                    for _ in range(10):
                        f.write(bytes(10**6))
                else:
                    np.lib.format.write_array(f, a)


def corrupt_deflate(path, arrays, tmp_path):
    """A compressed checkpoint whose Whh entry has its compressed bytes scrambled."""
    np.savez_compressed(path, **arrays)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("Whh.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 5, start + 60):
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))


def header(shape="(12, 12)", descr="'<f8'", extra=""):
    return npy_with_header(f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}{extra}}}")


BAD_CHECKPOINTS = {  # what is done to a good checkpoint, and what the error line then says
    "missing": (written(lambda path, arrays, tmp: None), "no checkpoint at"),
    "a folder": (written(lambda path, arrays, tmp: path.mkdir()), "not a regular file"),
    "empty": (written(lambda path, arrays, tmp: path.write_bytes(b"")), "it is not an .npz file"),
    "truncated": (written(lambda path, arrays, tmp: write_npz(path, arrays) or
                          path.write_bytes(path.read_bytes()[:2000])), "not a zip file"),
    "random bytes": (written(lambda path, arrays, tmp: path.write_bytes(
        np.random.RandomState(0).bytes(5000))), "it is not an .npz file"),
    "a pickle": (written(lambda path, arrays, tmp: path.write_bytes(pickle.dumps(Trap(tmp /
                                                                                      "trap")))),
                 "it is not an .npz file"),
    "a named pipe": (written(lambda path, arrays, tmp: os.mkfifo(path)), "not a regular file"),
    "a corrupt compressed entry": (written(corrupt_deflate), "is compressed, as no checkpoint is"),
    "a compressed entry": (written(lambda path, arrays, tmp: np.savez_compressed(path, **arrays)),
                           "is compressed, as no checkpoint is"),
    "a single .npy array": (written(lambda path, arrays, tmp: path.write_bytes(
        header("(8,)"))), "it is not an .npz file"),
    "a pickle as an entry": (changed(vocab=pickle.dumps(Trap("trap"))),
                             "vocab is |S"),
    "a pickled object as the vocabulary": (
        changed(vocab=lambda a: np.array([Trap("trap")], dtype=object)),
        "Object arrays cannot be loaded when allow_pickle=False"),
    "another program's npz": (written(lambda path, arrays, tmp: np.savez(path, w=np.ones(3))),
                              "smooth_loss, vocab, w"),
    "a newer format": (changed(format_version=np.array(2)), "format 2 is not 1"),
    "an entry no checkpoint has": (changed(extra=np.ones(3)),
                                   "its entries are not a checkpoint's: extra"),
    "a missing array": (changed(mWhh=None), "its entries are not a checkpoint's: mWhh"),
    "mismatched shapes": (changed(Whh=lambda a: a["Whh"][:5]),
                          "Whh is float64 of shape (5, 12), not float64 of shape (12, 12)"),
    "a scalar of rank 1": (changed(n=np.array([300])), "n is int64 of shape (1,), not int64 of "
                                                       "shape ()"),
    "a 0-d vocabulary": (changed(vocab=np.array(97)), "vocab is int64 of shape (), not int64 of "
                                                      "shape (N,)"),
    "a float vocabulary": (changed(vocab=lambda a: a["vocab"].astype(float)),
                           "vocab is float64 of shape (14,), not int64"),
    "a boolean count": (changed(n=np.array(True)), "n is bool of shape (), not int64"),
    "a 16-byte float": (changed(smooth_loss=lambda a: a["smooth_loss"].astype(np.longdouble)),
                        "smooth_loss is float128 of shape (), not float64"),
    "16-byte floats, larger than a checkpoint's": (
        changed(Wxh=lambda a: a["Wxh"].astype(np.longdouble)), "Wxh is larger than a checkpoint's"),
    "a string": (changed(seed=np.array("seven")), "seed is <U5 of shape (), not int64"),
    "a vocabulary that wraps": (changed(vocab=lambda a: (a["vocab"] + 200).astype(np.uint8)),
                                "vocab is not sorted and distinct code points of characters"),
    "a vocabulary outside Unicode": (changed(vocab=lambda a: np.append(a["vocab"][:-1],
                                                                       0x110000)),
                                     "vocab is not sorted and distinct code points of characters"),
    "a negative code point": (changed(vocab=lambda a: np.append(-1, a["vocab"][1:])),
                              "vocab is not sorted and distinct code points of characters"),
    "a surrogate": (changed(vocab=lambda a: np.append(a["vocab"][:-1], 0xD800)),
                    "vocab is not sorted and distinct code points of characters"),
    "an unsorted vocabulary": (changed(vocab=lambda a: a["vocab"][::-1].copy()),
                               "vocab is not sorted and distinct code points of characters"),
    "NaN weights": (changed(Why=lambda a: np.where(a["Why"] > 0, np.nan, a["Why"])),
                    "a number is infinite or NaN"),
    "an infinite setting": (changed(smooth_loss=np.array(np.inf)), "a number is infinite or NaN"),
    "a negative Adagrad memory": (changed(mWhh=lambda a: -a["mWhh"]),
                                  "an Adagrad memory is negative"),
    "weights too large to compute with": (changed(Why=lambda a: a["Why"] * 1e300),
                                          "a weight is larger than 1e+100"),
    "a learning rate of 0": (changed(learning_rate=np.array(0.0)), "a setting is out of range"),
    "a hidden size of 0": (changed(hidden_size=np.array(0)),
                           "hidden_size or the vocabulary is below 1"),
    "an empty vocabulary": (changed(vocab=np.zeros(0, dtype=np.int64)),
                            "hidden_size or the vocabulary is below 1"),
    "a seq_length of 0": (changed(seq_length=np.array(0)), "a setting is out of range"),
    "a sample length of 0": (changed(sample_length=np.array(0)), "a setting is out of range"),
    "a seed of 2**32": (changed(seed=np.array(2**32)), "a setting is out of range"),
    "a negative data pointer": (changed(p=np.array(-1)), "n or p is out of range"),
    "a count beyond int64, unsigned": (changed(n=np.array(2**64 - 1, dtype=np.uint64)),
                                       "n or p is out of range"),
    "the generator's position out of range": (changed(rng_pos=np.array(625)),
                                              "the random generator's state is out of range"),
    "the generator's words out of range": (
        changed(rng_keys=lambda a: a["rng_keys"].astype(np.int64) - 2**31 - 2**30),
        "the random generator's state is out of range"),
    "the generator's gauss flag out of range": (changed(rng_has_gauss=np.array(2)),
                                                "the random generator's state is out of range"),
    "an encrypted entry": (written(lambda path, arrays, tmp: write_npz(path, arrays) or
                                   path.write_bytes(path.read_bytes().replace(
                                       b"PK\x01\x02\x14\x03\x14\x00\x00\x00",
                                       b"PK\x01\x02\x14\x03\x14\x00\x01\x00"))),
                           "encrypted"),
    "a header declaring a huge shape": (changed(Wxh=header("(1000000, 1000000)")),
                                        "Unable to allocate 7.28 TiB"),
    "a huge shape within the declared size": (changed(Whh=header("(30000, 30000)")), "EOF"),
    "an entry inflating to 10 MB": (written(inflating_entry), "is compressed, as no checkpoint is"),
    "a hidden size to match an inflating entry": (
        written(lambda path, arrays, tmp: inflating_entry(path, dict(arrays, hidden_size=np.array(
            1000)), tmp)), "is compressed, as no checkpoint is"),
    "a model too large to train": (changed(seq_length=np.array(10**8)),
                                   "the model would need 49.2 GiB of arrays, more than 4 GiB"),
    "a hidden size too large to hold": (changed(hidden_size=np.array(10**6)),
                                        "hprev is float64 of shape (12, 1), not float64 of shape "
                                        "(1000000, 1)"),
    # .npy headers that are odd in any way, each an error or a warning whose words depend on
    # the numpy and Python versions: None
    "a deeply nested header": (changed(Whh=header("(" * 60 + ")" * 60)), None),
    "a header key that cannot be hashed": (changed(Whh=header(extra=", [1]: 2")), "unhashable"),
    "a header longer than numpy writes": (changed(Whh=header("(" * 1000 + ")" * 1000)),
                                          "Whh is larger than a checkpoint's"),
    "a shape of booleans": (changed(Whh=header("(True, 12)")), "EOF"),
    "a shape of floats": (changed(Whh=header("(12.0, 12)")), "shape is not valid"),
    "a Python 2 header": (changed(Whh=header("(12L, 12L)")), None),
    "a deprecated type code": (changed(Whh=header(descr="'a'")), None),
    "a header of another type": (changed(Whh=npy_with_header("[1, 2, 3]")), "not a dictionary"),
}


@pytest.fixture
def bad_checkpoint(model, tmp_path, request):
    path = tmp_path / "bad.npz"
    craft, message = BAD_CHECKPOINTS[request.param]
    craft(npz_arrays(model), path, tmp_path)
    return path, message


def one_error_line(capsys, tmp_path, *args):
    status, out, err = run_main(capsys, *args)
    assert status == 1 and "\n----" not in out
    assert len(err.splitlines()) == 1 and err.startswith("min_char_rnn.py: error: ")
    assert not (tmp_path / "trap").exists()
    return err


@pytest.mark.parametrize("bad_checkpoint", BAD_CHECKPOINTS, indirect=True)
def test_a_bad_checkpoint_gets_one_line(bad_checkpoint, tmp_path, capsys):
    path, message = bad_checkpoint
    err = one_error_line(capsys, tmp_path, "--checkpoint", path, "--sample-only")
    assert f"{path} is not a usable min-char-rnn checkpoint: " in err or message == "no checkpoint at"
    assert (message or "") in err


@pytest.mark.parametrize("bad_checkpoint", ["a pickle", "a newer format", "NaN weights",
                                            "an entry inflating to 10 MB"], indirect=True)
def test_resume_refuses_a_bad_checkpoint_as_sampling_does(bad_checkpoint, short_text, tmp_path,
                                                          capsys):
    path, message = bad_checkpoint
    before = path.read_bytes()
    assert message in one_error_line(capsys, tmp_path, short_text, "--checkpoint", path,
                                     "--resume")
    assert path.read_bytes() == before


@pytest.mark.parametrize("make", [os.mkfifo, os.mkdir, lambda path: os.symlink("/dev/zero", path)],
                         ids=["a FIFO", "a folder", "a link to a device"])
def test_resume_refuses_a_path_that_is_not_a_regular_file(make, short_text, tmp_path, capsys):
    path = tmp_path / "m.npz"
    make(path)
    err = one_error_line(capsys, tmp_path, short_text, "--checkpoint", path, "--resume")
    assert f"{path} is not a regular file (a link, a folder, a device?)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", "short.txt"]


HOSTILE_HEADERS = ["a header declaring a huge shape", "a huge shape within the declared size",
                   "an entry inflating to 10 MB", "a hidden size too large to hold",
                   "a header key that cannot be hashed", "a Python 2 header",
                   "a deprecated type code", "a deeply nested header",
                   "a header longer than numpy writes"]


def test_hostile_checkpoints_get_one_line_in_a_small_memory_with_warnings_as_errors(
        model, tmp_path):
    """In one process that may map 600 MB, under -X dev -W error: nothing of a declared size
    is allocated, and no warning is printed."""
    paths = []
    for name in HOSTILE_HEADERS:
        paths.append(tmp_path / f"{len(paths)}.npz")
        BAD_CHECKPOINTS[name][0](npz_arrays(model), paths[-1], tmp_path)
    code = ("import sys, min_char_rnn\n"
            "for path in sys.argv[1:]:\n"
            "    assert min_char_rnn.main(['--checkpoint', path, '--sample-only']) == 1\n")
    result = subprocess.run([sys.executable, "-X", "dev", "-W", "error", "-c", code, *paths],
                            capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env=script_env(), preexec_fn=limit_memory(600))
    lines = result.stderr.splitlines()
    assert result.returncode == 0 and len(lines) == len(paths), result.stderr
    for path, name, line in zip(paths, HOSTILE_HEADERS, lines):
        assert line.startswith(f"min_char_rnn.py: error: {path} is not a usable")
        assert (BAD_CHECKPOINTS[name][1] or "") in line or "Unable to allocate" in line


def test_big_endian_and_fortran_order_arrays_load_as_they_are(model, tmp_path, capsys):
    arrays = npz_arrays(model)
    odd = {k: (np.asfortranarray(a) if a.ndim == 2 else a.astype(a.dtype.newbyteorder(">")))
           for k, a in arrays.items()}
    write_npz(tmp_path / "odd.npz", odd)
    loaded, expected = load_checkpoint(tmp_path / "odd.npz"), load_checkpoint(model)
    same_state(expected, loaded)
    assert loaded["Whh"].flags.c_contiguous and loaded["Whh"].dtype.isnative


def test_a_state_holding_nan_is_never_saved(tmp_path, short_text):
    data = short_text.read_text()
    state = init_training(sorted(set(data)), 4, hidden_size=7, seq_length=5)
    state["Why"][1, 2] = np.nan
    with Checkpoint(str(tmp_path / "m.npz"), fresh=True) as checkpoint:
        with pytest.raises(min_char_rnn.CommandLineError,
                           match="not saving .*m.npz: a number is infinite or NaN; nothing saved"):
            checkpoint.save(state)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz.lock", "short.txt"]
