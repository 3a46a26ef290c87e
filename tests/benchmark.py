"""
Measurements that take too long for the test suite. Run from the project's folder:

    python tests/benchmark.py speed [TEXT]     # iterations per second, script and gist
    python tests/benchmark.py save             # what periodic checkpoints cost
    python tests/benchmark.py memory           # peak memory on a 60 MB text
    python tests/benchmark.py signals [RUNS]   # Ctrl-C and SIGTERM at random moments

speed times whole seeded runs, in this process and each going first in turn, of the script's
training loop, of the gist's arithmetic done well (gist_done_well_stdout below: column ix of
Wxh read instead of a product with a one-hot vector, dhraw added to column ix of dWxh, exp(y)
once) and done literally (tests/reference.py), checks that all three print the same, and
does so on TEXT (default input.txt) and on a generated text of 3000 distinct characters.
signals sends one or two signals (SIGINT, SIGTERM), a moment apart, at a random moment to each
of RUNS training runs with a checkpoint (fresh and resumed in turn, saving every 1, 7 or 1000
iterations) and checks that none ends in a traceback, a warning or "Exception ignored", that
the checkpoint loads and holds the iteration the stop line names, and that no temporary
file (PATH.PID.tmp) is left.
"""
import argparse
import collections
import contextlib
import functools
import glob
import io
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import min_char_rnn  # noqa: E402
from reference import gist_stdout  # noqa: E402


def script_stdout(data, seed, iters):
    state = min_char_rnn.init_training(sorted(set(data)), seed)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print("data has %d characters, %d unique." % (len(data), len(state["chars"])))
        for n in min_char_rnn.train(data, state):
            if n == iters:
                break
    return out.getvalue()


def gist_done_well_stdout(data, seed, iters, hidden_size=100, seq_length=25, learning_rate=1e-1,
                          sample_length=200):
    """The gist's loop, written as well as its arithmetic allows: the same numbers as
    tests/reference.py, without the products by one-hot vectors."""
    out = []
    chars = sorted(set(data))
    vocab_size = len(chars)
    out.append('data has %d characters, %d unique.' % (len(data), vocab_size))
    char_to_ix = {ch: i for i, ch in enumerate(chars)}
    np.random.seed(seed)
    Wxh = np.random.randn(hidden_size, vocab_size) * 0.01
    Whh = np.random.randn(hidden_size, hidden_size) * 0.01
    Why = np.random.randn(vocab_size, hidden_size) * 0.01
    bh, by = np.zeros((hidden_size, 1)), np.zeros((vocab_size, 1))

    def step(ix, h):
        h = np.tanh(Wxh[:, ix:ix + 1] + np.dot(Whh, h) + bh)
        e = np.exp(np.dot(Why, h) + by)
        return h, e / np.sum(e)

    n, p, hprev = 0, 0, None
    mem = [np.zeros_like(a) for a in (Wxh, Whh, Why, bh, by)]
    smooth_loss = -np.log(1.0 / vocab_size) * seq_length
    while n < iters:
        if p + seq_length + 1 >= len(data) or n == 0:
            hprev, p = np.zeros((hidden_size, 1)), 0
        inputs = [char_to_ix[ch] for ch in data[p:p + seq_length]]
        targets = [char_to_ix[ch] for ch in data[p + 1:p + seq_length + 1]]
        if n % 100 == 0:
            h, ix, ixes = hprev, inputs[0], []
            for t in range(sample_length):
                h, prob = step(ix, h)
                ix = np.random.choice(vocab_size, p=prob.ravel())
                ixes.append(ix)
            out.append('----\n %s \n----' % (''.join(chars[ix] for ix in ixes),))
        hs, ps, loss = {-1: np.copy(hprev)}, {}, 0
        for t in range(len(inputs)):
            hs[t], ps[t] = step(inputs[t], hs[t - 1])
            loss += -np.log(ps[t][targets[t], 0])
        grads = [np.zeros_like(a) for a in (Wxh, Whh, Why, bh, by)]
        dWxh, dWhh, dWhy, dbh, dby = grads
        dhnext = np.zeros_like(hs[0])
        for t in reversed(range(len(inputs))):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1
            dWhy += np.dot(dy, hs[t].T)
            dby += dy
            dhraw = (1 - hs[t] * hs[t]) * (np.dot(Why.T, dy) + dhnext)
            dbh += dhraw
            dWxh[:, inputs[t]] += dhraw[:, 0]
            dWhh += np.dot(dhraw, hs[t - 1].T)
            dhnext = np.dot(Whh.T, dhraw)
        for dparam in grads:
            np.clip(dparam, -5, 5, out=dparam)
        hprev = hs[len(inputs) - 1]
        smooth_loss = smooth_loss * 0.999 + loss * 0.001
        if n % 100 == 0:
            out.append('iter %d, loss: %f' % (n, smooth_loss))
        for param, dparam, m in zip((Wxh, Whh, Why, bh, by), grads, mem):
            m += dparam * dparam
            param += -learning_rate * dparam / np.sqrt(m + 1e-8)
        p += seq_length
        n += 1
    return '\n'.join(out) + '\n'


def many_characters_text(vocab_size=3000, length=300_000, seed=0):
    """Characters drawn with Zipf-like frequencies from vocab_size CJK code points."""
    rng = np.random.RandomState(seed)
    weights = 1 / np.arange(1, vocab_size + 1)
    picks = rng.choice(vocab_size, size=length, p=weights / weights.sum())
    text = "".join(chr(0x4E00 + i) for i in picks)
    missing = "".join(chr(0x4E00 + i) for i in range(vocab_size) if chr(0x4E00 + i) not in text)
    return text + missing


def speed(args):
    texts = {args.text.name: args.text.read_text(encoding="utf-8"),
             "3000 distinct characters": many_characters_text()}
    for name, data in texts.items():
        vocab_size = len(set(data))
        iters = args.iters or (2000 if vocab_size < 500 else 300)
        runs = {"script": functools.partial(script_stdout, data, 1, iters),
                "gist done well": functools.partial(gist_done_well_stdout, data, 1, iters),
                "gist, one-hot": functools.partial(gist_stdout, data, 1, iters)}
        best, outputs = {}, {}
        names = list(runs)
        for repeat in range(args.repeats):
            for run_name in names[repeat % 3:] + names[:repeat % 3]:  # each goes first once
                start = time.perf_counter()
                outputs[run_name] = runs[run_name]()
                best[run_name] = min(best.get(run_name, 1e9), time.perf_counter() - start)
        same = len(set(outputs.values())) == 1
        print(f"{name}: vocabulary {vocab_size}, {iters} iterations, best of {args.repeats}; "
              f"the three print {'the same' if same else 'DIFFERENT things'}")
        for run_name, seconds in best.items():
            print(f"  {run_name:18s} {seconds:7.2f} s  {iters / seconds:7.0f} it/s  "
                  f"{seconds / best['gist done well']:.2f}x the gist done well")


def save(args):
    for name, data in [("input.txt", (ROOT / "input.txt").read_text(encoding="utf-8")),
                       ("3000 distinct characters", many_characters_text())]:
        start = time.perf_counter()
        script_stdout(data, 0, 200)
        per_iteration = (time.perf_counter() - start) / 200
        state = min_char_rnn.init_training(sorted(set(data)), 0)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.npz")
            checkpoint, times = min_char_rnn.Checkpoint(path), []
            for _ in range(10):
                start = time.perf_counter()
                checkpoint.save(state)
                times.append(time.perf_counter() - start)
            size = os.path.getsize(path)
        seconds = sorted(times)[len(times) // 2]
        every = min_char_rnn.SAVE_EVERY
        print(f"{name}: a save writes {size / 1e6:.1f} MB in {seconds * 1e3:.1f} ms "
              "(median of 10); "
              f"an iteration takes {per_iteration * 1e3:.2f} ms; saving every {every} iterations "
              f"costs {100 * seconds / (every * per_iteration):.2f}% of training time")


def memory(args):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.txt"
        line = (ROOT / "input.txt").read_text(encoding="utf-8")
        with open(path, "w", encoding="utf-8") as f:
            while f.tell() < args.megabytes * 1e6:
                f.write(line)
        size = path.stat().st_size
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(ROOT / "min_char_rnn.py"), str(path),
                                 "--seed", "0", "--max-iters", "300"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc.stdout.readline()  # data has ...
        proc.stdout.readline()  # ---- : the first sample, so training has started
        started = time.perf_counter() - start
        proc.communicate()
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"a {size / 1e6:.0f} MB text: training started after {started:.1f} s; peak memory "
          f"{peak / 1e6:.0f} MB = {peak / size:.2f}x the file")


STOP_LINE = re.compile(r"(?:stdout: [^;]*; )?stopped at iteration (\d+); saved (.*)")


def signals(args):
    rng = np.random.RandomState(args.seed)
    script = [sys.executable, str(ROOT / "min_char_rnn.py"), str(ROOT / "input.txt")]
    small = ["--hidden-size", "8", "--seq-length", "10"]
    outcomes, bad = collections.Counter(), 0
    with tempfile.TemporaryDirectory() as folder:
        resumed = os.path.join(folder, "resumed.npz")
        subprocess.run(script + ["--checkpoint", resumed, "--max-iters", "50", *small],
                       capture_output=True, check=True)
        for run in range(args.runs):
            fresh = run % 2 == 0
            path = os.path.join(folder, f"fresh{run}.npz") if fresh else resumed
            every = str(rng.choice([1, 7, 1000]))
            proc = subprocess.Popen(script + ["--checkpoint", path, "--save-every", every]
                                    + (small if fresh else ["--resume"]),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(rng.uniform(0, 1.0))
            sent = rng.choice([signal.SIGINT, signal.SIGTERM], size=rng.randint(1, 3))
            for signum in sent:
                proc.send_signal(signum)
                time.sleep(rng.uniform(0, 0.005))
            err = proc.communicate()[1]
            outcome, problems = judge(proc.returncode, err, path, folder)
            outcomes[outcome] += 1
            if problems:
                bad += 1
                print(f"run {run} ({'fresh' if fresh else 'resumed'}, save every {every}, "
                      f"signals {[signal.Signals(s).name for s in sent]}): status "
                      f"{proc.returncode}: {'; '.join(problems)}; stderr: {err!r}")
    print(f"{args.runs} runs, {bad} with a problem (a traceback, a warning, 'Exception "
          "ignored', an unexpected status, a checkpoint that does not load or is not at the "
          "iteration its stop line names, a temporary file left); "
          + ", ".join(f"{count} {outcome}" for outcome, count in outcomes.most_common()))


def judge(status, err, path, folder):
    """What became of a run that was sent signals, and what is wrong with it (a list)."""
    problems = []
    if glob.glob(os.path.join(folder, "*.tmp")):
        problems.append("a temporary file is left")
    try:
        saved_n = min_char_rnn.load_checkpoint(path)["n"] if os.path.exists(path) else None
    except min_char_rnn.CommandLineError as e:
        problems.append(f"the checkpoint does not load: {e}")
        saved_n = None
    lines = err.splitlines()
    stop = STOP_LINE.fullmatch(lines[-1]) if lines else None
    if "Traceback" in err and "KeyboardInterrupt" in err and " in main" not in err:
        return "stopped while Python started (out of scope)", problems
    for noise in ("Traceback", "Warning", "Exception ignored"):
        if noise in err:
            problems.append(f"{noise} on stderr")
    if stop:
        if int(stop[1]) != saved_n:
            problems.append(f"the stop line names {stop[1]}, the checkpoint holds {saved_n}")
        if status not in (130, 143, -signal.SIGINT, -signal.SIGTERM):  # the last two: a
            problems.append("a stop line, but not the status of a signal")  # second signal
            # that came once main() had returned ended Python as such a signal does
        return "stopped and saved", problems
    if status in (-signal.SIGINT, -signal.SIGTERM) or lines[-1:] == [
            "min_char_rnn.py: interrupted"] and status == 130:
        return "ended by a signal before or after training", problems
    problems.append("neither a stop line nor the end a signal makes")
    return "unexpected", problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("speed")
    p.add_argument("text", nargs="?", type=Path, default=ROOT / "input.txt")
    p.add_argument("--iters", type=int)
    p.add_argument("--repeats", type=int, default=3)
    commands.add_parser("save")
    p = commands.add_parser("memory")
    p.add_argument("--megabytes", type=int, default=60)
    p = commands.add_parser("signals")
    p.add_argument("runs", nargs="?", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    globals()[args.command](args)


if __name__ == "__main__":
    main()
