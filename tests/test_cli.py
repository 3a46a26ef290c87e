"""The command line end to end, and one clear line for every mistake."""
import math
import os
import re
import signal

import numpy as np
import pytest

from conftest import INPUT, ROOT, interfering, npz_arrays, run_main, run_script


def test_a_run_end_to_end():
    result = run_script(INPUT, "--seed", 1, "--max-iters", 101, "--hidden-size", 20)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "data has 37809 characters, 61 unique."
    assert lines[1] == "----" and lines[-1].startswith("iter 100, loss: ")
    assert [line for line in lines if line.startswith("iter ")] == [
        lines[lines.index("----", 2) + 1], lines[-1]]
    assert re.fullmatch(r"iter 0, loss: \d+\.\d{6}", lines[lines.index("----", 2) + 1])
    summary = result.stderr.splitlines()
    assert len(summary) == 1
    match = re.fullmatch(r"iteration 101: 101 iterations in [\d.]+ s \(\d+ it/s\), "
                         r"smooth loss ([\d.]+) \(([\d.]+) bits/char\)", summary[0])
    loss = float(lines[-1].split()[-1])
    assert float(match[1]) == pytest.approx(loss, abs=1e-4)
    assert float(match[2]) == pytest.approx(loss / 25 / math.log(2), abs=1e-3)


def test_input_txt_is_the_default_text(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert run_main(capsys, "--seed", 5, "--max-iters", 1, "--hidden-size", 8)[1] \
        == run_main(capsys, INPUT, "--seed", 5, "--max-iters", 1, "--hidden-size", 8)[1]


def test_without_a_seed_the_run_says_which_it_drew(capsys):
    status, out, err = run_main(capsys, INPUT, "--max-iters", 101, "--hidden-size", 10)
    assert status == 0
    match = re.fullmatch(r"seed (\d+) \(pass --seed \1 to repeat this run\)", err.splitlines()[0])
    assert run_main(capsys, INPUT, "--max-iters", 101, "--hidden-size", 10, "--seed",
                    match[1])[1] == out


@pytest.fixture
def texts(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "one.txt").write_bytes(b"a")
    (tmp_path / "25.txt").write_bytes(b"x" * 25)
    (tmp_path / "latin1.txt").write_bytes("na\xefve caf\xe9".encode("latin-1"))
    (tmp_path / "folder").mkdir()
    return tmp_path


TEXT_MISTAKES = {
    "missing": ("nowhere.txt", "cannot read {tmp}/nowhere.txt: No such file or directory"),
    "a directory": ("folder", "cannot read {tmp}/folder: Is a directory"),
    "a file taken for a folder": ("one.txt/x", "cannot read {tmp}/one.txt/x: Not a directory"),
    "empty": ("empty.txt", "empty.txt is empty; give a text with characters"),
    "one character": ("one.txt", "one.txt has 1 characters; training needs at least seq_length "
                                 "+ 1 = 26: use a longer text or a smaller --seq-length"),
    "one short of a chunk": ("25.txt", "25.txt has 25 characters; training needs at least "
                                       "seq_length + 1 = 26"),
    "not UTF-8": ("latin1.txt", "latin1.txt is not UTF-8 text (byte 0xef at offset 2); "
                                "convert it to UTF-8 first"),
}


@pytest.mark.parametrize("name,message", TEXT_MISTAKES.values(), ids=TEXT_MISTAKES.keys())
def test_a_bad_text_gets_one_line(texts, capsys, name, message):
    status, out, err = run_main(capsys, texts / name)
    assert status == 1 and "----" not in out  # at most the "data has" line
    assert len(err.splitlines()) == 1
    assert err.startswith("min_char_rnn.py: error: ")
    assert message.format(tmp=texts) in err


def test_the_shortest_text_trains(texts, capsys):
    (texts / "26.txt").write_bytes(b"ab" * 13)
    status, out, err = run_main(capsys, texts / "26.txt", "--seed", 0, "--max-iters", 3)
    assert status == 0 and out.startswith("data has 26 characters, 2 unique.")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_text(texts, capsys):
    (texts / "one.txt").chmod(0)
    status, out, err = run_main(capsys, texts / "one.txt")
    assert status == 1 and "cannot read" in err and "Permission denied" in err


WHOLE = ["--hidden-size", "--seq-length", "--max-iters", "--save-every"]
POSITIVE = ["--learning-rate", "--temperature"]
FLAG_MISTAKES = (
    [(flag, value, "is not a whole number of at least 1")
     for flag in WHOLE for value in ["0", "-3", "nan", "inf", "1.5", "ten"]]
    + [(flag, value, "is not a finite number above 0")
       for flag in POSITIVE for value in ["0", "-0.1", "nan", "inf", "-inf", "fast"]]
    + [("--sample-length", value, "is not a whole number from 1 to 1000000")
       for value in ["0", "1000001", "nan", "1.5"]]
    + [("--seed", value, "is not a whole number from 0 to 2**32-1")
       for value in ["-1", str(2**32), "nan", "seven"]]
)


@pytest.mark.parametrize("flag,value,message", FLAG_MISTAKES)
def test_a_bad_number_gets_one_line(capsys, flag, value, message):
    status, out, err = run_main(capsys, f"{flag}={value}")
    assert status == 2 and out == ""
    assert err == f"min_char_rnn.py: error: argument {flag}: {value!r} {message}\n"


COMBINATIONS = {
    "--resume alone": (["--resume"], "--resume needs --checkpoint PATH"),
    "--sample-only alone": (["--sample-only"], "--sample-only needs --checkpoint PATH"),
    "both": (["--checkpoint", "m.npz", "--resume", "--sample-only"],
             "--resume trains, --sample-only generates"),
    "--prime when training": (["--prime", "The"],
                              "--prime and --temperature go with --sample-only"),
    "--temperature when training": (["--temperature", "0.5"],
                                    "--prime and --temperature go with --sample-only"),
    **{f"{flag} when sampling": (["--checkpoint", "m.npz", "--sample-only", flag, "5"],
                                 "--hidden-size, --seq-length, --learning-rate, --max-iters and "
                                 "--save-every are for training, not --sample-only")
       for flag in ["--hidden-size", "--seq-length", "--learning-rate", "--max-iters",
                    "--save-every"]},
    "an empty checkpoint path": (["--checkpoint", ""],
                                 "--checkpoint needs a file name, such as model.npz"),
    "--save-every without a checkpoint": (["--save-every", "10"],
                                          "--save-every needs --checkpoint PATH"),
    "a text when sampling": (["input.txt", "--checkpoint", "m.npz", "--sample-only"],
                             "--sample-only reads no TEXT: leave it out"),
}


@pytest.mark.parametrize("args,message", COMBINATIONS.values(), ids=COMBINATIONS.keys())
def test_flags_that_do_not_go_together(capsys, args, message):
    status, out, err = run_main(capsys, *args)
    assert status == 2 and out == ""
    assert err == f"min_char_rnn.py: error: {message}\n"


def test_a_blow_up_stops_at_once_and_leaves_the_checkpoint_as_it_was(capsys, tmp_path):
    path = tmp_path / "m.npz"
    args = [INPUT, "--seed", 0, "--hidden-size", 20, "--checkpoint", path]
    assert run_main(capsys, *args, "--learning-rate", 1e6, "--max-iters", 1)[0] == 0
    before = path.read_bytes()
    resume = [INPUT, "--checkpoint", path, "--resume", "--max-iters", 1000, "--save-every", 1]
    status, out, err = run_main(capsys, *resume)
    assert status == 1 and "Traceback" not in err and "Warning" not in err
    assert err == (f"resuming {path} at iteration 1\nmin_char_rnn.py: error: training diverged at "
                   f"iteration 1: a number overflowed or became NaN; {path} keeps iteration 1. "
                   "Start again with a smaller --learning-rate than 1e+06\n")
    assert path.read_bytes() == before


def test_a_blow_up_after_a_save_names_that_save(capsys, tmp_path):
    """A checkpoint of iteration 20 whose learning rate is then set to 1e4: one step sends
    the logits to about 1e5, and iteration 21 overflows, on any machine."""
    path = tmp_path / "m.npz"
    args = [INPUT, "--hidden-size", 20, "--checkpoint", path]
    assert run_main(capsys, *args, "--seed", 0, "--max-iters", 20)[0] == 0
    np.savez(path, **dict(npz_arrays(path), learning_rate=np.array(1e4)))
    status, out, err = run_main(capsys, *args, "--resume", "--save-every", 5)
    assert status == 1
    assert err.splitlines()[-1] == (f"min_char_rnn.py: error: training diverged at iteration 21: "
                                    f"a number overflowed or became NaN; {path} keeps iteration "
                                    "20. Start again with a smaller --learning-rate than 10000")
    assert npz_arrays(path)["n"] == 20


def test_a_fresh_run_that_blows_up_writes_no_checkpoint(capsys, tmp_path):
    path = tmp_path / "m.npz"
    status, out, err = run_main(capsys, INPUT, "--learning-rate", 1e6, "--hidden-size", 20,
                                "--checkpoint", path, "--max-iters", 1000)
    assert status == 1
    assert "training diverged at iteration 1: a number overflowed or became NaN; nothing saved" in err
    assert not path.exists()


def test_a_blow_up_without_a_checkpoint(capsys):
    status, out, err = run_main(capsys, INPUT, "--learning-rate", 1e6, "--hidden-size", 20,
                                "--max-iters", 1000)
    assert status == 1
    assert err.splitlines()[-1] == ("min_char_rnn.py: error: training diverged at iteration 1: a "
                                    "number overflowed or became NaN. Start again with a smaller "
                                    "--learning-rate than 1e+06")


def test_ctrl_c_without_a_checkpoint_says_nothing_was_saved(capsys, monkeypatch):
    interfering(monkeypatch, 5, lambda: os.kill(os.getpid(), signal.SIGINT))
    status, out, err = run_main(capsys, INPUT, "--hidden-size", 10)
    assert status == 130
    lines = err.splitlines()
    assert lines[0].startswith("seed ") and lines[1].startswith("iteration 6: 6 iterations")
    assert lines[2] == "interrupted at iteration 6: nothing saved (use --checkpoint to keep the " \
                       "model)"
