"""What only processes of their own show: `| head`, Ctrl-C in `| tee log`, nohup, a Python
without fcntl, SIGHUP or hard links, memory that runs out, a checkpoint read while it is saved
and kill -9. The processes start as the session begins (conftest.early_starts)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile

import pytest

import min_char_rnn
from conftest import (FORMAT_1, ROOT, SEED, SHORT_TEXT, SMALL, files, npz_arrays, quietly,
                      same_arrays)

WINDOWS_LIKE = textwrap.dedent("""
    # As on Windows: fcntl cannot be imported, and signal has no SIGHUP; as on a FAT or exFAT
    # stick: no hard links
    import json, os, signal, sys
    sys.modules["fcntl"] = None  # import fcntl raises ModuleNotFoundError
    del signal.SIGHUP
    del os.link
    import min_char_rnn, visualize
    text, checkpoint, page = sys.argv[1:]
    train = [text, "--checkpoint", checkpoint, "--hidden-size", "8", "--seq-length", "6"]
    statuses = [min_char_rnn.main([*train, "--max-iters", "5", "--save-every", "2"]),
                min_char_rnn.main([*train[:3], "--resume", "--max-iters", "10"]),
                visualize.main([checkpoint, text, "-o", page])]
    print(json.dumps(statuses), file=sys.stderr)
""")

SHORT_OF_MEMORY = textwrap.dedent("""
    # 100 MB more to map once numpy has started: a short text trains; a --seq-length of 10000
    # (100 kB a character for the chunk's states and probabilities) and /dev/zero do not
    import json, re, resource, sys
    import numpy as np
    import min_char_rnn
    np.dot(np.ones((8, 8)), np.ones((8, 1)))  # BLAS has what it needs before the limit
    with open("/proc/self/status") as f:
        mapped = int(re.search(r"VmSize:\\s*(\\d+) kB", f.read())[1]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mapped + 100 * 2**20,
                                            resource.getrlimit(resource.RLIMIT_AS)[1]))
    short, wide = sys.argv[1:]
    statuses = [min_char_rnn.main([short, "--max-iters", "2", "--seed", "1"]),
                min_char_rnn.main([wide, "--seq-length", "10000", "--hidden-size", "8",
                                   "--sample-length", "1", "--seed", "1"]),
                min_char_rnn.main(["/dev/zero", "--seed", "1"])]
    print(json.dumps(statuses))
""")


def start_python(*args, ignoring=(), stdout=subprocess.PIPE):
    """python with args, from the project's folder, at a low priority, with the signals
    `ignoring` ignored (as nohup ignores SIGHUP); stdout and stderr: pipes, as it buffers."""
    def prepare():
        os.nice(10)
        for signum in ignoring:
            signal.signal(signum, signal.SIG_IGN)
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    return subprocess.Popen([sys.executable, *map(str, args)], env=env, cwd=ROOT, bufsize=0,
                            stdout=stdout, stderr=subprocess.PIPE, preexec_fn=prepare)


class Processes:
    """The processes, started at once, and a user's thread. wait(): self.ended, by name."""

    def __init__(self, folder):
        self.folder = folder
        short = folder / "short.txt"
        short.write_text(SHORT_TEXT, encoding="utf-8")
        wide = folder / "wide.txt"
        wide.write_text("".join(chr(0x4E00 + i) for i in range(6000)) * 2, encoding="utf-8")
        shutil.copy(FORMAT_1, folder / "saved.npz")
        train = [min_char_rnn.__file__, short, *SEED, *SMALL, "--max-iters", 20000,
                 "--checkpoint"]
        resume = [min_char_rnn.__file__, short, "--checkpoint", folder / "saved.npz",
                  "--resume", "--save-every", 1, "--max-iters", 20000]
        self.started = {}
        for name, ignoring in [("head", []), ("tee", []), ("nohup", [signal.SIGHUP])]:
            (folder / name).mkdir()
            self.started[name] = start_python(*train, folder / name / "m.npz", ignoring=ignoring)
        self.started["writer"] = start_python(*resume, stdout=subprocess.DEVNULL)
        self.started["windows-like"] = start_python("-c", WINDOWS_LIKE, short, folder / "w.npz",
                                                    folder / "w.html", stdout=subprocess.DEVNULL)
        if sys.platform == "linux":
            self.started["short of memory"] = start_python("-c", SHORT_OF_MEMORY, short, wide)
        page = [ROOT / "visualize.py", FORMAT_1]
        for name in ("page 1", "page 2"):  # two runs at once, writing one page
            self.started[name] = start_python(*page, short, "-o", folder / "page.html")
        (folder / "out.html").write_text("before\n", encoding="utf-8")
        with open(folder / "out.html", "a", encoding="utf-8") as appended:
            self.started["page to stdout"] = start_python(*page, short, "-o", "/dev/stdout",
                                                          stdout=appended)
        self.reads = []  # for each read of the writer's checkpoint: was it whole?
        self.ended = {}
        self.user = threading.Thread(target=self.act_as_a_user, daemon=True)
        self.user.start()

    def act_as_a_user(self):
        """After their first lines: `| head` goes away; Ctrl-C in `| tee log` (the pipe closes,
        SIGINT); the terminal of `nohup` is closed (SIGHUP), then SIGTERM; the checkpoint the
        writer saves after each iteration is read until ten saves were seen, then kill -9."""
        head, tee, nohup = self.started["head"], self.started["tee"], self.started["nohup"]
        for proc in (head, tee, nohup):
            line = b"-"
            while line and not line.startswith(b"iter 0"):
                line = proc.stdout.readline()
        head.stdout.close()
        tee.stdout.close()
        tee.send_signal(signal.SIGINT)
        nohup.send_signal(signal.SIGHUP)
        nohup.send_signal(signal.SIGTERM)
        self.started["writer"].stderr.readline()  # "resuming ...": it trains and saves
        iterations_seen = set()
        deadline = time.monotonic() + 10
        while len(iterations_seen) < 10 and time.monotonic() < deadline:
            with zipfile.ZipFile(self.folder / "saved.npz") as npz:
                self.reads.append(npz.testzip() is None)  # None: no entry is damaged
                iterations_seen.add(npz.read("n.npy"))
        self.started["writer"].kill()

    def wait(self):
        self.user.join(timeout=60)
        for name, proc in self.started.items():
            out, err = proc.communicate(timeout=60)
            self.ended[name] = (proc.returncode, (out or b"").decode(), err.decode())
        return self


early = {}


def start_early(tmp_path_factory):  # called by conftest.early_starts
    early["processes"] = Processes(tmp_path_factory.mktemp("processes"))


@pytest.fixture(scope="module")
def processes():
    return early["processes"].wait()


STOPS = {  # how a run was stopped, and the (exit status, cause in its line) it may end with
    "head": [(1, "stdout: Broken pipe; ")],  # `| head`: a sample cannot be written
    "tee": [(130, None), (1, "stdout: Broken pipe; ")],  # Ctrl-C in `| tee log`: either first
    "nohup": [(128 + signal.SIGTERM, None)],  # SIGHUP, ignored at the start, stays ignored
}


@pytest.mark.parametrize("name", STOPS)
def test_a_run_stopped_by_its_user_saves_says_why_and_resumes_exactly(processes, tmp_path, name):
    """After its summary, with no traceback or exception at exit; resumed, as never stopped."""
    status, out, err = processes.ended[name]
    path = processes.folder / name / "m.npz"
    summary, stop = err.splitlines()
    assert summary.startswith("iteration "), err
    line = rf"(stdout: .+; )?stopped at iteration (\d+); saved {re.escape(str(path))}"
    match = re.fullmatch(line, stop)
    assert match and (status, match[1]) in STOPS[name], err
    n = int(match[2])
    assert npz_arrays(path)["n"] == n and list(files(path.parent)) == ["m.npz"]
    never_stopped = tmp_path / "one.npz"
    for args in ([path, "--resume"], [never_stopped, *SEED, *SMALL]):
        status, out, err = quietly(min_char_rnn.main, processes.folder / "short.txt",
                                   "--checkpoint", *args, "--max-iters", n + 50)
        assert status == 0, err
    same_arrays(npz_arrays(path), npz_arrays(never_stopped))


def test_both_scripts_run_where_there_is_no_fcntl_sighup_or_hard_link(processes):
    status, out, err = processes.ended["windows-like"]
    assert status == 0 and err.splitlines()[-1] == "[0, 0, 0]", err
    assert npz_arrays(processes.folder / "w.npz")["n"] == 10
    assert (processes.folder / "w.html").stat().st_size > 0


@pytest.mark.skipif(sys.platform != "linux", reason="the limit and /proc/self/status are Linux's")
def test_memory_that_runs_out_gets_one_line(processes):
    """A short text trains under the limit; a long --seq-length and an endless text do not."""
    status, out, err = processes.ended["short of memory"]
    assert out.splitlines()[-1] == "[0, 1, 1]", err
    summary, *errors = err.splitlines()
    assert summary.startswith("iteration 2: ")
    assert errors == ["min_char_rnn.py: error: out of memory; try a shorter text or a smaller "
                      "--hidden-size or --seq-length"] * 2


def test_a_checkpoint_read_while_it_is_saved_and_after_kill_9_is_whole(processes):
    assert len(processes.reads) >= 10 and all(processes.reads)
    assert processes.ended["writer"][0] == -signal.SIGKILL
    assert min_char_rnn.load_checkpoint(processes.folder / "saved.npz")["n"] >= 30


def test_two_runs_write_one_page_whole_and_one_to_dev_stdout_after_its_file(processes):
    folder = processes.folder
    for name in ("page 1", "page 2", "page to stdout"):
        assert processes.ended[name][0] == 0, processes.ended[name]
    page = (folder / "page.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    appended = (folder / "out.html").read_text(encoding="utf-8")
    assert appended.startswith("before\n<!DOCTYPE html>")
    assert f"</html>\n{folder / 'short.txt'}: 48 characters, " in appended
