"""The hard edges: whatever a user or a file does ends in one line, a non-zero exit and
nothing lost, never a traceback, a warning, runaway memory or a checkpoint replaced."""
import os
import resource
import select
import signal
import subprocess
import sys

import numpy as np
import pytest

import min_char_rnn
from conftest import (INPUT, ROOT, SCRIPT, limit_memory, npz_arrays, run_main,
                      run_script, run_with_signals_at, script_env)

TINY = ["--hidden-size", 8, "--seq-length", 10, "--seed", 1]


def one_error_line(result, message):
    """The process ended with status 1 and one line on stderr: the message."""
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1:] == [f"min_char_rnn.py: error: {message}"] \
        or result.stderr.splitlines()[-1:] == [f"min_char_rnn.py: {message}"]
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr


# 1. A model that overflows when it samples

@pytest.fixture(scope="module")
def diverged(tmp_path_factory):
    """The last checkpoint a diverging run saved: finite, but with weights that overflow (one
    step at a learning rate of 1e4 makes logits of about 1e5, on any machine)."""
    path = tmp_path_factory.mktemp("diverged") / "m.npz"
    result = run_script(INPUT, "--seed", 0, "--hidden-size", 20, "--learning-rate", 1e4,
                        "--checkpoint", path, "--save-every", 1, "--max-iters", 1000)
    assert f"training diverged at iteration 1: a number overflowed or became NaN; {path} keeps " \
           "iteration 1" in result.stderr
    return path


def scaled(tmp_path, path, factor):
    arrays = npz_arrays(path)
    for k in ("Wxh", "Why", "by"):
        arrays[k] = arrays[k] * factor
    np.savez(tmp_path / "big.npz", **arrays)
    return tmp_path / "big.npz"


MODELS = {
    "the last save of a diverged run": lambda tmp_path, path: path,
    "weights times 1e3": lambda tmp_path, path: scaled(tmp_path, path, 1e3),
    "weights near the largest allowed": lambda tmp_path, path: scaled(
        tmp_path, path, 1e99 / np.abs(npz_arrays(path)["Why"]).max()),
}


@pytest.mark.parametrize("temperature", ["1e-300", "1e-9", "1", "1e6", "1e300"])
@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_generation_from_any_finite_model_is_safe(diverged, tmp_path, capsys, make, temperature):
    """Warnings are errors in this suite: an overflow would fail the test."""
    path = make(tmp_path, diverged)
    for prime in ["", "The "]:
        status, out, err = run_main(capsys, "--checkpoint", path, "--sample-only", "--seed", 2,
                                    "--temperature", temperature, "--prime", prime,
                                    "--sample-length", 300)
        assert status == 0 and err == ""
        assert len(out) == len(prime) + 300 + 1


# 3. Memory

@pytest.fixture(scope="module")
def big_texts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("texts")
    with open(folder / "5G.txt", "wb") as f:
        f.truncate(5 * 2**30)  # sparse: it takes no room on the disk
    (folder / "2M.txt").write_text("ab" * 10**6)
    return folder


MEMORY = {
    "a hidden size of a million": dict(
        args=[INPUT, "--hidden-size", 10**6],
        message="hidden size 1000000, 61 characters and seq_length 25 need about 5.22e+04 GiB of "
                "arrays, more than the 4 GiB this script allows; use a smaller --hidden-size or "
                "--seq-length"),
    "a chunk longer than the text": dict(
        args=[INPUT, "--seq-length", 10**9],
        message=f"{INPUT} has 37809 characters; training needs at least seq_length + 1 = "
                "1000000001: use a longer text or a smaller --seq-length"),
    "a chunk too long to hold": dict(
        args=["{texts}/2M.txt", "--seq-length", 1999000, "--hidden-size", 100000],
        message="hidden size 100000, 2 characters and seq_length 1999000 need about"),
    "samples of a trillion characters": dict(
        args=[INPUT, "--sample-length", 10**12],
        message="argument --sample-length: '1000000000000' is not a whole number from 1 to "
                "1000000"),
    "an endless text": dict(args=["/dev/zero"],
                            message="/dev/zero is larger than 256 MiB, the most this script "
                                    "reads; use a part of it"),
    "a text of 5 GB": dict(args=["{texts}/5G.txt"],
                           message="{texts}/5G.txt is larger than 256 MiB, the most this script "
                                   "reads; use a part of it"),
}


@pytest.mark.parametrize("case", MEMORY.values(), ids=MEMORY.keys())
def test_what_cannot_fit_is_refused_at_once(big_texts, case):
    args = [str(a).format(texts=big_texts) for a in case["args"]]
    result = run_script(*args, preexec_fn=limit_memory(1000))
    assert result.returncode in (1, 2) and result.stdout.count("\n") <= 1
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert case["message"].format(texts=big_texts) in result.stderr.splitlines()[-1]


def test_running_out_of_memory_gets_one_line(tmp_path):
    """A model within the limits, on a machine with less memory than it needs."""
    result = run_script(INPUT, "--hidden-size", 3000, "--max-iters", 2,
                        preexec_fn=limit_memory(400))
    one_error_line(result, "out of memory; use a smaller --hidden-size or --seq-length, or a "
                           "text with fewer distinct characters")


def test_a_state_that_could_not_be_loaded_is_not_saved(tmp_path, capsys):
    """A learning rate of 1e200 throws the weights beyond what a checkpoint may hold."""
    path = tmp_path / "m.npz"
    status, out, err = run_main(capsys, INPUT, *TINY, "--learning-rate", 1e200, "--max-iters", 5,
                                "--checkpoint", path, "--save-every", 1)
    assert status == 1
    assert err.splitlines()[-1] == f"min_char_rnn.py: error: not saving {path}: a weight is " \
                                   "larger than 1e+100: too large to compute with; nothing saved"
    assert list(tmp_path.iterdir()) == []


def test_a_save_that_fails_says_what_the_checkpoint_keeps(resumable):
    """Files may not grow past 10 kB: the save writes its temporary file and fails."""
    before = resumable.read_bytes()

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (10**4, 10**4))
    result = run_script(INPUT, "--checkpoint", resumable, "--resume", "--max-iters", 10,
                        preexec_fn=small_files)
    one_error_line(result, f"cannot save {resumable}: File too large; {resumable} keeps "
                           "iteration 3")
    assert resumable.read_bytes() == before
    assert sorted(p.name for p in resumable.parent.iterdir()) == ["m.npz"]


# 4. Output that cannot be written

@pytest.fixture
def resumable(tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert run_main(capsys, INPUT, *TINY, "--max-iters", 3, "--checkpoint", path)[0] == 0
    return path


OUTPUTS = {
    "a full disk": dict(stdout="/dev/full", env={},
                        message="cannot write to stdout (No space left on device); stopped"),
    "stdout closed": dict(stdout="closed", env={},
                          message="stdout is closed; give it a file or a pipe to print to"),
    "an encoding without 'é'": dict(stdout="pipe", env={"PYTHONIOENCODING": "ascii"},
                                    message="stdout's encoding ascii cannot show '\\xe9' of the text; "
                                            "set PYTHONIOENCODING=utf-8"),
}


def run_with_stdout(how, args, env):
    kwargs = dict(stdout=subprocess.PIPE)
    if how == "closed":
        kwargs = dict(stdout=None, preexec_fn=lambda: os.close(1))
    elif how != "pipe":
        kwargs = dict(stdout=open(how, "w"))
    result = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], stderr=subprocess.PIPE,
                            env=script_env(**env), timeout=60, text=True, **kwargs)
    if how != "pipe" and how != "closed":
        kwargs["stdout"].close()
    return result


@pytest.mark.parametrize("resume", [False, True], ids=["fresh", "resumed"])
@pytest.mark.parametrize("case", OUTPUTS.values(), ids=OUTPUTS.keys())
def test_output_that_cannot_be_written(resumable, tmp_path, case, resume):
    path = resumable if resume else tmp_path / "fresh.npz"
    before = resumable.read_bytes()
    args = [INPUT, "--checkpoint", path, "--max-iters", 50] + (["--resume"] if resume else TINY)
    result = run_with_stdout(case["stdout"], args, case["env"])
    kept = f"; {path} is left as it was" if resume else "; nothing saved"
    message = case["message"] + (kept if case["message"].endswith("stopped") else "")
    one_error_line(result, message)
    assert resumable.read_bytes() == before
    assert os.path.exists(path) == resume
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_a_closed_pipe_stops_the_run_and_says_what_is_saved(resumable):
    proc = subprocess.Popen([sys.executable, str(SCRIPT), INPUT, "--checkpoint", resumable,
                             "--resume", "--save-every", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=script_env(), bufsize=0)
    for _ in range(3):
        proc.stdout.readline()
    proc.stdout.close()  # as `| head -3` does
    err = proc.communicate(timeout=30)[1].decode()
    assert proc.returncode == 1
    saved = int(npz_arrays(resumable)["n"])
    assert err.splitlines()[-1] == f"min_char_rnn.py: cannot write to stdout (it was closed); " \
                                   f"stopped; {resumable} keeps iteration {saved}"


# 5. Checkpoint paths that would fail only at the first save

PATHS = {
    "empty": dict(path="", message="--checkpoint needs a file name, such as model.npz"),
    "a missing folder with a slash": dict(
        path="{tmp}/new/", message="--checkpoint {tmp}/new/ ends with /; give a file name, such "
                                   "as {tmp}/new/model.npz"),
    "an existing folder": dict(path="{tmp}", message="--checkpoint {tmp} is a folder; give a "
                                                     "file name, such as {tmp}/model.npz"),
    "a missing folder": dict(path="{tmp}/new/m.npz", message="cannot save {tmp}/new/m.npz: no "
                                                             "folder {tmp}/new"),
    "a file taken for a folder": dict(path=f"{INPUT}/m.npz",
                                      message=f"cannot save {INPUT}/m.npz: no folder {INPUT}"),
    "a name too long with the temporary suffix": dict(
        path="{tmp}/" + "m" * 250, message="cannot save {tmp}/" + "m" * 250 + ": File name too "
                                                                               "long"),
    "a folder no one may write": dict(path="/sys/m.npz",
                                      message="cannot save /sys/m.npz: Permission denied"),
}


@pytest.mark.parametrize("case", PATHS.values(), ids=PATHS.keys())
def test_a_checkpoint_path_that_cannot_be_saved_is_refused_before_training(tmp_path, capsys,
                                                                           case):
    path = case["path"].format(tmp=tmp_path)
    status, out, err = run_main(capsys, INPUT, *TINY, "--max-iters", 5, "--checkpoint", path)
    assert status == 1 and out == ""
    assert err == "min_char_rnn.py: error: " + case["message"].format(tmp=tmp_path) + "\n"
    assert list(tmp_path.iterdir()) == []


def test_resuming_through_a_symbolic_link_is_refused(resumable, capsys):
    link = resumable.parent / "link.npz"
    link.symlink_to(resumable)
    status, out, err = run_main(capsys, INPUT, "--checkpoint", link, "--resume")
    assert status == 1 and out == ""
    assert err == f"min_char_rnn.py: error: --checkpoint {link} is a symbolic link; give the " \
                  f"path of the file itself, {resumable}\n"


# 6. Two runs, one path

def interfering(monkeypatch, at_iteration, act):
    """Make lossFun call act() when iteration at_iteration begins."""
    calls = []
    real = min_char_rnn.lossFun

    def lossFun(*args):
        if len(calls) == at_iteration:
            act()
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(min_char_rnn, "lossFun", lossFun)


@pytest.mark.parametrize("when", [3, 13], ids=["before the first save", "after it"])
def test_a_run_never_replaces_a_checkpoint_it_did_not_write(tmp_path, capsys, monkeypatch, when):
    path = tmp_path / "m.npz"
    interfering(monkeypatch, when, lambda: path.write_bytes(b"another run's checkpoint"))
    status, out, err = run_main(capsys, INPUT, *TINY, "--max-iters", 50, "--checkpoint", path,
                                "--save-every", 10)
    aside = tmp_path / f"m.npz.{os.getpid()}.npz"
    assert status == 1
    assert err.splitlines()[-1] == f"min_char_rnn.py: error: not saving {path}: another program " \
                                   f"wrote it while this run trained; this run's state is saved " \
                                   f"in {aside} instead"
    assert path.read_bytes() == b"another run's checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz", aside.name]
    assert npz_arrays(aside)["n"] == 10 * (when // 10 + 1)  # the save that found the conflict


def test_a_checkpoint_only_touched_is_still_the_runs_own(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.npz"
    interfering(monkeypatch, 13, lambda: os.utime(path, (1, 1)))
    status, out, err = run_main(capsys, INPUT, *TINY, "--max-iters", 20, "--checkpoint", path,
                                "--save-every", 10)
    assert status == 0 and npz_arrays(path)["n"] == 20


def test_a_checkpoint_deleted_while_training_is_written_again(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.npz"
    interfering(monkeypatch, 13, path.unlink)
    status, out, err = run_main(capsys, INPUT, *TINY, "--max-iters", 20, "--checkpoint", path,
                                "--save-every", 10)
    assert status == 0 and npz_arrays(path)["n"] == 20


# 7. Start-up, and 8. messages that are true

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
@pytest.mark.parametrize("module", ["argparse", "numpy"])
def test_a_signal_while_the_script_starts_stops_it_cleanly(tmp_path, signum, module):
    """Held from the first lines of the file, it is handled once main() can: before training
    has begun, by stopping at once."""
    result = run_with_signals_at(SCRIPT, module, [signum], INPUT, *TINY, "--checkpoint", tmp_path / "m.npz",
                                 "--max-iters", 1000)
    assert result.returncode == 128 + signum
    assert result.stderr == "min_char_rnn.py: stopped at once; nothing saved\n"
    assert not (tmp_path / "m.npz").exists()


def test_two_signals_while_the_script_starts_give_one_line(tmp_path):
    result = run_with_signals_at(SCRIPT, "numpy", [signal.SIGINT, signal.SIGTERM], INPUT, *TINY,
                                 "--max-iters", 1000)
    assert result.returncode == 128 + signal.SIGINT
    assert result.stderr == "min_char_rnn.py: stopped at once\n"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_second_signal_stops_at_once(tmp_path, capsys, monkeypatch, signum):
    path = tmp_path / "m.npz"
    interfering(monkeypatch, 23, lambda: [os.kill(os.getpid(), signum) for _ in range(2)])
    status, out, err = run_main(capsys, INPUT, *TINY, "--checkpoint", path, "--save-every", 10)
    assert status == 128 + signum
    assert err.splitlines()[-1] == f"min_char_rnn.py: stopped at once; {path} keeps iteration 20"
    assert npz_arrays(path)["n"] == 20


def test_stopped_at_once_before_any_save_says_nothing_was_saved(tmp_path, capsys, monkeypatch):
    path = tmp_path / "m.npz"
    interfering(monkeypatch, 3, lambda: [os.kill(os.getpid(), signal.SIGINT) for _ in range(2)])
    status, out, err = run_main(capsys, INPUT, *TINY, "--checkpoint", path)
    assert status == 130
    assert err.splitlines()[-1] == "min_char_rnn.py: stopped at once; nothing saved"
    assert not path.exists()


def test_the_signal_handlers_are_restored(tmp_path, capsys):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert run_main(capsys, INPUT, *TINY, "--max-iters", 2)[0] == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_stdout_is_written_line_by_line_into_a_pipe():
    """The script, held before its second iteration, has already written its first lines
    into the pipe, though PYTHONUNBUFFERED is not set."""
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import min_char_rnn
real = min_char_rnn.lossFun
def held(*args):
    if held.calls == 1:
        sys.stdin.readline()
    held.calls += 1
    return real(*args)
held.calls = 0
min_char_rnn.lossFun = held
sys.exit(min_char_rnn.main([{str(INPUT)!r}, "--max-iters", "2", "--hidden-size", "8"]))
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=script_env())
    out = b""
    try:
        while b"iter 0" not in out and select.select([proc.stdout], [], [], 30)[0]:
            out += os.read(proc.stdout.fileno(), 10**5)  # what has reached the pipe
        lines = out.decode().splitlines()
        assert lines[:2] == ["data has 37809 characters, 61 unique.", "----"]
        assert lines[-1].startswith("iter 0, loss: ")
    finally:
        proc.communicate(b"go on\n", timeout=30)
    assert proc.returncode == 0


def test_temporary_files_left_by_a_killed_save_are_removed(tmp_path, capsys):
    path = tmp_path / "m.npz"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process number that no process has now
    stale = tmp_path / f"m.npz.{dead.pid}.tmp"
    stale.write_bytes(b"half a save")
    status, out, err = run_main(capsys, INPUT, *TINY, "--max-iters", 2, "--checkpoint", path)
    assert status == 0
    assert err.splitlines()[0] == f"removed {stale}, left by a save that was interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
