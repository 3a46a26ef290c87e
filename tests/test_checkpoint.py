"""Checkpoints: saved whole, loaded exactly, resumed as if never stopped, read safely."""
import io
import os
import pickle
import signal
import zipfile

import numpy as np
import pytest

import min_char_rnn
from conftest import (SHORT_TEXT, limit_memory, npz_arrays, run_main, run_script, start_script,
                      train_to)
from min_char_rnn import PARAMS, Checkpoint, char_maps, init_training, load_checkpoint

SMALL = ["--hidden-size", 12, "--seq-length", 6, "--learning-rate", 0.05, "--sample-length", 40]


def test_save_and_load_round_trip(tmp_path, short_text, capsys):
    data = short_text.read_text()
    state = init_training(sorted(set(data)), 4, hidden_size=7, seq_length=5, sample_length=30)
    train_to(data, state, 123)
    path = tmp_path / "model.npz"
    Checkpoint(path).save(state)
    loaded = load_checkpoint(path)
    assert loaded.keys() == state.keys()
    for k, v in state.items():
        if isinstance(v, np.ndarray):
            assert loaded[k].dtype == v.dtype and loaded[k].shape == v.shape, k
            np.testing.assert_array_equal(loaded[k], v, err_msg=k)
        elif k != "rng":
            assert loaded[k] == v and type(loaded[k]) is type(v), k
    np.testing.assert_array_equal(loaded["rng"].random_sample(50), state["rng"].random_sample(50))
    # and the loaded state trains on exactly as the saved one does
    train_to(data, state, 250)
    train_to(data, loaded, 250)
    for k in PARAMS:
        np.testing.assert_array_equal(loaded[k], state[k])


def test_a_checkpoint_holds_plain_numeric_arrays(tmp_path, short_text, capsys):
    path = tmp_path / "model.npz"
    assert run_main(capsys, short_text, "--seed", 1, "--max-iters", 5, "--checkpoint", path)[0] == 0
    arrays = npz_arrays(path)  # allow_pickle=False: this would fail on an object array
    assert arrays.keys() == min_char_rnn.CHECKPOINT.keys()
    assert all(a.dtype.kind in "iuf" for a in arrays.values())
    assert arrays["n"] == 5 and arrays["seed"] == 1
    assert "".join(map(chr, arrays["vocab"])) == "".join(sorted(set(short_text.read_text())))


def one_run(capsys, text, path, *args):
    status, out, err = run_main(capsys, text, "--checkpoint", path, *args)
    assert status == 0, err
    return out


@pytest.mark.parametrize("stops", [[1], [100], [137, 138, 301], [250]],
                         ids=lambda stops: "stop at " + ", ".join(map(str, stops)))
def test_stopping_and_resuming_changes_nothing(tmp_path, short_text, capsys, stops):
    """The short text wraps every 7 iterations, so the runs cross its end many times."""
    whole = one_run(capsys, short_text, tmp_path / "whole.npz", "--seed", 9, *SMALL,
                    "--max-iters", 420, "--save-every", 50)
    path = tmp_path / "parts.npz"
    parts = one_run(capsys, short_text, path, "--seed", 9, *SMALL, "--max-iters", stops[0])
    for previous, stop in zip(stops, stops[1:] + [420]):
        assert npz_arrays(path)["n"] == previous
        resumed = one_run(capsys, short_text, path, "--resume", "--max-iters", stop)
        data_line, rest = resumed.split("\n", 1)
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
    path = tmp_path / "m.npz"
    saved = []
    real_save = Checkpoint.save

    def save_and_keep(checkpoint, state):
        saved.append({k: a.copy() for k, a in min_char_rnn.checkpoint_arrays(state).items()})
        real_save(checkpoint, state)

    monkeypatch.setattr(Checkpoint, "save", save_and_keep)
    one_run(capsys, short_text, path, "--seed", 5, *SMALL, "--max-iters", 75, "--save-every", 50)
    monkeypatch.undo()
    assert [int(a["n"]) for a in saved] == [50, 75]
    one_run(capsys, short_text, tmp_path / "at50.npz", "--seed", 5, *SMALL, "--max-iters", 50)
    for k, expected in npz_arrays(tmp_path / "at50.npz").items():
        np.testing.assert_array_equal(saved[0][k], expected, err_msg=k)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_an_interrupted_run_resumes_exactly(tmp_path, short_text, signum):
    path = tmp_path / "model.npz"
    proc = start_script(short_text, "--seed", 2, *SMALL, "--checkpoint", path)
    first = proc.stdout.readline() + proc.stdout.readline()  # training has begun
    assert proc.poll() is None  # and its lines come out as they are printed, not at the end
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    out, err = (first + out).decode(), err.decode()
    assert proc.returncode == 128 + signum
    assert "Traceback" not in err
    k = int(npz_arrays(path)["n"])
    assert err.splitlines()[-1] == f"interrupted at iteration {k}: saved {path}; add --resume " \
                                   "to go on"
    assert out.count("\niter ") == (k + 99) // 100  # it printed iterations 0..k-1, no more
    resumed = run_script(short_text, "--checkpoint", path, "--resume", "--max-iters", k + 250)
    assert resumed.returncode == 0, resumed.stderr
    whole = run_script(short_text, "--seed", 2, *SMALL, "--max-iters", k + 250)
    assert out + resumed.stdout.split("\n", 1)[1] == whole.stdout


def test_an_interruption_while_saving_keeps_the_previous_checkpoint(
        tmp_path, short_text, capsys, monkeypatch):
    path = tmp_path / "model.npz"
    one_run(capsys, short_text, path, "--seed", 3, *SMALL, "--max-iters", 10)
    before = path.read_bytes()

    def half_a_save(file, arrays):
        file.write(b"PK\x03\x04 half a zip file")
        raise min_char_rnn.Interrupted(signal.SIGINT)  # a second Ctrl-C in the middle of it

    monkeypatch.setattr(min_char_rnn, "write_npz", half_a_save)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, "--resume",
                                "--max-iters", 20)
    assert status == 130
    assert err.splitlines()[-1] == f"min_char_rnn.py: stopped at once; {path} keeps iteration 10"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "short.txt"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    (folder / "short.txt").write_text(SHORT_TEXT, encoding="utf-8")
    result = run_script(folder / "short.txt", "--seed", 4, *SMALL, "--max-iters", 300,
                        "--checkpoint", folder / "model.npz")
    assert result.returncode == 0, result.stderr
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
    seed = int(err.split()[1])
    assert generated(capsys, model, "--seed", seed) + "\n" == out


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
    text = generated(capsys, model, "--seed", 3, "--sample-length", 10000, "--temperature", 1e6)
    chars = load_checkpoint(model)["chars"]
    counts = np.array([text.count(ch) for ch in chars])
    expected = len(text) / len(chars)
    assert np.abs(counts - expected).max() < 5 * np.sqrt(expected)  # a five-sigma band
    at_one = generated(capsys, model, "--seed", 3, "--sample-length", 10000)
    counts_at_one = np.array([at_one.count(ch) for ch in chars])
    assert np.abs(counts_at_one - expected).max() > 20 * np.sqrt(expected)  # the model's own


CONTRADICTIONS = {
    "--hidden-size": 13, "--seq-length": 7, "--learning-rate": 0.1, "--seed": 5,
    "--sample-length": 41,
}


@pytest.mark.parametrize("flag,value", CONTRADICTIONS.items(), ids=CONTRADICTIONS.keys())
def test_resume_refuses_a_flag_that_contradicts_the_checkpoint(model, short_text, capsys, flag,
                                                               value):
    before = model.read_bytes()
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume",
                                flag, value, "--max-iters", 400)
    assert status == 1 and out.startswith("data has") and "\n----" not in out
    assert err.splitlines() == [f"min_char_rnn.py: error: {flag} {value} contradicts the "
                                f"checkpoint's {load_checkpoint(model)[flag[2:].replace('-', '_')]}"
                                f"; leave {flag} out to go on with the checkpoint's value"]
    assert model.read_bytes() == before


@pytest.mark.parametrize("flag,value", list(CONTRADICTIONS.items())[:3],
                         ids=list(CONTRADICTIONS)[:3])
def test_sample_only_refuses_a_flag_that_contradicts_the_checkpoint(model, capsys, flag, value):
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", flag, value)
    assert status == 1 and out == "" and f"{flag} {value} contradicts the checkpoint's" in err


def test_resume_accepts_flags_that_agree(model, short_text, capsys):
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume",
                                "--hidden-size", 12, "--seed", 4, "--sample-length", 40,
                                "--max-iters", 301)
    assert status == 0, err


OTHER_TEXTS = {
    "other characters, as many": dict(change=lambda text: text.replace("c", "k"),
                                      message="(new: 'k'; absent: 'c')"),
    "one more character": dict(change=lambda text: text + "é", message="(new: 'é')"),
    "one fewer": dict(change=lambda text: text.replace(";", "."), message="(absent: ';')"),
}


@pytest.mark.parametrize("case", OTHER_TEXTS.values(), ids=OTHER_TEXTS.keys())
def test_resume_refuses_a_text_with_other_characters(model, short_text, tmp_path, capsys, case):
    before = model.read_bytes()
    other = tmp_path / "other.txt"
    other.write_text(case["change"](short_text.read_text()), encoding="utf-8")
    status, out, err = run_main(capsys, other, "--checkpoint", model, "--resume")
    assert status == 1
    assert err == f"min_char_rnn.py: error: {other} does not have the checkpoint's characters " \
                  f"{case['message']}; resume on the text the checkpoint was trained on\n"
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
    assert err == f"{model} is at iteration 300 already, not below --max-iters 300: nothing " \
                  "to do\n"
    assert model.read_bytes() == before


def test_a_prime_outside_the_vocabulary_is_named(model, capsys):
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", "--prime", "Zoë")
    assert status == 1 and out == ""
    assert err.splitlines() == ["min_char_rnn.py: error: --prime has characters the model "
                                "does not know: 'Z', 'ë'"]


class Trap:
    """Unpickling this would create the file named: the proof that nothing was unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


def write_npz(path, arrays, compression=None, encrypted=()):
    """An .npz of arrays, entry by entry: compression {name: zipfile method}; the entries
    named in encrypted get the flag that says so."""
    with zipfile.ZipFile(path, "w") as z:
        for name, a in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(a), allow_pickle=True)
            z.writestr(name + ".npy", buffer.getvalue(),
                       compress_type=(compression or {}).get(name, zipfile.ZIP_STORED))
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:  # each entry of the central directory, and its local header
        name_length = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + name_length].decode()[:-4] in encrypted:
            data[at + 8] |= 1
            data[int.from_bytes(data[at + 42:at + 46], "little") + 6] |= 1
        at = data.find(b"PK\x01\x02", at + 1)
    path.write_bytes(bytes(data))


def npy_header_only(shape):
    """An .npy entry that declares a shape and holds a few numbers."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, dict(descr="<f8", fortran_order=False,
                                                       shape=shape))
    return buffer.getvalue() + bytes(64)


def changed(**changes):
    """A crafter: the good checkpoint's arrays, with changes (a function of the arrays, or a
    value; None removes the entry)."""
    def craft(arrays, path, tmp_path):
        for name, change in changes.items():
            arrays[name] = change(arrays) if callable(change) else change
        write_npz(path, {k: v for k, v in arrays.items() if v is not None})
    return craft


def written(make):
    def craft(arrays, path, tmp_path):
        make(path, arrays, tmp_path)
    return craft


def huge_entry(path, arrays, tmp_path):
    with zipfile.ZipFile(path, "w") as z:
        for name, a in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, a)
            z.writestr(name + ".npy", npy_header_only((10**6, 10**6)) if name == "Wxh"
                       else buffer.getvalue())


def inflating_entry(path, arrays, tmp_path):
    """Whh as a compressed entry of 64 KB that inflates to 40 MB."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, a in arrays.items():
            with z.open(name + ".npy", "w") as f:
                if name != "Whh":
                    np.lib.format.write_array(f, a)
                    continue
                np.lib.format.write_array_header_1_0(f, dict(descr="<f8", fortran_order=False,
                                                             shape=(1000, 5000)))
                for _ in range(40):
                    f.write(bytes(10**6))


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


def a_large_directory(path, arrays, tmp_path):
    """The end record of the zip claims a central directory of 10 MB."""
    write_npz(path, arrays)
    data = bytearray(path.read_bytes())
    data[-10:-6] = (10**7).to_bytes(4, "little")
    path.write_bytes(bytes(data))


def pickled(path, arrays, tmp_path):
    with open(path, "wb") as f:
        pickle.dump(Trap(tmp_path / "trap"), f)


def one_npy(path, arrays, tmp_path):
    with open(path, "wb") as f:
        np.save(f, np.ones(3))


def a_pickle_as_an_entry(path, arrays, tmp_path):
    with zipfile.ZipFile(path, "w") as z:  # an npz whose member is a pickle, not an array
        z.writestr("format_version.npy", pickle.dumps(Trap(tmp_path / "trap")))


BAD_CHECKPOINTS = {  # what is done to a good checkpoint, and what the error line then says
    "missing": dict(craft=written(lambda path, arrays, tmp: None), message="no checkpoint at"),
    "a folder": dict(craft=written(lambda path, arrays, tmp: path.mkdir()),
                     message="is a folder"),
    "empty": dict(craft=written(lambda path, arrays, tmp: path.write_bytes(b"")),
                  message="it is not an .npz file"),
    "truncated": dict(craft=written(lambda path, arrays, tmp: write_npz(path, arrays) or
                                    path.write_bytes(path.read_bytes()[:2000])),
                      message="it is not an .npz file as this script writes them"),
    "random bytes": dict(craft=written(lambda path, arrays, tmp: path.write_bytes(
        np.random.RandomState(0).bytes(5000))), message="it is not an .npz file"),
    "a text file": dict(craft=written(lambda path, arrays, tmp: path.write_text("some text\n")),
                        message="it is not an .npz file"),
    "a pickle": dict(craft=written(pickled), message="it is not an .npz file"),
    "a named pipe": dict(craft=written(lambda path, arrays, tmp: os.mkfifo(path)),
                         message="it is not a regular file"),
    "a corrupt compressed entry": dict(craft=written(corrupt_deflate), message="cannot read it"),
    "a central directory too large": dict(craft=written(a_large_directory),
                                          message="it is not an .npz file as this script writes"),
    "a single .npy array": dict(craft=written(one_npy), message="it is not an .npz file"),
    "a pickle as an entry": dict(craft=written(a_pickle_as_an_entry),
                                 message="cannot read it"),
    "a pickled object as the vocabulary": dict(
        craft=changed(vocab=lambda a: np.array([Trap("trap")], dtype=object)),
        message="vocab has dtype object, not int64"),
    "another program's npz": dict(craft=written(lambda path, arrays, tmp: np.savez(
        path, weights=np.ones(3))), message="it has no format_version entry"),
    "a newer format": dict(craft=changed(format_version=np.array(2)), message="format 2 is not 1"),
    "an entry no checkpoint has": dict(craft=changed(extra=np.ones(3)),
                                       message="it holds an entry 'extra.npy' that no checkpoint"),
    "a missing array": dict(craft=changed(mWhh=None), message="missing mWhh"),
    "mismatched shapes": dict(craft=changed(Whh=lambda a: a["Whh"][:5]),
                              message="Whh has shape (5, 12), not (12, 12)"),
    "a scalar of rank 1": dict(craft=changed(n=np.array([300])), message="n has shape (1,), not ()"),
    "a scalar of rank 2": dict(craft=changed(hidden_size=np.array([[12, 12], [12, 12]])),
                               message="hidden_size has shape (2, 2), not ()"),
    "a 0-d vocabulary": dict(craft=changed(vocab=np.array(97)),
                             message="vocab has shape (), not (N,)"),
    "a float vocabulary": dict(craft=changed(vocab=lambda a: a["vocab"].astype(float)),
                               message="vocab has dtype float64, not int64"),
    "a boolean count": dict(craft=changed(n=np.array(True)), message="n has dtype bool, not int64"),
    "a 16-byte float": dict(craft=changed(Wxh=lambda a: a["Wxh"].astype(np.longdouble)),
                            message="Wxh has dtype float128, not float64"),
    "a vocabulary that wraps": dict(craft=changed(vocab=lambda a: (a["vocab"] + 200)
                                                  .astype(np.uint8)),
                                    message="vocab is not sorted and distinct"),
    "a vocabulary outside Unicode": dict(craft=changed(vocab=lambda a: np.append(
        a["vocab"][:-1], 0x110000)), message="vocab holds a number that is no code point"),
    "a negative code point": dict(craft=changed(vocab=lambda a: np.append(-1, a["vocab"][1:])),
                                  message="vocab holds a number that is no code point"),
    "a surrogate": dict(craft=changed(vocab=lambda a: np.append(a["vocab"][:-1], 0xD800)),
                        message="vocab holds a surrogate, no character"),
    "an unsorted vocabulary": dict(craft=changed(vocab=lambda a: a["vocab"][::-1].copy()),
                                   message="vocab is not sorted and distinct"),
    "NaN weights": dict(craft=changed(Why=lambda a: np.where(a["Why"] > 0, np.nan, a["Why"])),
                        message="a number is infinite or NaN"),
    "an infinite setting": dict(craft=changed(smooth_loss=np.array(np.inf)),
                                message="a number is infinite or NaN"),
    "a negative Adagrad memory": dict(craft=changed(mWhh=lambda a: -a["mWhh"]),
                                      message="an Adagrad memory is negative"),
    "a state outside tanh's values": dict(craft=changed(hprev=lambda a: a["hprev"] * 0 + 2),
                                          message="hprev is outside [-1, 1]"),
    "weights too large to compute with": dict(craft=changed(Why=lambda a: a["Why"] * 1e300),
                                              message="a weight is larger than 1e+100"),
    "a learning rate of 0": dict(craft=changed(learning_rate=np.array(0.0)),
                                 message="learning_rate is not above 0"),
    "a hidden size of 0": dict(craft=changed(hidden_size=np.array(0)),
                               message="hidden_size, seq_length or the vocabulary is below 1"),
    "an empty vocabulary": dict(craft=changed(vocab=np.zeros(0, dtype=np.int64)),
                                message="hidden_size, seq_length or the vocabulary is below 1"),
    "a sample length of 0": dict(craft=changed(sample_length=np.array(0)),
                                 message="sample_length is out of range"),
    "a seed of 2**32": dict(craft=changed(seed=np.array(2**32)),
                            message="seed is not from 0 to 2**32-1"),
    "a negative data pointer": dict(craft=changed(p=np.array(-1)), message="n or p is out of range"),
    "a count beyond int64, unsigned": dict(craft=changed(n=np.array(2**64 - 1, dtype=np.uint64)),
                                           message="n or p is out of range"),
    "a negative smooth loss": dict(craft=changed(smooth_loss=np.array(-1.0)),
                                   message="smooth_loss is negative"),
    "the generator's position out of range": dict(
        craft=changed(rng_pos=np.array(625)), message="the state of the random generator"),
    "the generator's words out of range": dict(
        craft=changed(rng_keys=lambda a: a["rng_keys"].astype(np.int64) - 2**31 - 2**30),
        message="the state of the random generator"),
    "the generator's gauss flag out of range": dict(
        craft=changed(rng_has_gauss=np.array(2)), message="the state of the random generator"),
    "an unknown compression": dict(craft=written(lambda path, arrays, tmp: write_npz(
        path, arrays, compression={"Whh": zipfile.ZIP_BZIP2})),
        message="Whh is compressed by method 12"),
    "an encrypted entry": dict(craft=written(lambda path, arrays, tmp: write_npz(
        path, arrays, encrypted={"Why"})), message="Why is encrypted"),
    "a header declaring a huge shape": dict(craft=written(huge_entry),
                                            message="Wxh has shape (1000000, 1000000), not (12, 14)"),
    "an entry inflating to 40 MB": dict(craft=written(inflating_entry),
                                         message="Whh is larger than a checkpoint's Whh"),
    "a hidden size too large to hold": dict(craft=changed(hidden_size=np.array(10**6)),
                                            message="need about 5.22e+04 GiB of arrays"),
}


@pytest.mark.parametrize("mode", ["--sample-only", "--resume"])
@pytest.mark.parametrize("case", BAD_CHECKPOINTS.values(), ids=BAD_CHECKPOINTS.keys())
def test_a_bad_checkpoint_gets_one_line(case, mode, model, short_text, tmp_path, capsys):
    path = tmp_path / "bad.npz"
    case["craft"](npz_arrays(model), path, tmp_path)
    text = [short_text] if mode == "--resume" else []
    status, out, err = run_main(capsys, *text, "--checkpoint", path, mode)
    assert status == 1 and "\n----" not in out
    assert len(err.splitlines()) == 1 and err.startswith("min_char_rnn.py: error: ")
    assert case["message"] in err
    assert not (tmp_path / "trap").exists()


def test_a_bad_checkpoint_is_refused_within_a_small_memory(model, short_text, tmp_path):
    """The crafted files that declare huge arrays, read by a process that may not map 600 MB:
    nothing of their declared size is allocated."""
    for name in ["a header declaring a huge shape", "an entry inflating to 40 MB",
                 "a hidden size too large to hold"]:
        path = tmp_path / "bad.npz"
        BAD_CHECKPOINTS[name]["craft"](npz_arrays(model), path, tmp_path)
        result = run_script("--checkpoint", path, "--sample-only", preexec_fn=limit_memory(600))
        assert result.returncode == 1 and BAD_CHECKPOINTS[name]["message"] in result.stderr
        path.unlink()


def test_big_endian_and_fortran_order_arrays_load_as_they_are(model, tmp_path, capsys):
    arrays = npz_arrays(model)
    odd = {k: (np.asfortranarray(a) if a.ndim == 2 else a.astype(a.dtype.newbyteorder(">")))
           for k, a in arrays.items()}
    path = tmp_path / "odd.npz"
    write_npz(path, odd)
    loaded, expected = load_checkpoint(path), load_checkpoint(model)
    for k in (*PARAMS, "hprev"):
        np.testing.assert_array_equal(loaded[k], expected[k])
    assert generated(capsys, path, "--seed", 1) == generated(capsys, model, "--seed", 1)


def test_a_save_of_a_state_holding_nan_writes_nothing(tmp_path, short_text):
    data = short_text.read_text()
    state = init_training(sorted(set(data)), 4, hidden_size=7, seq_length=5)
    state["Why"][1, 2] = np.nan
    with pytest.raises(min_char_rnn.CommandLineError,
                       match="not saving .*m.npz: a number is infinite or NaN; nothing saved"):
        Checkpoint(str(tmp_path / "m.npz")).save(state)
    assert list(tmp_path.iterdir()) == [short_text]
