"""The command line in this process: what a run says, one clear line for every mistake,
generation, stdout that is a terminal, a full disk, closed or no file at all."""
import errno
import io
import os
import re
import resource
import signal
import sys
import time
import zipfile

import numpy as np
import pytest

import min_char_rnn
from conftest import (BOUND, FORMAT_1, INPUT, ROOT, SHORT_TEXT, SMALL, captured_main, interfering,
                      leftovers, npz_arrays, one_error_line, run_main)
from min_char_rnn import PARAMS, char_maps, load_checkpoint

SEED = ["--seed", 9]


def trains(capsys, *args):
    status, out, err = run_main(capsys, *args)
    assert status == 0, err
    return out, err


# What a run says

def clock(seconds):
    """A time.perf_counter for which the run between its first and second reading takes
    seconds."""
    readings = []

    def perf_counter():
        readings.append(None)
        return 1000.0 + seconds * (len(readings) > 1)
    return perf_counter


SUMMARY = re.compile(r"iteration (\d+): (\d+ iterations?) in (\d+\.\d) s \(([^)]*)\), "
                     r"smooth loss (\d+\.\d{4}) \((\d+\.\d{3}) bits/char\)")


@pytest.mark.parametrize("iters,seconds,count,rate", [
    (1, 2.5, "1 iteration", "2.5 s/it"),
    (2, 3.0, "2 iterations", "1.5 s/it"),
    (1, 0.5, "1 iteration", "2 it/s"),
    (3, 0.01, "3 iterations", "300 it/s"),
])
def test_the_summary_says_iterations_time_rate_and_loss(tmp_path, short_text, capsys,
                                                        monkeypatch, iters, seconds, count, rate):
    """One iteration is singular; a rate below one a second is given in seconds an
    iteration, never as 0 it/s. Then what was saved."""
    monkeypatch.setattr(time, "perf_counter", clock(seconds))
    path = tmp_path / "m.npz"
    out, err = trains(capsys, short_text, *SEED, *SMALL, "--max-iters", iters,
                      "--checkpoint", path)
    summary, saved = err.splitlines()
    match = SUMMARY.fullmatch(summary)
    assert match and match[1] == str(iters) and match[2] == count and match[4] == rate, summary
    assert match[3] == f"{seconds:.1f}"
    loss = npz_arrays(path)["smooth_loss"]
    assert float(match[5]) == pytest.approx(loss, abs=1e-4)
    assert float(match[6]) == pytest.approx(loss / 6 / np.log(2), abs=1e-3)
    assert saved == f"saved {path}"


def test_without_a_checkpoint_the_summary_is_all_it_says(short_text, capsys):
    out, err = trains(capsys, short_text, *SEED, *SMALL, "--max-iters", 3)
    assert SUMMARY.fullmatch(err.rstrip("\n"))
    assert out.startswith("data has 48 characters, 14 unique.\n----\n")


def test_without_a_seed_the_run_says_which_it_drew(short_text, capsys):
    out, err = trains(capsys, short_text, *SMALL, "--max-iters", 2)
    match = re.fullmatch(r"seed (\d+) \(pass --seed \1 to repeat this run\)", err.splitlines()[0])
    assert match
    assert trains(capsys, short_text, *SMALL, "--max-iters", 2, "--seed", match[1])[0] == out


def test_input_txt_is_the_default_text(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = [*SEED, "--max-iters", 1, "--hidden-size", 8, "--sample-length", 10]
    assert trains(capsys, *args)[0] == trains(capsys, INPUT, *args)[0]


# A text that cannot be trained on

def make_texts(folder):
    (folder / "empty.txt").write_bytes(b"")
    (folder / "one.txt").write_bytes(b"a")
    (folder / "six.txt").write_bytes(b"abcabc")
    (folder / "latin1.txt").write_bytes("na\xefve caf\xe9".encode("latin-1"))
    (folder / "model.npz").write_bytes(FORMAT_1.read_bytes())
    with zipfile.ZipFile(folder / "notes.docx", "w") as document:  # a zip, as .docx and .epub are
        document.writestr("[Content_Types].xml", "<Types/>")
    (folder / "folder").mkdir()


TEXT_MISTAKES = {  # the text, and words of the line that refuses it
    "missing": ("nowhere.txt", ["cannot read {tmp}/nowhere.txt"]),
    "a folder": ("folder", ["cannot read {tmp}/folder"]),
    "a file taken for a folder": ("one.txt/x", ["cannot read {tmp}/one.txt/x"]),
    "not UTF-8": ("latin1.txt", ["{tmp}/latin1.txt is not UTF-8", "0xef"]),
    "a checkpoint": ("model.npz", ["{tmp}/model.npz is a checkpoint",
                                   "--checkpoint {tmp}/model.npz"]),
    "a zip that is no checkpoint": ("notes.docx", ["{tmp}/notes.docx is not UTF-8"]),
    "empty": ("empty.txt", ["{tmp}/empty.txt has 0 characters"]),
    "one character": ("one.txt", ["{tmp}/one.txt has 1 character;", "seq_length + 1 = 7",
                                  "--seq-length"]),
    "one short of a chunk": ("six.txt", ["{tmp}/six.txt has 6 characters;",
                                         "seq_length + 1 = 7"]),
}


@pytest.mark.parametrize("name,words", TEXT_MISTAKES.values(), ids=TEXT_MISTAKES.keys())
def test_a_text_that_cannot_be_trained_on_gets_one_line(tmp_path, capsys, name, words):
    make_texts(tmp_path)
    status, out, err = run_main(capsys, tmp_path / name, *SEED, *SMALL, *BOUND,
                                "--checkpoint", tmp_path / "new.npz")
    one_error_line(status, err, *(w.format(tmp=tmp_path) for w in words))
    assert "\n----" not in out and not (tmp_path / "new.npz").exists()
    assert leftovers(tmp_path) == []


def test_the_shortest_text_trains(tmp_path, capsys):
    (tmp_path / "seven.txt").write_bytes(b"abcabca")
    out, err = trains(capsys, tmp_path / "seven.txt", *SEED, *SMALL, "--max-iters", 3)
    assert out.startswith("data has 7 characters, 3 unique.")


def test_an_endless_text_is_read_up_to_a_bound(capsys, monkeypatch):
    """/dev/zero never ends: at most 2**28 characters are read (here the bound is made
    1000, to be quick), and the line says so."""
    assert min_char_rnn.read_data.__defaults__ == (2**28,)
    monkeypatch.setattr(min_char_rnn.read_data, "__defaults__", (1000,))
    status, out, err = run_main(capsys, "/dev/zero")
    one_error_line(status, err, "/dev/zero has more than 1,000 characters")
    assert out == ""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc/self/status")
def test_a_short_text_trains_under_a_memory_limit(tmp_path, capsys):
    """A text of 500 Chinese characters, in a process that may map 64 MB more than it has:
    reading it takes memory of its size, not of the bound on a text's length."""
    (tmp_path / "zh.txt").write_text("你好世界。" * 100, encoding="utf-8")
    with open("/proc/self/status") as f:
        mapped = int(re.search(r"VmSize:\s*(\d+) kB", f.read())[1]) * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (mapped + 64 * 2**20, hard))
    try:
        status, out, err = run_main(capsys, tmp_path / "zh.txt", *SEED, *SMALL, "--max-iters", 2)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert status == 0, err


# Flags

WHOLE_FLAGS = ["--hidden-size", "--seq-length", "--max-iters", "--save-every"]
FLAG_MISTAKES = (
    [(flag, "0", "whole number") for flag in WHOLE_FLAGS]
    + [("--hidden-size", value, "whole number") for value in ["-3", "1.5", "ten"]]
    + [("--hidden-size", value, "from 1 to 100000") for value in ["100001", str(10**17)]]
    + [("--learning-rate", value, "finite number above 0") for value in ["0", "nan", "inf"]]
    + [("--temperature", "-0.1", "finite number above 0")]
    + [("--sample-length", "1000001", "from 1 to 1000000")]
    + [("--seed", value, "from 0 to 2**32-1") for value in ["-1", str(2**32)]]
)


@pytest.mark.parametrize("flag,value,words", FLAG_MISTAKES)
def test_a_bad_number_gets_one_line(capsys, flag, value, words):
    status, out, err = run_main(capsys, f"{flag}={value}")
    one_error_line(status, err, f"argument {flag}: {value!r} is not ", words, code=2)
    assert out == ""


COMBINATIONS = {
    "--resume alone": (["--resume"], "--resume needs --checkpoint"),
    "--sample-only alone": (["--sample-only"], "--sample-only needs --checkpoint"),
    "both": (["--checkpoint", "m.npz", "--resume", "--sample-only"], "--sample-only"),
    "--prime when training": (["--prime", "The"], "--prime and --temperature"),
    "--temperature when training": (["--temperature", "0.5"], "--prime and --temperature"),
    **{f"{flag} when sampling": (["--checkpoint", "m.npz", "--sample-only", flag, "5"],
                                 "not --sample-only")
       for flag in ["--hidden-size", "--max-iters"]},
    "an empty checkpoint path": (["--checkpoint", ""], "--checkpoint needs a file name"),
    "--save-every without a checkpoint": (["--save-every", "10"], "--save-every needs "
                                                                  "--checkpoint"),
    "a text when sampling": (["input.txt", "--checkpoint", "m.npz", "--sample-only"],
                             "--sample-only reads no TEXT"),
}


@pytest.mark.parametrize("args,words", COMBINATIONS.values(), ids=COMBINATIONS.keys())
def test_flags_that_do_not_go_together(capsys, args, words):
    status, out, err = run_main(capsys, *args)
    one_error_line(status, err, words, code=2)
    assert out == ""


# Generation

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    (folder / "short.txt").write_text(SHORT_TEXT, encoding="utf-8")
    status, out, err = captured_main(folder / "short.txt", "--seed", 4, "--hidden-size", 12,
                                     "--seq-length", 6, "--learning-rate", 0.05,
                                     "--sample-length", 40, "--max-iters", 150,
                                     "--checkpoint", folder / "model.npz")
    assert status == 0, err
    return folder / "model.npz"


@pytest.fixture
def model(tmp_path, trained):
    """A checkpoint trained a little on the short text, with samples of 40 characters."""
    path = tmp_path / "model.npz"
    path.write_bytes(trained.read_bytes())
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
    assert len(first) == 300 and set(first) <= set(SHORT_TEXT)


def test_generation_is_as_long_as_the_checkpoints_samples_unless_told(model, capsys):
    assert len(generated(capsys, model, "--seed", 1)) == 40
    assert len(generated(capsys, model, "--seed", 1, "--prime", "the")) == 3 + 40
    assert len(generated(capsys, model, "--seed", 1, "--sample-length", 7)) == 7


def test_generation_without_a_seed_says_the_one_it_drew(model, capsys):
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only")
    match = re.fullmatch(r"seed (\d+) \(pass --seed \1 to repeat this sample\)\n", err)
    assert status == 0 and match
    assert generated(capsys, model, "--seed", match[1]) + "\n" == out


def read_through(state, text):
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
    ixes = min_char_rnn.sample(read_through(state, prime[:-1]), char_to_ix[" "], 100, params,
                               np.random.RandomState(8), temperature=1.0)
    assert generated(capsys, model, "--seed", 8, "--sample-length", 100, "--prime", prime) \
        == prime + "".join(ix_to_char[ix] for ix in ixes)


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


def test_a_prime_outside_the_vocabulary_is_named(model, capsys):
    status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", "--prime", "Zoë")
    one_error_line(status, err, "--prime", "'Z', 'ë'")
    assert out == ""


@pytest.mark.parametrize("prime", ["", "the cat"], ids=["no prime", "a prime"])
def test_weights_too_large_to_compute_with_get_one_line(model, tmp_path, capsys, prime):
    """Finite weights that a checkpoint may hold, but whose products overflow on any CPU: bh
    of 1e308 holds every state at 1, and Why of 1e308 makes every logit infinite."""
    arrays = npz_arrays(model)
    arrays["bh"], arrays["Why"] = (np.full_like(arrays[k], 1e308) for k in ("bh", "Why"))
    np.savez(tmp_path / "big.npz", **arrays)
    status, out, err = run_main(capsys, "--checkpoint", tmp_path / "big.npz", "--sample-only",
                                "--seed", 1, "--prime", prime)
    one_error_line(status, err, f"{tmp_path / 'big.npz'}", "too large to compute with")
    assert out == ""


# Training that diverges, memory that runs out, Ctrl-C

def test_a_diverging_run_names_the_iteration_and_what_the_checkpoint_keeps(tmp_path, short_text,
                                                                          capsys):
    """A learning rate of 1e4 overflows within a couple of iterations, on any machine."""
    path = tmp_path / "m.npz"
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, "--seed", 0, *SMALL[:4],
                                "--learning-rate", 1e4, "--save-every", 1, *BOUND)
    kept = int(npz_arrays(path)["n"])
    one_error_line(status, err, f"{path} keeps iteration {kept}", "--learning-rate")
    diverged = int(re.search(r"diverged at iteration (\d+)", err)[1])
    assert diverged in (kept, kept + 1) and leftovers(tmp_path) == []
    status, out, err = run_main(capsys, short_text, "--seed", 0, "--learning-rate", 1e4,
                                *BOUND)
    one_error_line(status, err, "diverged at iteration")
    assert "keeps" not in err


def test_a_nan_that_raised_no_flag_is_never_saved(tmp_path, short_text, capsys, monkeypatch):
    """A matrix product can make a NaN without a floating-point flag (inf - inf inside BLAS):
    here a weight turns NaN in the 8th iteration. The save after it refuses what a load would
    refuse, and the checkpoint keeps the 7 before it, loadable."""
    path, real, calls = tmp_path / "m.npz", min_char_rnn.lossFun, []

    def lossFun(inputs, targets, hprev, params):
        calls.append(1)
        if len(calls) == 8:
            params[2][0, 0] = np.nan  # Why, in place, as the product would have left it
        return real(inputs, targets, hprev, params)
    monkeypatch.setattr(min_char_rnn, "lossFun", lossFun)
    status, out, err = run_main(capsys, short_text, "--checkpoint", path, *SEED, *SMALL,
                                "--save-every", 1, *BOUND)
    one_error_line(status, err, "diverged at iteration 8", f"{path} keeps iteration 7")
    assert npz_arrays(path)["n"] == 7 and load_checkpoint(path)["n"] == 7


def test_running_out_of_memory_while_training_names_what_to_make_smaller(tmp_path, short_text,
                                                                        capsys, monkeypatch):
    """As numpy raises it when an array cannot be had (tests/test_edges.py runs out for real)."""
    def no_memory():
        raise MemoryError
    interfering(monkeypatch, 3, no_memory)
    status, out, err = run_main(capsys, short_text, *SEED, *SMALL, *BOUND, "--checkpoint",
                                tmp_path / "m.npz")
    one_error_line(status, err, "out of memory", "--seq-length")


def test_ctrl_c_before_training_ends_the_run_at_once(tmp_path, short_text, capsys, monkeypatch):
    """While the text is read: Python's KeyboardInterrupt, said in one line; nothing saved."""
    real = min_char_rnn.read_text

    def read_text(path):
        os.kill(os.getpid(), signal.SIGINT)
        return real(path)
    monkeypatch.setattr(min_char_rnn, "read_text", read_text)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal,
    try:  # also where pytest was started with SIGINT ignored (`... &` in a script)
        status, out, err = run_main(capsys, short_text, *SEED, *BOUND, "--checkpoint",
                                    tmp_path / "m.npz")
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt went through main()")
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert (status, err) == (130, "min_char_rnn.py: interrupted\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.txt"]


def test_ctrl_c_while_training_without_a_checkpoint_says_nothing_was_saved(short_text, capsys,
                                                                          monkeypatch):
    interfering(monkeypatch, 5, lambda: os.kill(os.getpid(), signal.SIGINT))
    status, out, err = run_main(capsys, short_text, *SEED, *SMALL, *BOUND)
    assert status == 130
    summary, stop = err.splitlines()
    assert summary.startswith("iteration 6: 6 iterations in ")
    assert stop.startswith("stopped at iteration 6; ") and "nothing saved" in stop


def test_messages_show_control_characters_as_escapes(tmp_path, capsys):
    """One line means one line, whatever a path holds."""
    name = "a\nb\rc\x1b[31md\u202ee"
    status, out, err = run_main(capsys, tmp_path / name)
    one_error_line(status, err, "a\\nb\\rc\\x1b[31md\\u202ee")


# stdout

class Terminal(io.TextIOWrapper):
    """What a terminal looks like to the script: a stream whose isatty() is true."""

    def isatty(self):
        return True


def written(stream):
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8")


def escaped(text):
    """text as a terminal is to show it: each character that is not printable, but a newline,
    as its escape."""
    return "".join(c if c.isprintable() or c == "\n" else ascii(c)[1:-1] for c in text)


STEERING = "\x1b[31mred\x1b[0m and \rback, \u202eturned\u202c; a\tb\n" * 2


def test_on_a_terminal_samples_show_characters_that_steer_it_as_escapes(tmp_path, capsys,
                                                                       monkeypatch):
    """Into a pipe or a file the samples are written as they are; on a terminal an escape,
    a carriage return, a tab, a bidirectional control are shown as \\x1b, \\r, \\t, \\u202e."""
    (tmp_path / "steering.txt").write_text(STEERING, encoding="utf-8")
    args = [tmp_path / "steering.txt", *SEED, *SMALL[:4], "--sample-length", 200,
            "--max-iters", 1]
    raw = trains(capsys, *args, "--checkpoint", tmp_path / "m.npz")[0]
    assert "\x1b" in raw and "\r" in raw and "\u202e" in raw
    terminal = Terminal(io.BytesIO(), encoding="utf-8", newline="")
    monkeypatch.setattr(sys, "stdout", terminal)
    trains(capsys, *args)
    assert written(terminal) == escaped(raw)
    prime = "\x1b[31mred"
    terminal = Terminal(io.BytesIO(), encoding="utf-8", newline="")
    monkeypatch.setattr(sys, "stdout", terminal)
    trains(capsys, "--checkpoint", tmp_path / "m.npz", "--sample-only", "--prime", prime,
           *SEED)
    assert written(terminal).startswith("\\x1b[31mred")
    monkeypatch.undo()
    assert trains(capsys, "--checkpoint", tmp_path / "m.npz", "--sample-only", "--prime",
                  prime, *SEED)[0].startswith(prime)


def test_an_encoding_without_a_character_prints_its_escape(tmp_path, capsys, monkeypatch):
    (tmp_path / "café.txt").write_text("café au lait, " * 4, encoding="utf-8")
    trains(capsys, tmp_path / "café.txt", *SEED, *SMALL, "--max-iters", 1, "--checkpoint",
           tmp_path / "m.npz")
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii")  # as PYTHONIOENCODING=ascii has it
    monkeypatch.setattr(sys, "stdout", stdout)
    trains(capsys, "--checkpoint", tmp_path / "m.npz", "--sample-only", "--prime", "café", *SEED)
    assert written(stdout).startswith("caf\\xe9")


def test_a_closed_stdout_is_refused_before_anything_is_done(tmp_path, short_text, capsys,
                                                            monkeypatch):
    """Python has no sys.stdout when the script is started with stdout closed (>&-)."""
    monkeypatch.setattr(sys, "stdout", None)
    status, out, err = run_main(capsys, short_text, *SEED, *BOUND, "--checkpoint",
                                tmp_path / "m.npz")
    one_error_line(status, err, "stdout is closed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.txt"]


def test_a_full_disk_for_stdout_stops_the_run_which_saves(tmp_path, short_text, capsys,
                                                          monkeypatch):
    """> /dev/full: the first line cannot be written; the run stops after its first
    iteration, saves it and says why, and nothing more is printed."""
    path = tmp_path / "m.npz"
    with open("/dev/full", "w", encoding="utf-8") as full:
        monkeypatch.setattr(sys, "stdout", full)
        status, out, err = run_main(capsys, short_text, *SEED, *SMALL, *BOUND, "--checkpoint",
                                    path)
        monkeypatch.undo()
    assert status == 1 and "Traceback" not in err
    assert err.splitlines()[-1] == f"stdout: {os.strerror(errno.ENOSPC)}; stopped at " \
                                   f"iteration 1; saved {path}"
    assert npz_arrays(path)["n"] == 1


def test_a_full_disk_for_stdout_fails_a_sample(model, capsys, monkeypatch):
    """--sample-only > /dev/full: the sample is lost, and the exit status says so."""
    with open("/dev/full", "w", encoding="utf-8") as full:
        monkeypatch.setattr(sys, "stdout", full)
        status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", *SEED)
        monkeypatch.undo()
    one_error_line(status, err, "stdout", os.strerror(errno.ENOSPC))


def test_a_sample_cut_short_by_its_reader_ends_quietly(model, capsys, monkeypatch):
    """--sample-only | head -1: the reader has what it asked for; nothing to say but the status."""
    read, write = os.pipe()
    os.close(read)
    with open(write, "w", encoding="utf-8") as pipe:
        monkeypatch.setattr(sys, "stdout", pipe)
        status, out, err = run_main(capsys, "--checkpoint", model, "--sample-only", *SEED)
        monkeypatch.undo()
    assert status == 1 and err == ""


def test_a_stdout_that_is_no_file_still_gets_the_lines(short_text, capsys, monkeypatch):
    """IDLE, Jupyter and io.StringIO give sys.stdout objects that are text streams but not
    files: they have no fileno() and no reconfigure()."""
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    out, err = trains(capsys, short_text, *SEED, *SMALL, "--max-iters", 1)
    assert stdout.getvalue().startswith("data has 48 characters, 14 unique.\n----\n")
