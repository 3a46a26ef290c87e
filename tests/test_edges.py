"""What only processes of their own show: a reader that goes away (`| head`), Ctrl-C in
`| tee log`, a run started by nohup, a Python without fcntl and SIGHUP (as on Windows),
memory that runs out, two runs saving one checkpoint and kill -9. The processes start together
as the session begins (see start_early), beside the tests in this process; each test here
reads how its process ended."""
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
from conftest import (FORMAT_1, SHORT_TEXT, npz_arrays, quietly, same_arrays, start_python,
                      temporary_files)

FLAGS = ["--hidden-size", 8, "--seq-length", 6, "--sample-length", 5, "--seed", 1]
# Training that a closed pipe or a signal stops near its start; 20000 iterations, a few
# seconds, end a run that would not stop
TRAINING = [*FLAGS, "--max-iters", 20000]

WINDOWS_LIKE = textwrap.dedent("""
    # As on Windows: fcntl cannot be imported, and signal has no SIGHUP
    import json, signal, sys

    class NoFcntl:  # a finder that refuses fcntl, and leaves other modules to the others
        def find_spec(self, name, path=None, target=None):
            if name == "fcntl":
                raise ModuleNotFoundError("No module named 'fcntl'", name=name)

    sys.meta_path.insert(0, NoFcntl())
    sys.modules.pop("fcntl", None)
    del signal.SIGHUP
    import min_char_rnn, visualize
    text, checkpoint, page = sys.argv[1:]
    train = [text, "--checkpoint", checkpoint, "--hidden-size", "8", "--seq-length", "6"]
    statuses = [min_char_rnn.main([*train, "--max-iters", "5", "--save-every", "2"]),
                min_char_rnn.main([text, "--checkpoint", checkpoint, "--resume",
                                   "--max-iters", "10"]),
                visualize.main([checkpoint, text, "-o", page])]
    print(json.dumps(statuses), file=sys.stderr)
""")

SHORT_OF_MEMORY = textwrap.dedent("""
    # A process that may map 100 MB more than it has once numpy has started: a short text
    # trains; a --seq-length of 10000 on a text of 6000 characters (100 kB a character for the
    # chunk's states and probabilities) and an endless text (/dev/zero) run out of memory
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


def read_until_iteration_0(proc):
    line = b"-"
    while line and not line.startswith(b"iter 0"):
        line = proc.stdout.readline()


class Processes:
    """The processes this module examines, started at once. A thread does to them what a user
    would: after their first lines, closes the pipe of `head` (as `| head` does), closes the
    pipe of `tee` and sends it SIGINT (Ctrl-C in `| tee log`), sends `nohup` (started with
    SIGHUP ignored) SIGHUP and then SIGTERM; reads the checkpoint that the two writers save
    after each iteration until ten saves were seen, and kills them (-9)."""

    def __init__(self, folder):
        self.folder = folder
        short, shared = folder / "short.txt", folder / "shared.npz"
        short.write_text(SHORT_TEXT, encoding="utf-8")
        (folder / "wide.txt").write_text("".join(chr(0x4E00 + i) for i in range(6000)) * 2,
                                         encoding="utf-8")
        shutil.copy(FORMAT_1, shared)
        for name in ("head", "tee", "nohup"):
            (folder / name).mkdir()
        train = [min_char_rnn.__file__, short, *TRAINING, "--checkpoint"]
        resume = [min_char_rnn.__file__, short, "--checkpoint", shared, "--resume",
                  "--save-every", 1, "--max-iters", 20000]
        self.started = {
            "head": start_python(*train, folder / "head" / "m.npz"),
            "tee": start_python(*train, folder / "tee" / "m.npz"),
            "nohup": start_python(*train, folder / "nohup" / "m.npz", ignoring=[signal.SIGHUP]),
            "writer 1": start_python(*resume, stdout=subprocess.DEVNULL),
            "writer 2": start_python(*resume, stdout=subprocess.DEVNULL),
            "windows-like": start_python("-c", WINDOWS_LIKE, short, folder / "nofcntl.npz",
                                         folder / "nofcntl.html", stdout=subprocess.DEVNULL),
        }
        if sys.platform == "linux":
            self.started["short of memory"] = start_python("-c", SHORT_OF_MEMORY, short,
                                                           folder / "wide.txt")
        self.reads = []  # for each read of the writers' checkpoint: was it whole?
        self.user = threading.Thread(target=self.act_as_a_user, daemon=True)
        self.user.start()

    def act_as_a_user(self):
        head, tee, nohup = self.started["head"], self.started["tee"], self.started["nohup"]
        for proc in (head, tee, nohup):
            read_until_iteration_0(proc)
        head.stdout.close()
        tee.stdout.close()
        tee.send_signal(signal.SIGINT)
        nohup.send_signal(signal.SIGHUP)
        nohup.send_signal(signal.SIGTERM)
        writers = [self.started["writer 1"], self.started["writer 2"]]
        for proc in writers:
            proc.stderr.readline()  # "resuming ...": it trains and saves
        iterations_seen = set()
        deadline = time.monotonic() + 10
        while len(iterations_seen) < 10 and time.monotonic() < deadline:
            with zipfile.ZipFile(self.folder / "shared.npz") as npz:
                self.reads.append(npz.testzip() is None)  # None: no entry is damaged
                iterations_seen.add(npz.read("n.npy"))
        for proc in writers:
            proc.kill()
            time.sleep(0.01)

    def ended(self):
        """{name: (status, stdout, stderr)}, the folder, and the reads of the writers'
        checkpoint."""
        self.user.join(timeout=60)
        ended = {}
        for name, proc in self.started.items():
            out, err = proc.communicate(timeout=60)
            ended[name] = (proc.returncode, (out or b"").decode(), err.decode())
        return ended, self.folder, self.reads


early = {}


def start_early(tmp_path_factory):  # see conftest.early_starts
    early["processes"] = Processes(tmp_path_factory.mktemp("processes"))


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    started = early.pop("processes", None) or Processes(tmp_path_factory.mktemp("processes"))
    return started.ended()


def the_stop(processes, name):
    """(exit status, the stop line's "stdout: WHY; ", its iteration) of a run, whose two lines
    on stderr are its summary and its stop, and whose checkpoint holds that iteration."""
    ended, folder, reads = processes
    status, out, err = ended[name]
    path = folder / name / "m.npz"
    summary, stop = err.splitlines()
    assert summary.startswith("iteration "), err
    match = re.fullmatch(rf"(stdout: .+; )?stopped at iteration (\d+); saved {re.escape(str(path))}",
                         stop)
    assert match, err
    assert min_char_rnn.load_checkpoint(path)["n"] == int(match[2])
    assert temporary_files(path.parent) == []
    return status, match[1], int(match[2])


def test_a_reader_that_goes_away_stops_the_run_which_saves(processes):
    """`| head`: the next sample cannot be written, so the run finishes that iteration, saves
    it and says why, with status 1, and nothing of a traceback or of an exception at exit."""
    status, why, n = the_stop(processes, "head")
    assert status == 1 and why == "stdout: Broken pipe; " and n % 100 == 1


def test_ctrl_c_in_a_pipeline_stops_the_run_which_saves_and_resumes_exactly(processes, tmp_path):
    """Ctrl-C in `... | tee log`: the signal and the closed pipe come together, either first.
    Resumed, the run reaches what one run never stopped reaches, array for array."""
    status, why, n = the_stop(processes, "tee")
    assert (status, bool(why)) in [(130, False), (1, True)]
    ended, folder, reads = processes
    stopped, never_stopped = folder / "tee" / "m.npz", tmp_path / "one.npz"
    for args in ([stopped, "--resume"], [never_stopped, *FLAGS]):
        status, out, err = quietly(min_char_rnn.main, folder / "short.txt", "--checkpoint",
                                   *args, "--max-iters", n + 50)
        assert status == 0, err
    same_arrays(npz_arrays(stopped), npz_arrays(never_stopped))


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP")
def test_a_run_started_by_nohup_goes_on_after_sighup_and_stops_at_sigterm(processes):
    """SIGHUP, ignored when the run started, stays ignored: it is SIGTERM that stops it."""
    status, why, n = the_stop(processes, "nohup")
    assert status == 128 + signal.SIGTERM and why is None


def test_both_scripts_run_where_there_is_no_fcntl_nor_sighup(processes):
    ended, folder, reads = processes
    status, out, err = ended["windows-like"]
    assert status == 0 and err.splitlines()[-1] == "[0, 0, 0]", err
    assert "Traceback" not in err
    assert npz_arrays(folder / "nofcntl.npz")["n"] == 10
    assert (folder / "nofcntl.html").stat().st_size > 0


@pytest.mark.skipif(sys.platform != "linux", reason="the limit and /proc/self/status are Linux's")
def test_memory_that_runs_out_gets_one_line(processes):
    """A short text trains under the limit; a long --seq-length and an endless text do not."""
    ended, folder, reads = processes
    status, out, err = ended["short of memory"]
    assert out.splitlines()[-1] == "[0, 1, 1]", err
    summary, *errors = err.splitlines()
    assert summary.startswith("iteration 2: ")
    assert errors == ["min_char_rnn.py: error: out of memory; try a shorter text or a smaller "
                      "--hidden-size or --seq-length"] * 2


def test_two_runs_saving_one_checkpoint_and_killed_leave_it_whole(processes):
    """Each save is whole (a temporary file renamed over the checkpoint): every read while
    both save after each iteration, until ten saves were seen, finds a whole file; after
    kill -9 it loads."""
    ended, folder, reads = processes
    assert len(reads) >= 10 and all(reads)
    assert [ended[name][0] for name in ("writer 1", "writer 2")] == [-signal.SIGKILL] * 2
    assert min_char_rnn.load_checkpoint(folder / "shared.npz")["n"] >= 30
