import contextlib
import io
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import min_char_rnn

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "min_char_rnn.py"
INPUT = ROOT / "input.txt"
FORMAT_1 = Path(__file__).parent / "data" / "format1.npz"  # written by version 1.0.0
SECONDS = 20  # for one run of the script: a regression that trains forever fails instead
SHORT_TEXT = "the cat sat on the mat; the rat ran at the cat.\n"
# A small model on SHORT_TEXT: 48 characters, so that with chunks of 6 the data pointer goes
# back to 0 every 7 iterations
SMALL = ["--hidden-size", 8, "--seq-length", 6, "--learning-rate", 0.05, "--sample-length", 30]
# For a run that is to end on its own (an error, a signal): should it not, it ends here and
# its test fails at once, instead of training until the alarm of run_main
BOUND = ["--max-iters", 1000]


class RanTooLong(Exception):
    pass


def too_long(signum, frame):
    raise RanTooLong(f"still running after {SECONDS} s")


def open_files():
    """{(descriptor, device, inode)} of the regular files open in this process, where the
    system lists its descriptors."""
    folder = next((f for f in ("/proc/self/fd", "/dev/fd") if os.path.isdir(f)), None)
    files = set()
    for fd in map(int, os.listdir(folder) if folder else []):
        try:
            st = os.fstat(fd)
        except OSError:  # the descriptor that listed the others, closed since
            continue
        if stat.S_ISREG(st.st_mode):
            files.add((fd, st.st_dev, st.st_ino))
    return files


@contextlib.contextmanager
def closing_what_it_leaves_open():
    """Regular files opened within the block and still open after it are closed, as the end
    of a process closes them (a Checkpoint object holds its file's lock while it lives)."""
    before = open_files()
    try:
        yield
    finally:
        for fd, device, inode in open_files() - before:
            os.close(fd)


def run_main(capsys, *args, main=min_char_rnn.main):
    """main(args) in this process: (exit status, stdout, stderr). It must leave no file open
    (a checkpoint's lock held on would refuse the next run of this process)."""
    old, before = signal.signal(signal.SIGALRM, too_long), open_files()
    signal.setitimer(signal.ITIMER_REAL, SECONDS)
    try:
        status = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        status = e.code
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert open_files() <= before, "main() left a file open"
    out, err = capsys.readouterr()
    return status, out, err


def captured_main(*args, main=min_char_rnn.main):
    """run_main without capsys, for fixtures that outlive a test: stdout and stderr of its
    own."""
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline=""), io.StringIO()
    before = open_files()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in args])
    assert open_files() <= before, "main() left a file open"
    out.flush()
    return status, out.buffer.getvalue().decode("utf-8"), err.getvalue()


def another_run(*args):
    """main(args) started while a run goes on in this process, as a second process would be:
    with stdout of its own. Its exit status; what it says on stderr goes where the first's does."""
    stdout = sys.stdout
    sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    try:
        return min_char_rnn.main([str(a) for a in args])
    finally:
        sys.stdout = stdout


def script_env(**changes):
    """The environment of this process without PYTHONUNBUFFERED (so that what is seen of
    the script's buffering is its own), with changes (a value of None removes a name)."""
    env = dict(os.environ, **changes)
    env.pop("PYTHONUNBUFFERED", None)
    return {k: v for k, v in env.items() if v is not None}


def limit_memory(megabytes):
    """A preexec_fn: the process may map at most megabytes, so a runaway allocation fails
    at once instead of swapping."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes * 2**20, megabytes * 2**20))
    return limit


def run_script(*args, script=SCRIPT, env=None, **kwargs):
    """A script in a process of its own, as a user runs it, from the project's folder."""
    kwargs.setdefault("cwd", ROOT)
    kwargs.setdefault("capture_output", "stdout" not in kwargs)
    return subprocess.run([sys.executable, str(script), *map(str, args)], text=True, timeout=60,
                          env=env or script_env(), **kwargs)


def start_python(*args, **kwargs):
    """python with args, still running, from the project's folder, at a low priority (so that
    the tests in this process keep a core while it runs beside them); stdout and stderr are
    pipes of bytes unless given."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, *map(str, args)], env=script_env(), cwd=ROOT,
                            bufsize=0, preexec_fn=lambda: os.nice(10), **kwargs)


def interfering(monkeypatch, at_iteration, act):
    """Make min_char_rnn's lossFun call act() as iteration at_iteration of a run begins
    (counted from the first call after this, so from the start of the next run)."""
    calls = []
    real = min_char_rnn.lossFun

    def lossFun(*args):
        calls.append(1)  # first: a run that act() starts counts on from here
        if len(calls) == at_iteration + 1:
            act()
        return real(*args)

    monkeypatch.setattr(min_char_rnn, "lossFun", lossFun)


def train_to(data, state, n):
    """Run min_char_rnn.train on data until state is at iteration n, as the script does."""
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for k in min_char_rnn.train(data, state):
            if k == n:
                break


def small_model(rng, hidden_size, vocab_size, scale, recurrent=None, output=None):
    """Random parameters (Wxh, Whh, Why, bh, by): normal, times scale (Wxh, bh), recurrent (Whh)
    and output (Why, by), the last two being scale unless given."""
    recurrent = scale if recurrent is None else recurrent
    output = scale if output is None else output
    return (rng.randn(hidden_size, vocab_size) * scale,
            rng.randn(hidden_size, hidden_size) * recurrent,
            rng.randn(vocab_size, hidden_size) * output, rng.randn(hidden_size, 1) * scale,
            rng.randn(vocab_size, 1) * output)


def npz_arrays(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def one_error_line(status, err, *words, code=1):
    """The run ended with status code and said one line on stderr, min_char_rnn.py's error,
    holding each of words, without a traceback or a warning."""
    assert status == code, err
    assert len(err.splitlines()) == 1 and err.endswith("\n"), err
    assert err.startswith("min_char_rnn.py: error: "), err
    assert "Traceback" not in err and "Warning" not in err
    for word in words:
        assert str(word) in err


def leftovers(folder):
    """What a save would leave behind if it did not clean up: its temporary files."""
    return sorted(p.name for p in Path(folder).glob("min-char-rnn-*.tmp"))


@pytest.fixture(scope="session", autouse=True)
def early_starts(request, tmp_path_factory):
    """A test module may define start_early(tmp_path_factory): it is called as the session's
    first test begins, if a test of the module is to run, so that what it starts (processes)
    runs on another core while this process runs the tests before the module's."""
    modules = {getattr(item, "module", None) for item in request.session.items}
    for module in sorted(modules - {None}, key=lambda module: module.__name__):
        if hasattr(module, "start_early"):
            module.start_early(tmp_path_factory)


@pytest.fixture
def input_text():
    return INPUT.read_text(encoding="utf-8")


@pytest.fixture
def short_text(tmp_path):
    """A text so short that the data pointer wraps every few iterations."""
    path = tmp_path / "short.txt"
    path.write_text(SHORT_TEXT, encoding="utf-8")
    return path
