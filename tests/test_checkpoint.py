"""Checkpoints: saved whole, loaded exactly, resumed as if never stopped, read safely."""
import pickle
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import min_char_rnn
from conftest import SCRIPT, npz_arrays, run_main, run_script
from min_char_rnn import init_model, load_checkpoint, save_checkpoint, train, vocabulary

SMALL = ["--hidden-size", 12, "--seq-length", 6, "--learning-rate", 0.05, "--sample-length", 40]


def test_save_and_load_round_trip(tmp_path, short_text, capsys):
    data = short_text.read_text()
    state = init_model(vocabulary(data), 7, 5, 0.1, seed=4, sample_length=30)
    train(data, state, max_iters=123)
    path = tmp_path / "model.npz"
    save_checkpoint(path, state)
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
    train(data, state, max_iters=250)
    train(data, loaded, max_iters=250)
    for k in min_char_rnn.PARAMS:
        np.testing.assert_array_equal(loaded[k], state[k])


def test_a_checkpoint_holds_plain_numeric_arrays(tmp_path, short_text, capsys):
    path = tmp_path / "model.npz"
    assert run_main(capsys, short_text, "--seed", 1, "--max-iters", 5, "--checkpoint", path)[0] == 0
    arrays = npz_arrays(path)  # allow_pickle=False: this would fail on an object array
    assert all(a.dtype.kind in "iuf" for a in arrays.values())
    assert {"format_version", "vocab", "Wxh", "mWxh", "n", "p", "hprev", "smooth_loss",
            "hidden_size", "seq_length", "learning_rate", "seed", "rng_keys"} <= arrays.keys()
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
    assert saved.keys() == expected.keys()
    for k in expected:
        np.testing.assert_array_equal(saved[k], expected[k], err_msg=k)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_an_interrupted_run_resumes_exactly(tmp_path, short_text, signum):
    path = tmp_path / "model.npz"
    args = [short_text, "--seed", 2, *SMALL, "--checkpoint", path]
    proc = subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args)], bufsize=0,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline() + proc.stdout.readline()  # training has begun
    assert proc.poll() is None  # and its lines come out as they are printed, not at the end
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    out, err = (first + out).decode(), err.decode()
    assert proc.returncode == 128 + signum
    assert "Traceback" not in err
    k = int(npz_arrays(path)["n"])
    assert f"interrupted at iteration {k}: saved {path}" in err.splitlines()[-1]
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

    def half_a_save(file, **arrays):
        file.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt  # a second Ctrl-C arrives in the middle of writing

    monkeypatch.setattr(min_char_rnn.np, "savez", half_a_save)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, "--resume",
                                "--max-iters", 20)
    assert status == 130
    assert err.splitlines()[-1] == f"min_char_rnn.py: stopped at once; {path} is as last saved"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz", "short.txt"]


@pytest.fixture
def model(tmp_path, short_text, capsys):
    """A checkpoint trained a little on the short text."""
    path = tmp_path / "model.npz"
    one_run(capsys, short_text, path, "--seed", 4, *SMALL, "--max-iters", 300)
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


def test_generation_without_a_seed_says_the_one_it_drew(model, capsys):
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only")
    seed = int(err.split()[1])
    assert generated(capsys, model, "--seed", seed) + "\n" == out


def test_generation_continues_the_prime(model, capsys):
    """The prime is read through the network first: the state after it is computed here step
    by step, and sampling from it must give what --sample-only prints after the prime."""
    state = load_checkpoint(model)
    Wxh, Whh, Why, bh, by = params = tuple(state[k] for k in min_char_rnn.PARAMS)
    char_to_ix = {ch: i for i, ch in enumerate(state["chars"])}
    prime = "the rat "
    h = np.zeros((12, 1))
    for ch in prime[:-1]:
        h = np.tanh(Wxh[:, [char_to_ix[ch]]] + np.dot(Whh, h) + bh)
    ixes = min_char_rnn.sample(h, char_to_ix[" "], 100, params, np.random.RandomState(8))
    expected = prime + "".join(state["chars"][ix] for ix in ixes)
    assert generated(capsys, model, "--seed", 8, "--sample-length", 100, "--prime", prime) \
        == expected


def test_temperature_near_zero_takes_the_most_likely_character(model, capsys):
    state = load_checkpoint(model)
    Wxh, Whh, Why, bh, by = (state[k] for k in min_char_rnn.PARAMS)
    char_to_ix = {ch: i for i, ch in enumerate(state["chars"])}
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


def test_resume_refuses_what_contradicts_the_checkpoint(model, short_text, tmp_path, capsys):
    before = model.read_bytes()
    for flag, value in [("--hidden-size", 13), ("--seq-length", 7), ("--learning-rate", 0.1),
                        ("--seed", 5), ("--sample-length", 41)]:
        status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume",
                                    flag, value, "--max-iters", 400)
        assert status == 1 and out == ""
        assert f"{flag} {value} contradicts the checkpoint's" in err
    # a flag that agrees is fine
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume",
                                "--hidden-size", 12, "--seed", 4, "--max-iters", 301)
    assert status == 0
    other = tmp_path / "other.txt"
    other.write_text(short_text.read_text().replace("c", "k") + "é", encoding="utf-8")
    model.write_bytes(before)
    status, out, err = run_main(capsys, other, "--checkpoint", model, "--resume")
    assert status == 1 and out == ""
    assert "does not have the checkpoint's characters (new: 'k', 'é'; absent: 'c')" in err
    assert model.read_bytes() == before


def test_a_checkpoint_is_not_overwritten_without_resume(model, short_text, capsys):
    before = model.read_bytes()
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--max-iters", 10)
    assert status == 1 and "already exists; add --resume" in err
    assert model.read_bytes() == before


def test_resuming_past_max_iters_does_nothing(model, short_text, capsys):
    before = model.read_bytes()
    status, out, err = run_main(capsys, short_text, "--checkpoint", model, "--resume",
                                "--max-iters", 300)
    assert status == 0 and out == "" and "nothing to do" in err
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


def bad_checkpoint(kind, good, tmp_path):
    path = tmp_path / "bad.npz"
    if kind == "missing":
        return path, "no checkpoint at"
    if kind == "truncated":
        path.write_bytes(good.read_bytes()[:2000])
    elif kind == "random bytes":
        path.write_bytes(np.random.RandomState(0).bytes(5000))
        return path, "it is not an .npz file"
    elif kind == "another program's npz":
        np.savez(path, weights=np.ones(3))
        return path, "no format_version entry"
    elif kind == "a pickled object":
        with open(path, "wb") as f:
            pickle.dump(Trap(tmp_path / "trap"), f)
        return path, "it is not an .npz file"
    elif kind == "a pickled object inside the npz":
        arrays = npz_arrays(good)
        arrays["vocab"] = np.array([Trap(tmp_path / "trap")], dtype=object)
        np.savez(path, **arrays)
    elif kind == "a single .npy array":
        with open(path, "wb") as f:
            np.save(f, np.ones(3))
        return path, "it is not an .npz file"
    elif kind == "a text file":
        path.write_text("some text\n")
        return path, "it is not an .npz file"
    elif kind == "a newer format":
        np.savez(path, **{**npz_arrays(good), "format_version": np.array(2)})
        return path, "format 2 is not 1"
    elif kind == "NaN weights":
        arrays = npz_arrays(good)
        arrays["Why"][0, 0] = np.nan
        np.savez(path, **arrays)
        return path, "Why holds infinite or NaN numbers"
    elif kind == "a missing array":
        arrays = npz_arrays(good)
        del arrays["mWhh"]
        np.savez(path, **arrays)
        return path, "missing mWhh"
    elif kind == "mismatched shapes":
        arrays = npz_arrays(good)
        arrays["Whh"] = arrays["Whh"][:5]
        np.savez(path, **arrays)
        return path, "Whh has shape (5, 12), not (12, 12)"
    return path, "is not a usable min-char-rnn checkpoint"


BAD = ["missing", "truncated", "random bytes", "another program's npz", "a pickled object",
       "a pickled object inside the npz", "a single .npy array", "a text file", "a newer format",
       "NaN weights", "a missing array", "mismatched shapes"]


@pytest.mark.parametrize("mode", ["--sample-only", "--resume"])
@pytest.mark.parametrize("kind", BAD)
def test_a_bad_checkpoint_gets_one_line(kind, mode, model, short_text, tmp_path, capsys):
    path, message = bad_checkpoint(kind, model, tmp_path)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, mode)
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("min_char_rnn.py: error: ")
    assert message in err
    assert not (tmp_path / "trap").exists()


def test_loading_never_unpickles(tmp_path):
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as z:  # an npz whose member is a pickle, not an array
        z.writestr("format_version.npy", pickle.dumps(Trap(tmp_path / "trap")))
    with pytest.raises(min_char_rnn.CommandLineError):
        load_checkpoint(path)
    assert not (tmp_path / "trap").exists()
