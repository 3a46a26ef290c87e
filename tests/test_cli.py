"""The command line in this process: what a run says, one line for each mistake, generation,
and a stdout that is a terminal, a full disk, a closed pipe or none."""
import errno
import os
import re
import sys
import time

import numpy as np
import pytest

from conftest import (BOUND, FORMAT_1, INPUT, ROOT, SEED, SHORT_TEXT, SMALL, Terminal,
                      npz_arrays, one_error_line, run_main, trains, written)
from min_char_rnn import PARAMS, char_maps, load_checkpoint, sample

SUMMARY = re.compile(r"iteration (\d+): (\d+ iterations?) in (\d+\.\d) s \(([^)]*)\), "
                     r"smooth loss (\d+\.\d{4}) \((\d+\.\d{3}) bits/char\)")


@pytest.mark.parametrize("iters,seconds,count,rate", [(1, 2.5, "1 iteration", "2.5 s/it"),
                                                      (3, 0.01, "3 iterations", "300 it/s")])
def test_the_summary_says_iterations_time_rate_and_loss(tmp_path, short_text, capsys,
                                                        monkeypatch, iters, seconds, count, rate):
    """A clock on which the run takes `seconds`: a rate below one a second is said in seconds
    an iteration. Then what was saved."""
    readings = iter([1000.0, 1000.0 + seconds])
    monkeypatch.setattr(time, "perf_counter", lambda: next(readings))
    path = tmp_path / "m.npz"
    summary, saved = trains(capsys, short_text, *SEED, *SMALL, "--max-iters", iters,
                            "--checkpoint", path)[1].splitlines()
    loss = npz_arrays(path)["smooth_loss"]
    bits = loss / 6 / np.log(2)
    assert SUMMARY.fullmatch(summary).groups() == (str(iters), count, f"{seconds:.1f}", rate,
                                                   f"{loss:.4f}", f"{bits:.3f}")
    assert saved == f"saved {path}"


def test_without_a_seed_the_run_says_which_it_drew(short_text, capsys):
    out, err = trains(capsys, short_text, *SMALL, "--max-iters", 2)
    seed_line, summary = err.splitlines()
    seed = re.fullmatch(r"seed (\d+) \(pass --seed \1 to repeat this run\)", seed_line)[1]
    assert SUMMARY.fullmatch(summary)
    assert trains(capsys, short_text, *SMALL, "--max-iters", 2, "--seed", seed)[0] == out


def test_input_txt_is_the_default_text(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = [*SEED, "--max-iters", 1, "--hidden-size", 8, "--sample-length", 10]
    assert trains(capsys, *args)[0] == trains(capsys, INPUT, *args)[0]


# One line for each mistake

def make_texts(folder):
    (folder / "one.txt").write_bytes(b"a")
    (folder / "six.txt").write_bytes(b"abcabc")
    (folder / "latin1.txt").write_bytes("na\xefve caf\xe9".encode("latin-1"))
    (folder / "model.npz").write_bytes(FORMAT_1.read_bytes())
    (folder / "folder").mkdir()


TEXT_MISTAKES = {  # the text, and words of the line that refuses it
    "missing": ("nowhere.txt", ["cannot read {tmp}/nowhere.txt: No such file"]),
    "a folder": ("folder", ["cannot read {tmp}/folder: Is a directory"]),
    "not UTF-8": ("latin1.txt", ["{tmp}/latin1.txt is not UTF-8", "0xef"]),
    "a checkpoint": ("model.npz", ["{tmp}/model.npz is a checkpoint",
                                   "give it as --checkpoint {tmp}/model.npz"]),
    "one character": ("one.txt", ["{tmp}/one.txt has 1 character;", "seq_length + 1 = 7",
                                  "--seq-length"]),
    "one short of a chunk": ("six.txt", ["{tmp}/six.txt has 6 characters;"]),
}


@pytest.mark.parametrize("name,words", TEXT_MISTAKES.values(), ids=TEXT_MISTAKES.keys())
def test_a_text_that_cannot_be_trained_on_gets_one_line(tmp_path, capsys, name, words):
    make_texts(tmp_path)
    status, out, err = run_main(capsys, tmp_path / name, *SEED, *SMALL, *BOUND,
                                "--checkpoint", tmp_path / "new.npz")
    one_error_line(status, err, *(word.format(tmp=tmp_path) for word in words))
    assert "\n----" not in out and not (tmp_path / "new.npz").exists()


ONE_TEXT = "; TEXT is the one argument without a flag: give a checkpoint as --checkpoint PATH"
FLAG_MISTAKES = {  # the arguments, and words of the line that refuses them
    "--hidden-size 0": (["--hidden-size=0"], "'0' is not a whole number from 1 to 100000"),
    "--seq-length 1.5": (["--seq-length=1.5"], "'1.5' is not a whole number of at least 1"),
    "--learning-rate nan": (["--learning-rate=nan"], "'nan' is not a finite number above 0"),
    "--temperature -0.1": (["--temperature=-0.1"], "'-0.1' is not a finite number above 0"),
    "--seed 2**32": (["--seed=4294967296"], "is not a whole number from 0 to 2**32-1"),
    "--resume alone": (["--resume"], "--resume needs --checkpoint"),
    "--prime when training": (["--prime", "The"], "--prime and --temperature go with"),
    "--max-iters when sampling": (["--checkpoint", "m.npz", "--sample-only", "--max-iters", "5"],
                                  "not --sample-only"),
    "a text when sampling": (["t.txt", "--checkpoint", "m.npz", "--sample-only"],
                             "--sample-only reads no TEXT"),
    "a checkpoint first": (["model.npz", "input.txt"], f"arguments: input.txt{ONE_TEXT}"),
    "--resume with a text": (["input.txt", "--resume", "model.npz"],
                             f"arguments: model.npz{ONE_TEXT}"),
}


@pytest.mark.parametrize("args,words", FLAG_MISTAKES.values(), ids=FLAG_MISTAKES.keys())
def test_flags_that_are_wrong_or_do_not_go_together_get_one_line(capsys, args, words):
    status, out, err = run_main(capsys, *args)
    one_error_line(status, err, words, code=2)
    assert out == ""


def test_messages_show_characters_that_would_break_the_line_as_escapes(tmp_path, capsys):
    status, out, err = run_main(capsys, tmp_path / "a\nb\rc\x1b[31md\u202ee")
    one_error_line(status, err, "a\\nb\\rc\\x1b[31md\\u202ee")


# Generation

def generated(capsys, model, *args, stdout=None):
    out = trains(capsys, "--checkpoint", model, "--sample-only", *args, stdout=stdout)[0]
    if stdout is not None:
        out = written(stdout)
    assert out.endswith("\n")
    return out[:-1]


def test_generation_is_repeatable_by_seed_and_as_long_as_the_samples_unless_told(model, capsys):
    first = generated(capsys, model, "--seed", 1, "--sample-length", 300)
    assert generated(capsys, model, "--seed", 1, "--sample-length", 300) == first
    assert generated(capsys, model, "--seed", 2, "--sample-length", 300) != first
    assert len(first) == 300 and set(first) <= set(SHORT_TEXT)
    assert len(generated(capsys, model, "--seed", 1, "--prime", "the")) == 3 + 30


def test_generation_continues_the_prime(model, capsys):
    """The prime is read from a zero state; the state after all but its last character, and
    its last character, are where sampling starts."""
    state = load_checkpoint(model)
    params = [state[name] for name in PARAMS]
    Wxh, Whh, Why, bh, by = params
    char_to_ix, ix_to_char = char_maps(state["chars"])
    h = np.zeros((8, 1))
    for ch in "the rat":
        h = np.tanh(Wxh[:, [char_to_ix[ch]]] + np.dot(Whh, h) + bh)
    ixes = sample(h, char_to_ix[" "], 100, params, np.random.RandomState(8), temperature=1.0)
    assert generated(capsys, model, "--seed", 8, "--sample-length", 100, "--prime", "the rat ") \
        == "the rat " + "".join(ix_to_char[ix] for ix in ixes)


def test_temperature_near_zero_takes_the_most_likely_character(model, capsys):
    state = load_checkpoint(model)
    Wxh, Whh, Why, bh, by = (state[name] for name in PARAMS)
    char_to_ix, ix_to_char = char_maps(state["chars"])
    h, ix, greedy = np.zeros((8, 1)), char_to_ix["t"], ""
    for _ in range(60):
        h = np.tanh(Wxh[:, [ix]] + np.dot(Whh, h) + bh)
        ix = int(np.argmax(np.dot(Why, h) + by))
        greedy += ix_to_char[ix]
    for seed in (1, 2):
        assert generated(capsys, model, "--seed", seed, "--prime", "t", "--sample-length", 60,
                         "--temperature", 1e-9) == "t" + greedy


def test_a_prime_outside_the_vocabulary_is_named(model, capsys):
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", "--prime", "Zoë")
    one_error_line(status, err, "--prime has characters the model does not know: 'Z', 'ë'")
    assert out == ""


# stdout

def test_on_a_terminal_only_characters_that_steer_it_are_escaped(tmp_path, capsys):
    """An escape and a bidirectional control are shown as \\x1b and \\u202e; an ideographic
    space, a no-break space and a tab as themselves; into a pipe or a file, all as they are."""
    prime = "\x1b[31m\u202e\u3000\u00a0\t"
    text = tmp_path / "steering.txt"
    text.write_text(SHORT_TEXT + prime, encoding="utf-8")
    trains(capsys, text, *SEED, *SMALL, "--max-iters", 1, "--checkpoint", tmp_path / "m.npz")
    on_terminal = generated(capsys, tmp_path / "m.npz", *SEED, "--prime", prime,
                            stdout=Terminal())
    assert on_terminal.startswith("\\x1b[31m\\u202e\u3000\u00a0\t")
    assert generated(capsys, tmp_path / "m.npz", *SEED, "--prime", prime).startswith(prime)


def test_a_closed_stdout_is_refused_before_anything_is_done(tmp_path, short_text, capsys,
                                                            monkeypatch):
    """Python has no sys.stdout when the script is started with stdout closed (>&-)."""
    monkeypatch.setattr(sys, "stdout", None)
    status, out, err = run_main(capsys, short_text, *SEED, *BOUND, "--checkpoint",
                                tmp_path / "m.npz")
    one_error_line(status, err, "stdout is closed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.txt"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_for_stdout_stops_the_run_which_saves(model, tmp_path, short_text, capsys):
    """> /dev/full: the first line cannot be written; the run stops after its first
    iteration, saves it and says why. A sample cannot be written: one line."""
    path = tmp_path / "m.npz"
    with open("/dev/full", "w", encoding="utf-8") as full:
        status, out, err = run_main(capsys, short_text, *SEED, *SMALL, *BOUND, "--checkpoint",
                                    path, stdout=full)
    assert status == 1 and len(err.splitlines()) == 2 and "Traceback" not in err
    assert err.splitlines()[1] == f"stdout: {os.strerror(errno.ENOSPC)}; stopped at " \
                                  f"iteration 1; saved {path}"
    assert npz_arrays(path)["n"] == 1
    with open("/dev/full", "w", encoding="utf-8") as full:
        status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", *SEED,
                                    stdout=full)
    one_error_line(status, err, "cannot write to stdout", os.strerror(errno.ENOSPC))


def test_a_sample_cut_short_by_its_reader_ends_quietly(model, capsys):
    """--sample-only | head -1: the reader has what it asked for; nothing to say but the status."""
    read, write = os.pipe()
    os.close(read)
    with open(write, "w", encoding="utf-8") as pipe:
        status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", *SEED,
                                    stdout=pipe)
    assert status == 1 and err == ""
