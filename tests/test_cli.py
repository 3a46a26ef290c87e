"""The command line in this process: one line for each mistake, generation, and stdout."""
import errno
import os
import re
import sys
import zipfile

import numpy as np
import pytest

from conftest import (BOUND, FORMAT_1, INPUT, ROOT, SEED, SHORT_TEXT, SMALL, FullDisk, Terminal,
                      files, npz_arrays, one_error_line, run_main, trains, written)
from min_char_rnn import PARAMS, char_maps, load_checkpoint, sample


def test_without_a_text_or_a_seed_a_run_takes_input_txt_and_says_the_seed_it_drew(
        tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    path = tmp_path / "m.npz"
    flags = ["--max-iters", 2, "--hidden-size", 8, "--sample-length", 10]
    out, err = trains(capsys, *flags, "--checkpoint", path)
    seed_line, summary, saved = err.splitlines()
    seed = re.fullmatch(r"seed (\d+) \(pass --seed \1 to repeat this run\)", seed_line)[1]
    assert summary.startswith("iteration 2: 2 iterations in ") and saved == f"saved {path}"
    assert trains(capsys, INPUT, *flags, "--seed", seed)[0] == out


ONE_TEXT = "; TEXT is the one argument without a flag: give a checkpoint as --checkpoint PATH"
FLAG_MISTAKES = {  # the arguments, and words of the line that refuses them
    "--hidden-size 0": ("--hidden-size=0", "'0' is not a whole number from 1 to 100000"),
    "--seq-length 1.5": ("--seq-length=1.5", "'1.5' is not a whole number of at least 1"),
    "--learning-rate nan": ("--learning-rate=nan", "'nan' is not a finite number above 0"),
    "--temperature -0.1": ("--temperature=-0.1", "'-0.1' is not a finite number above 0"),
    "--seed 2**32": ("--seed=4294967296", "is not a whole number from 0 to 2**32-1"),
    "--resume alone": ("--resume", "--resume needs --checkpoint"),
    "a checkpoint path ending in /": ("--checkpoint models/", "needs a file name"),
    "--prime when training": ("--prime The", "--prime and --temperature go with"),
    "--max-iters when sampling": ("--checkpoint m.npz --sample-only --max-iters 5", "not --sample"),
    "a text when sampling": ("t.txt --checkpoint m.npz --sample-only", "--sample-only reads no"),
    "a checkpoint first": ("model.npz input.txt", f"arguments: input.txt{ONE_TEXT}"),
    "--resume with a text": ("input.txt --resume model.npz", f"arguments: model.npz{ONE_TEXT}"),
}


@pytest.mark.parametrize("args,words", FLAG_MISTAKES.values(), ids=FLAG_MISTAKES.keys())
def test_flags_that_are_wrong_or_do_not_go_together_get_one_line(capsys, args, words):
    status, out, err = run_main(capsys, *args.split(" "))
    one_error_line(status, err, words, code=2)
    assert out == ""


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory, whole_run):
    """A folder of texts and checkpoints, good and bad, for runs that are to refuse them."""
    class Trap:  # unpickled, it would create a file `trap`, which the tests would see
        def __reduce__(self):
            return open, ("trap", "w")

    folder = tmp_path_factory.mktemp("mistakes")
    (folder / "short.txt").write_text(SHORT_TEXT, encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "six.txt").write_bytes(b"abcabc")
    (folder / "latin1.txt").write_bytes("na\xefve caf\xe9".encode("latin-1"))
    (folder / "other.txt").write_text(SHORT_TEXT.replace("c", "k"), encoding="utf-8")
    (folder / "folder").mkdir()
    (folder / "text.npz").write_text(SHORT_TEXT, encoding="utf-8")
    with zipfile.ZipFile(folder / "document.npz", "w") as document:  # as a .docx is
        document.writestr("word/document.xml", "<w:document/>")
    (folder / "truncated.npz").write_bytes(FORMAT_1.read_bytes()[:3000])
    arrays = npz_arrays(whole_run[1] / "m.npz")
    np.savez(folder / "model.npz", **arrays)
    np.savez(folder / "pickled.npz", **dict(arrays, vocab=np.array([Trap()])))
    np.savez(folder / "foreign.npz", w=np.ones(3))
    np.savez(folder / "shape.npz", **dict(arrays, Whh=np.zeros((5, 8))))
    # complex weights: numpy warns (every version) that taking them as floats drops a part
    np.savez(folder / "complex.npz", **dict(arrays, Wxh=arrays["Wxh"] * (1 + 1j)))
    return folder


RESUME = "short.txt --checkpoint model.npz --resume"
MISTAKES = {  # a run's arguments after a good run's flags, and words of the line refusing them
    "a missing text": ("nowhere.txt", ["cannot read nowhere.txt: No such file"]),
    "a folder as the text": ("folder", ["cannot read folder: Is a directory"]),
    "a text not UTF-8": ("latin1.txt", ["latin1.txt is not UTF-8", "0xef"]),
    "a checkpoint as the text": ("model.npz", ["is a checkpoint", "as --checkpoint model.npz"]),
    "an empty text": ("empty.txt", ["empty.txt has 0 characters;", "seq_length + 1 = 7"]),
    "a text one short of a chunk": ("six.txt", ["six.txt has 6 characters;", "--seq-length"]),
    "a name that breaks a line": ("a\nb\rc\x1b[31md\u202ee", ["a\\nb\\rc\\x1b[31md\\u202ee"]),
    "saving in a missing folder": ("short.txt --checkpoint new/m.npz", ["save new/m.npz: No such"]),
    "a fresh run on /dev/null": ("short.txt --checkpoint /dev/null", ["/dev/null is there"]),
    "a fresh run on a text": ("short.txt --checkpoint short.txt", ["short.txt is there"]),
    "a fresh run on a checkpoint": ("short.txt --checkpoint model.npz", ["exists", "--resume"]),
    "--hidden-size 13": (f"{RESUME} --hidden-size 13", ["13 contradicts the checkpoint's 8"]),
    "--seq-length 7": (f"{RESUME} --seq-length 7", ["--seq-length 7 contradicts"]),
    "--learning-rate 0.1": (f"{RESUME} --learning-rate 0.1", ["0.1 contradicts"]),
    "--seed 5": (f"{RESUME} --seed 5", ["--seed 5 contradicts"]),
    "other characters": ("other.txt --checkpoint model.npz --resume", ["new: 'k'; absent: 'c'"]),
}


@pytest.mark.parametrize("args,words", MISTAKES.values(), ids=MISTAKES.keys())
def test_a_run_refuses_a_text_or_checkpoint_it_cannot_use_in_one_line_before_it_trains(
        mistakes, capsys, monkeypatch, args, words):
    monkeypatch.chdir(mistakes)
    before = files(mistakes)
    flags = [*SEED, *SMALL, *BOUND, "--checkpoint", "new.npz"]
    status, out, err = run_main(capsys, *flags, *args.split(" "))
    one_error_line(status, err, *words)
    assert "\n----" not in out and files(mistakes) == before


NOT_AN_NPZ = "is not a min-char-rnn checkpoint: it is not an .npz file"
UNUSABLE = "is not a usable min-char-rnn checkpoint: "
BAD_CHECKPOINTS = {  # a checkpoint in the folder of mistakes, and words of the line refusing it
    "missing.npz": ["no checkpoint at missing.npz"],
    "folder": [NOT_AN_NPZ],
    "text.npz": [NOT_AN_NPZ],
    "document.npz": [NOT_AN_NPZ],
    "truncated.npz": [UNUSABLE],
    "pickled.npz": [UNUSABLE, "allow_pickle"],
    "foreign.npz": [UNUSABLE, "lacks the entries 'hidden_size', ", "and 20 more"],
    "shape.npz": [UNUSABLE, "Whh has the shape"],
    "complex.npz": [UNUSABLE, "imaginary part"],
}


@pytest.mark.parametrize("how", [["--sample-only"], ["short.txt", "--resume", *BOUND]],
                         ids=["sampling", "resuming"])
@pytest.mark.parametrize("name,words", BAD_CHECKPOINTS.items(), ids=BAD_CHECKPOINTS.keys())
def test_a_bad_checkpoint_gets_one_line_and_is_left_as_it_is(
        mistakes, capsys, monkeypatch, how, name, words):
    monkeypatch.chdir(mistakes)
    before = files(mistakes)
    status, out, err = run_main(capsys, "--checkpoint", name, *how)
    one_error_line(status, err, name, *words)
    assert "\n----" not in out and files(mistakes) == before


def generated(capsys, model, *args, stdout=None):
    out = trains(capsys, "--checkpoint", model, "--sample-only", *args, stdout=stdout)[0]
    if stdout is not None:
        out = written(stdout)
    assert out.endswith("\n")
    return out[:-1]


def test_generation_repeats_by_seed_continues_the_prime_and_near_zero_temperature_is_greedy(
        model, capsys):
    """The prime is read from a zero state; the state after all but its last character, and
    its last character, are where sampling starts. A prime the model cannot read is refused."""
    first = generated(capsys, model, "--seed", 1, "--sample-length", 300)
    assert generated(capsys, model, "--seed", 1, "--sample-length", 300) == first
    assert generated(capsys, model, "--seed", 2, "--sample-length", 300) != first
    assert len(first) == 300 and set(first) <= set(SHORT_TEXT)
    assert len(generated(capsys, model, "--seed", 1, "--prime", "the")) == 3 + 30
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
    ix = char_to_ix[" "]
    greedy = ""
    for _ in range(60):
        h = np.tanh(Wxh[:, [ix]] + np.dot(Whh, h) + bh)
        ix = int(np.argmax(np.dot(Why, h) + by))
        greedy += ix_to_char[ix]
    for seed in (1, 2):
        assert generated(capsys, model, "--seed", seed, "--prime", "the rat ",
                         "--sample-length", 60, "--temperature", 1e-9) == "the rat " + greedy
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", "--prime", "Zoë")
    one_error_line(status, err, "--prime has characters the model does not know: 'Z', 'ë'")


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


def test_a_stdout_that_is_closed_or_cannot_be_written_gets_one_line_or_a_quiet_end(
        model, tmp_path, short_text, capsys, monkeypatch):
    """Closed (>&-: Python has no sys.stdout): refused before anything is done. A sample whose
    reader went away (| head -1): the reader has what it asked for. A full disk: one line."""
    monkeypatch.setattr(sys, "stdout", None)
    status, out, err = run_main(capsys, short_text, *SEED, *BOUND, "--checkpoint",
                                tmp_path / "m.npz")
    one_error_line(status, err, "stdout is closed")
    assert list(files(tmp_path)) == ["model.npz", "short.txt"]
    read, write = os.pipe()
    os.close(read)
    with open(write, "w", encoding="utf-8") as pipe:
        status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", *SEED,
                                    stdout=pipe)
    assert status == 1 and err == ""
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", *SEED,
                                stdout=FullDisk())
    one_error_line(status, err, "cannot write to stdout", os.strerror(errno.ENOSPC))
