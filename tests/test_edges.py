"""The hard edges: whatever a user or a file does ends in one line, a non-zero exit and
nothing lost, never a traceback, a warning, runaway memory or a checkpoint replaced."""
import io
import os
import resource
import signal
import stat
import subprocess
import threading
import sys

import numpy as np
import pytest

import min_char_rnn
from conftest import (INPUT, ROOT, SCRIPT, interfering, limit_memory, npz_arrays, run_main,
                      run_script, script_env, start_script)

TINY = ["--hidden-size", 8, "--seq-length", 10, "--seed", 1]


def one_error_line(result, message):
    """The process ended with status 1, its last line on stderr being the message."""
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1:] == [f"min_char_rnn.py: {message}"]
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr


@pytest.fixture
def resumable(tmp_path, capsys):
    """A checkpoint of iteration 3 on input.txt."""
    path = tmp_path / "m.npz"
    assert run_main(capsys, INPUT, *TINY, "--max-iters", 3, "--checkpoint", path)[0] == 0
    return path


# A model that overflows when it samples

@pytest.fixture(scope="module")
def diverged(tmp_path_factory):
    """The last checkpoint a diverging run saved: finite, but with weights that overflow (one
    step at a learning rate of 1e4 makes logits of about 1e5, on any machine)."""
    path = tmp_path_factory.mktemp("diverged") / "m.npz"
    status = min_char_rnn.main([str(INPUT), "--seed", "0", "--hidden-size", "20", "--max-iters",
                                "100", "--learning-rate", "1e4", "--checkpoint", str(path),
                                "--save-every", "1"])
    assert status == 1 and npz_arrays(path)["n"] == 1
    return path


def scaled(tmp_path, path, factor):
    arrays = npz_arrays(path)
    for k in ("Wxh", "Why", "by"):
        arrays[k] = arrays[k] * factor
    np.savez(tmp_path / "big.npz", **arrays)
    return tmp_path / "big.npz"


MODELS = {
    "the last save of a diverged run": lambda tmp_path, path: path,
    "weights near the largest allowed": lambda tmp_path, path: scaled(
        tmp_path, path, 1e99 / np.abs(npz_arrays(path)["Why"]).max()),
}


@pytest.mark.parametrize("temperature", ["1e-300", "1", "1e300"])
@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_generation_from_any_finite_model_is_safe(diverged, tmp_path, capsys, make, temperature):
    """Warnings are errors in this suite: an overflow would fail the test."""
    path = make(tmp_path, diverged)
    for prime in ["", "The "]:
        status, out, err = run_main(capsys, "--checkpoint", path, "--sample-only", "--seed", 2,
                                    "--temperature", temperature, "--prime", prime,
                                    "--sample-length", 100)
        assert (status, err, len(out)) == (0, "", len(prime) + 100 + 1)


# Memory

@pytest.mark.parametrize("flag,value", [("--hidden-size", 10**12), ("--hidden-size", 10**4),
                                        ("--seq-length", 10**7)])
def test_a_model_too_large_is_refused_before_anything_is_allocated(capsys, flag, value):
    """Memory that the kernel promises freely is not asked for: 10,000 neurons would take
    5.2 GiB of arrays, a chunk of ten million characters 14 GiB."""
    status, out, err = run_main(capsys, INPUT, flag, value)
    assert status == 1 and "\n----" not in out
    assert err.startswith("min_char_rnn.py: error: the model would need ")
    assert err.endswith(" GiB of arrays, more than 4 GiB; use a smaller --hidden-size or "
                        "--seq-length\n")


@pytest.fixture
def sparse_text(tmp_path):
    with open(tmp_path / "big.txt", "wb") as f:
        f.truncate(5 * 2**30)  # 5 GB that take no room on the disk
    return tmp_path / "big.txt"


@pytest.mark.parametrize("name", ["/dev/zero", "sparse"])
def test_a_text_larger_than_the_limit_is_refused(capsys, monkeypatch, sparse_text, name):
    monkeypatch.setattr(min_char_rnn, "MAX_TEXT_BYTES", 2**20)
    path = sparse_text if name == "sparse" else name
    status, out, err = run_main(capsys, path)
    assert (status, out) == (1, "")
    assert err == f"min_char_rnn.py: error: {path} is larger than 1 MiB, the most this script " \
                  "reads; use a part of it\n"


@pytest.mark.parametrize("limit,message", [
    (16, "/dev/zero is larger than 16 MiB, the most this script reads; use a part of it"),
    (None, "out of memory reading /dev/zero; use a part of it")], ids=["the limit", "memory"])
def test_an_endless_text_is_refused_in_bounded_memory(limit, message):
    """In a process that may map 200 MB, /dev/zero is read up to the limit (here 16 MiB),
    or, with the limit of 256 MiB, until memory runs out."""
    code = (f"import sys, min_char_rnn; min_char_rnn.MAX_TEXT_BYTES = {limit} * 2**20\n" * bool(limit)
            + "import sys, min_char_rnn; sys.exit(min_char_rnn.main(['/dev/zero']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=ROOT, preexec_fn=limit_memory(200))
    one_error_line(result, f"error: {message}")


def test_running_out_of_memory_while_training_gets_one_line(tmp_path):
    """A model within reason, on a machine with less memory than it needs."""
    one_error_line(run_script(INPUT, "--hidden-size", 8000, "--checkpoint", tmp_path / "m.npz",
                              preexec_fn=limit_memory(400)),
                   "error: out of memory; nothing saved; use a smaller --hidden-size or "
                   "--seq-length, or a text with fewer distinct characters")


def test_a_state_that_could_not_be_loaded_is_not_saved(tmp_path, capsys):
    """A learning rate of 1e200 throws the weights beyond what a checkpoint may hold."""
    path = tmp_path / "m.npz"
    status, out, err = run_main(capsys, INPUT, *TINY, "--learning-rate", 1e200, "--max-iters", 5,
                                "--checkpoint", path, "--save-every", 1)
    assert status == 1
    assert err.splitlines()[-1] == f"min_char_rnn.py: error: not saving {path}: a weight is " \
                                   "larger than 1e+100: too large to compute with; nothing saved"
    assert not path.exists()


def test_a_file_size_limit_leaves_the_checkpoint_whole(resumable, capsys):
    """Files may not grow past 10 kB: the save writes its temporary file and fails."""
    before = resumable.read_bytes()
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (10**4, old[1]))
    try:
        status, out, err = run_main(capsys, INPUT, "--checkpoint", resumable, "--resume",
                                    "--max-iters", 10)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
    assert status == 1
    assert err.splitlines()[-1] == f"min_char_rnn.py: error: cannot save {resumable}: File too " \
                                   f"large; {resumable} keeps iteration 3"
    assert resumable.read_bytes() == before
    assert sorted(p.name for p in resumable.parent.iterdir()) == ["m.npz", "m.npz.lock"]


# Output that cannot be written

def test_a_full_disk_for_stdout_stops_and_says_what_is_saved(resumable):
    with open("/dev/full", "w") as full:
        result = run_script(INPUT, "--checkpoint", resumable, "--resume", "--max-iters", 50,
                            stdout=full, stderr=subprocess.PIPE)
    one_error_line(result, f"cannot write to stdout (No space left on device); stopped; "
                           f"{resumable} is left as it was")


def test_a_closed_stdout_is_refused_before_anything_is_written(tmp_path):
    result = run_script(INPUT, *TINY, "--checkpoint", tmp_path / "m.npz", stdout=None,
                        stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1))
    one_error_line(result, "error: stdout is closed; give it a file or a pipe to print to")
    assert list(tmp_path.iterdir()) == []


def test_a_closed_pipe_stops_the_run_and_says_what_is_saved(resumable):
    proc = start_script(INPUT, "--checkpoint", resumable, "--resume")
    for _ in range(3):
        proc.stdout.readline()
    proc.stdout.close()  # as `| head -3` does
    err = proc.communicate(timeout=30)[1].decode()
    assert proc.returncode == 1 and "Traceback" not in err
    assert err.splitlines()[-1] == f"min_char_rnn.py: cannot write to stdout (it was closed); " \
                                   f"stopped; {resumable} keeps iteration 3"


def test_an_encoding_without_a_character_prints_its_escape(tmp_path, capsys, monkeypatch):
    text = tmp_path / "café.txt"
    text.write_text("café au lait, " * 10, encoding="utf-8")
    assert run_main(capsys, text, *TINY, "--max-iters", 1, "--checkpoint", tmp_path / "m.npz")[0] == 0
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii")  # as PYTHONIOENCODING=ascii has it
    monkeypatch.setattr(sys, "stdout", stdout)
    assert min_char_rnn.main(["--checkpoint", str(tmp_path / "m.npz"), "--sample-only",
                              "--prime", "caf", "--sample-length", "300"]) == 0
    assert capsys.readouterr().err.startswith("seed ")
    out = stdout.buffer.getvalue()
    assert out.startswith(b"caf") and b"\\xe9" in out and out.isascii()


def test_stdout_is_written_line_by_line_into_a_pipe(monkeypatch, capsys):
    """Into a pipe Python writes stdout a block at a time: the script has it write each line,
    so that its first lines are in the pipe before the second iteration begins."""
    read_end, write_end = os.pipe()
    with open(read_end, "rb", buffering=0) as pipe, open(write_end, "w") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)  # as Python opens it on a pipe
        os.set_blocking(read_end, False)
        seen = []  # what had reached the pipe as iteration 1 began
        interfering(monkeypatch, 1, lambda: seen.append(pipe.read()))
        assert min_char_rnn.main([str(INPUT), "--max-iters", "2", "--hidden-size", "8"]) == 0
        lines = seen[0].decode().split("\n")
    assert lines[:2] == ["data has 37809 characters, 61 unique.", "----"]
    assert lines[-2].startswith("iter 0, loss: ") and lines[-1] == ""


# The files it creates, and paths that cannot be saved to

PATHS = {
    "a missing folder": ("{tmp}/new/m.npz", "cannot save {tmp}/new/m.npz: No such file or "
                                            "directory"),
    "a missing folder with a slash": ("{tmp}/new/", "cannot save {tmp}/new/: No such file or "
                                                    "directory"),
    "an existing folder": ("{tmp}", "{tmp} is not a regular file (a link, a folder, a device?)"),
    "a device": ("/dev/null", "/dev/null is not a regular file (a link, a folder, a device?)"),
    "a file taken for a folder": (f"{INPUT}/m.npz", f"cannot save {INPUT}/m.npz: Not a "
                                                    "directory"),
    "a name too long": ("{tmp}/" + "m" * 252, "cannot save {tmp}/" + "m" * 252 + ": File name "
                                                                                 "too long"),
    "a folder no one may write": ("/sys/m.npz", "cannot save /sys/m.npz: Permission denied"),
}


@pytest.mark.parametrize("path,message", PATHS.values(), ids=PATHS.keys())
def test_a_checkpoint_path_that_cannot_be_saved_is_refused_before_training(tmp_path, capsys,
                                                                           path, message):
    status, out, err = run_main(capsys, INPUT, *TINY, "--max-iters", 5, "--checkpoint",
                                path.format(tmp=tmp_path))
    assert (status, out) == (1, "")
    assert err.startswith("min_char_rnn.py: error: " + message.format(tmp=tmp_path))
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


PLANTED = {f"a {kind} at {name}": (name, kind) for name in ("PATH.tmp", "PATH.lock")
           for kind in ("link", "FIFO")}


@pytest.mark.parametrize("name,kind", PLANTED.values(), ids=PLANTED.keys())
def test_what_is_planted_where_a_file_is_created_is_refused_at_once(tmp_path, capsys, name,
                                                                     kind):
    """Before training, never written through, never replaced: the user's file stays."""
    victim, planted = tmp_path / "victim.txt", tmp_path / name.replace("PATH", "m.npz")
    victim.write_text("the user's own file")
    planted.symlink_to(victim) if kind == "link" else os.mkfifo(planted)
    status, out, err = run_main(capsys, INPUT, *TINY, "--max-iters", 5, "--checkpoint",
                                tmp_path / "m.npz")
    assert (status, out) == (1, "") and err == f"min_char_rnn.py: error: {planted} is not a " \
        "regular file (a link, a folder, a device?); remove it or give another path\n"
    assert victim.read_text() == "the user's own file"
    assert planted.is_symlink() == (kind == "link") and not (tmp_path / "m.npz").exists()


def test_what_is_planted_during_a_run_is_refused_at_the_save(tmp_path, capsys, monkeypatch):
    """A FIFO put in the checkpoint's place while the run trains stays; the save stops."""
    path = tmp_path / "m.npz"
    interfering(monkeypatch, 3, lambda: (path.unlink(), os.mkfifo(path)))
    status, out, err = run_main(capsys, INPUT, *TINY, "--max-iters", 10, "--save-every", 2,
                                "--checkpoint", path)
    assert status == 1 and err.splitlines()[-1] == f"min_char_rnn.py: error: {path} is not a " \
        "regular file (a link, a folder, a device?); remove it or give another path"
    assert stat.S_ISFIFO(os.lstat(path).st_mode) and not os.path.lexists(f"{path}.tmp")


def test_two_runs_cannot_train_one_checkpoint_at_once(tmp_path, capsys, monkeypatch):
    """While a run trains m.npz, a second run of it, fresh or resumed, is refused at start."""
    path, second = tmp_path / "m.npz", []

    def start_another():
        for args in (["--resume"], TINY):
            second.append(min_char_rnn.main([str(INPUT), "--checkpoint", str(path), *map(str, args)]))
    interfering(monkeypatch, 5, start_another)
    status, out, err = run_main(capsys, INPUT, *TINY, "--max-iters", 20, "--checkpoint", path,
                                "--save-every", 10)
    assert status == 0 and second == [1, 1] and npz_arrays(path)["n"] == 20
    lines = err.splitlines()
    assert lines[:2] == [f"min_char_rnn.py: error: {path} is in use by another run; let it end, "
                         "or give another --checkpoint"] * 2
    assert run_main(capsys, INPUT, "--checkpoint", path, "--resume", "--max-iters", 25)[0] == 0


def test_messages_show_control_characters_escaped(tmp_path, capsys):
    """One line means one line, whatever a path holds."""
    name = "a\nb\rc\x1b[31md\u202ee"
    status, out, err = run_main(capsys, tmp_path / name)
    assert status == 1 and err.count("\n") == 1
    assert "a\\nb\\rc\\x1b[31md\\u202ee" in err
    status, out, err = run_main(capsys, INPUT, *TINY, "--checkpoint", tmp_path / name / "m.npz")
    assert status == 1 and err.count("\n") == 1 and "\\x1b" in err


def test_a_deleted_working_folder_is_named_as_such(tmp_path, capsys, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    status, out, err = run_main(capsys, INPUT, *TINY, "--checkpoint", "m.npz")
    assert status == 1
    assert err == "min_char_rnn.py: error: cannot save m.npz: No such file or directory\n"
    status, out, err = run_main(capsys, *TINY)
    assert err == "min_char_rnn.py: error: cannot read input.txt: No such file or directory\n"


# Signals

def test_a_second_signal_stops_at_once_with_a_whole_checkpoint(tmp_path):
    """Two signals sent a moment apart: which of them the handler sees first is not defined
    (Python runs the handlers of signals that came together in the order of their numbers,
    and one may run inside the other), so the status is either's."""
    path = tmp_path / "m.npz"
    proc = start_script(INPUT, *TINY, "--checkpoint", path, "--save-every", 10)
    while not proc.stdout.readline().startswith(b"iter 100"):  # saved 10 times by then
        pass
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode in (130, 143)
    n = npz_arrays(path)["n"]  # a whole checkpoint: it loads
    assert err.decode().splitlines()[-1] == f"min_char_rnn.py: stopped at once; {path} keeps " \
                                            f"iteration {n}"


def test_a_signal_before_training_stops_at_once(tmp_path):
    """While the text is read (here, a FIFO that nothing is written to): at once."""
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    proc = start_script(fifo, *TINY, "--checkpoint", tmp_path / "m.npz")
    with open(fifo, "w"):  # returns once the script has opened it for reading
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out, err) == (130, b"", b"min_char_rnn.py: stopped at once; nothing "
                                                     b"saved\n")


def test_signals_are_ignored_once_main_returns():
    code = f"""
import runpy, signal, sys
sys.argv = [{str(SCRIPT)!r}, "--help"]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit:
    print(signal.getsignal(signal.SIGINT) is signal.getsignal(signal.SIGTERM) is signal.SIG_IGN)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.splitlines()[-1] == "True"


def test_the_signal_handlers_are_restored(capsys):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert run_main(capsys, INPUT, *TINY, "--max-iters", 2)[0] == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_signal_that_another_thread_takes_waits_for_the_save(tmp_path):
    """Only this thread holds signals during a save; a signal sent to the process then goes
    to another (BLAS starts some): the handler hands it back, to be seen once the file is
    whole and saved_n says so."""
    stop, go, seen = min_char_rnn.Stop("test"), threading.Event(), []
    stop.training = True  # so that the first signal only asks to stop
    sender = threading.Thread(target=lambda: go.wait() and os.kill(os.getpid(), signal.SIGTERM))
    sender.start()  # before the signals are held: it does not hold them

    def write(f):
        go.set()
        sender.join()
        sum(range(10**5))  # time for the handler to run here, if it would
        seen.append(list(stop.signals))

    old = signal.signal(signal.SIGTERM, stop)
    try:
        min_char_rnn.write_whole(str(tmp_path / "f"), write, lambda: seen.append(stop.signals[:]))
        sum(range(10**5))
    finally:
        signal.signal(signal.SIGTERM, old)
    assert seen == [[], []] and stop.signals == [signal.SIGTERM]
