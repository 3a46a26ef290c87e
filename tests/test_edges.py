"""What only a process of its own shows: a reader that goes away (`| head`), Ctrl-C in
`| tee log`, a Python without fcntl and SIGHUP (as on Windows), memory that runs out. The
processes start together as the session begins (see start_early), so that they run beside
the tests in this process, and each test here reads how its process ended."""
import errno
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import min_char_rnn
from conftest import ROOT, SHORT_TEXT, leftovers, npz_arrays, start_python

# Runs that a closed pipe or a signal stops at iteration 101 or before; 20000 ends one that
# would not, in a few seconds
TRAINING = ["--hidden-size", 8, "--seq-length", 6, "--sample-length", 5, "--seed", 1,
            "--max-iters", 20000]

WITHOUT_FCNTL = textwrap.dedent("""
    # Windows has no fcntl and no SIGHUP: this Python has neither either
    import json, runpy, signal, sys
    sys.modules["fcntl"] = None
    del signal.SIGHUP
    results, (text, checkpoint, page) = [], sys.argv[1:]

    def run(script, *args):
        sys.argv = [script, *args]
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as e:
            results.append(e.code)
        except BaseException as e:
            results.append(repr(e))

    run("min_char_rnn.py", text, "--checkpoint", checkpoint, "--max-iters", "5",
        "--hidden-size", "8", "--seq-length", "6", "--save-every", "2")
    run("min_char_rnn.py", text, "--checkpoint", checkpoint, "--resume", "--max-iters", "10")
    run("visualize.py", checkpoint, text, "-o", page)
    print(json.dumps(results), file=sys.stderr)
""")

OUT_OF_MEMORY = textwrap.dedent("""
    # A long --seq-length in a process that may map 100 MB more than it has once numpy has
    # started: the chunk's states and probabilities take 100 kB a character. The bound on a
    # text's length is made small, so that reading the text is not what runs out of memory
    # (test_cli.py's test_a_short_text_trains_under_a_memory_limit is about that).
    import re, resource, sys
    import numpy as np
    import min_char_rnn
    np.dot(np.ones((8, 8)), np.ones((8, 1)))  # BLAS has what it needs before the limit
    with open("/proc/self/status") as f:
        mapped = int(re.search(r"VmSize:\\s*(\\d+) kB", f.read())[1]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mapped + 100 * 2**20,
                                            resource.getrlimit(resource.RLIMIT_AS)[1]))
    min_char_rnn.read_data.__defaults__ = (2**20,)
    sys.exit(min_char_rnn.main([sys.argv[1], "--seq-length", "10000", "--hidden-size", "8",
                                "--sample-length", "1", "--seed", "1"]))
""")


def read_until_iteration_0(proc):
    """The lines the run prints until its first `iter` line (or its end)."""
    lines = []
    while not lines or not lines[-1].startswith(b"iter 0") and lines[-1]:
        lines.append(proc.stdout.readline())
    return lines


class Processes:
    """The processes this module examines, started at once: two training runs whose stdout
    is a pipe (a thread closes it after their first lines, as `| head` does, and Ctrl-C's
    SIGINT comes with it for `| tee log`), one without fcntl and SIGHUP, one short of
    memory."""

    def __init__(self, folder):
        self.folder = folder
        (folder / "short.txt").write_text(SHORT_TEXT, encoding="utf-8")
        (folder / "wide.txt").write_text("".join(chr(0x4E00 + i) for i in range(6000)) * 2,
                                         encoding="utf-8")
        self.started = {}
        for name in ("head", "tee"):
            (folder / name).mkdir()
            self.started[name] = start_python(ROOT / "min_char_rnn.py", folder / "short.txt",
                                              "--checkpoint", folder / name / "m.npz", *TRAINING)
        self.started["without fcntl"] = start_python(
            "-c", WITHOUT_FCNTL, folder / "short.txt", folder / "nofcntl.npz",
            folder / "nofcntl.html", stdout=subprocess.DEVNULL)
        if sys.platform == "linux":
            self.started["out of memory"] = start_python("-c", OUT_OF_MEMORY, folder / "wide.txt")
        self.printed = {}
        self.readers = threading.Thread(target=self.read_and_close, daemon=True)
        self.readers.start()

    def read_and_close(self):
        for name in ("head", "tee"):
            self.printed[name] = read_until_iteration_0(self.started[name])
            self.started[name].stdout.close()
            if name == "tee":
                self.started[name].send_signal(signal.SIGINT)

    def ended(self):
        """(folder, the first lines of head and tee, {name: (status, stdout, stderr)})."""
        self.readers.join(timeout=60)
        ended = {}
        for name, proc in self.started.items():
            out, err = proc.communicate(timeout=60)
            ended[name] = (proc.returncode, out and out.decode(), err.decode())
        return self.folder, self.printed, ended


early = {}


def start_early(tmp_path_factory):  # see conftest.early_starts
    early["processes"] = Processes(tmp_path_factory.mktemp("processes"))


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    started = early.pop("processes", None) or Processes(tmp_path_factory.mktemp("processes"))
    return started.ended()


def the_stop(folder, name, ended):
    """(exit status, the stop line's "stdout: WHY; " if any, its iteration) of a run, whose
    checkpoint loads and holds that iteration, with no temporary file left, and which said
    nothing of a traceback or of an exception ignored at exit."""
    status, out, err = ended[name]
    path = folder / name / "m.npz"
    assert "Traceback" not in err and "Exception ignored" not in err, err
    stop = rf"(stdout: .+; )?stopped at iteration (\d+); saved {re.escape(str(path))}"
    match = re.fullmatch(stop, err.splitlines()[-1])
    assert match, err
    assert min_char_rnn.load_checkpoint(path)["n"] == int(match[2])
    assert leftovers(path.parent) == []
    return status, match[1], int(match[2])


def test_a_reader_that_goes_away_stops_the_run_which_saves(processes):
    """`| head`: the reader closes the pipe after the first lines; the next sample cannot be
    written, so the run finishes that iteration, saves it and says why, with status 1."""
    folder, printed, ended = processes
    assert printed["head"][0].startswith(b"data has 48 characters")
    status, why, n = the_stop(folder, "head", ended)
    assert status == 1 and why == f"stdout: {os.strerror(errno.EPIPE)}; " and n % 100 == 1
    assert len(ended["head"][2].splitlines()) == 2  # the summary, then the stop


def test_ctrl_c_in_a_pipeline_stops_the_run_which_saves(processes):
    """Ctrl-C in `... | tee log`: the signal and the closed pipe come together, either first."""
    folder, printed, ended = processes
    status, why, n = the_stop(folder, "tee", ended)
    assert (status, bool(why)) in [(130, False), (1, True)]


def test_min_char_rnn_trains_and_resumes_where_there_is_no_fcntl_nor_sighup(processes):
    folder, printed, ended = processes
    status, out, err = ended["without fcntl"]
    results = json.loads(err.splitlines()[-1])
    assert status == 0 and results[:2] == [0, 0], err
    assert "Traceback" not in err
    assert npz_arrays(folder / "nofcntl.npz")["n"] == 10


def test_visualize_runs_where_there_is_no_fcntl_nor_sighup(processes):
    folder, printed, ended = processes
    status, out, err = ended["without fcntl"]
    assert json.loads(err.splitlines()[-1])[2] == 0, err
    assert (folder / "nofcntl.html").stat().st_size > 0


@pytest.mark.skipif(sys.platform != "linux", reason="the limit and /proc/self/status are Linux's")
def test_a_long_seq_length_that_exhausts_memory_gets_one_line(processes):
    """The memory runs out in the chunk's forward pass, after the first sample was printed:
    one line, which names --seq-length."""
    folder, printed, ended = processes
    status, out, err = ended["out of memory"]
    assert status == 1 and "\n----\n" in out
    assert len(err.splitlines()) == 1 and err.startswith("min_char_rnn.py: error: out of memory")
    assert "--seq-length" in err
