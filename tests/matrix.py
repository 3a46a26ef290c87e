"""Run the test suite on every Python, numpy and CPU kernel at hand, and print a table.

    python tests/matrix.py                       # everything found; see --help for less

Pythons: each --python PATH, or else every python3 under ~/.pyenv/versions and every python3.X on
PATH, one per minor version, kept if requires-python in pyproject.toml allows it. numpy: each
--numpy VERSION, or else for each Python the oldest and the newest release that pyproject's
dependencies allow and that has a wheel for that Python. Each pair gets a virtual environment
under --venvs (default ~/.cache/min-char-rnn-matrix), made once and kept, holding that numpy and
the test extra, from wheels only. The suite then runs as the README runs it, `python -m pytest`
from the project root, with PYTHONUNBUFFERED=1 and without it, for each kernel:

    native  whatever this processor has
    AVX2    numpy's AVX-512 kernels off, OpenBLAS's Haswell kernels
    SSE     numpy's AVX, FMA, AVX2 and AVX-512 kernels off, OpenBLAS's Nehalem kernels

numpy is told which kernels to leave out in the names its own version uses (its dispatch list,
less what this processor lacks, which numpy 1.x refuses); before the suite runs, numpy is
imported under the same environment and the kernels it has on, and OpenBLAS's, are checked.
Progress goes to stderr, the table to stdout; the exit status is 1 if anything failed.
"""
import argparse
import collections
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNELS = {"native": (None, None), "AVX2": (r"AVX512|X86_V4", "Haswell"),
           "SSE": (r"AVX|F16C|FMA|X86_V3|X86_V4", "Nehalem")}  # kernels off, OPENBLAS_CORETYPE
PROBE = r"""
import ctypes, json, numpy
try:
    from numpy._core import _multiarray_umath as m
except ImportError:
    try:
        from numpy.core import _multiarray_umath as m
    except ImportError:  # before numpy 1.16
        m = None
blas = None
with open("/proc/self/maps") as maps:
    for path in sorted({line.split()[-1] for line in maps if "openblas" in line}):
        for name in ("openblas_get_corename", "openblas_get_corename64_",
                     "scipy_openblas_get_corename64_", "scipy_openblas_get_corename"):
            f = getattr(ctypes.CDLL(path), name, None)
            if f:
                f.restype = ctypes.c_char_p
                blas = f().decode()
dispatch = list(getattr(m, "__cpu_dispatch__", []))  # none before numpy 1.20
on = [f for f in dispatch if getattr(m, "__cpu_features__", {}).get(f)]
print(json.dumps({"numpy": numpy.__version__, "dispatch": dispatch, "on": on, "blas": blas}))
"""


def run(cmd, timeout, **kwargs):
    """(exit status or None on a timeout, output): in a process group of its own, killed whole on
    a timeout or Ctrl-C, so that no child of a test outlives it."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace", start_new_session=True, **kwargs)
    try:
        out = p.communicate(timeout=timeout)[0]
        return p.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        return None, p.communicate()[0]
    except BaseException:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise


def say(text):
    print(text, file=sys.stderr, flush=True)


def last_line(out):
    """The last line of out, or the last one that speaks of the network."""
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    net = [line for line in lines if re.search(r"connect|resolve|unreachable", line, re.I)]
    return (net or lines or ["no output"])[-1][:200]


def vkey(version, pad=3):
    nums = [int(n) for n in re.findall(r"\d+", version)[:3]]
    return tuple(nums + [0] * (pad - len(nums)))


def allows(spec, version):
    """Whether version meets a specifier such as ">=3.8" or ">=1.20,<3"."""
    ops = {"<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__", "==": "__eq__",
           "!=": "__ne__"}
    for op, want in re.findall(r"([<>=!~]=?)\s*([\d.]+)", spec):
        have, need, n = vkey(version), vkey(want), len(vkey(want, 0))
        if not (getattr(have, ops[op])(need) if op in ops else  # ~=
                have >= need and have[:n - 1] == need[:n - 1]):
            return False
    return True


def project():
    """requires-python, the numpy requirement's specifier and the test extra, read from
    pyproject.toml's one-line forms: `requires-python = ">=3.8"`, `test = ["pytest>=7"]`."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")

    def strings(key):
        m = re.search(r"^%s\s*=\s*(.*)$" % key, text, re.M)
        return re.findall(r'"([^"]*)"', m.group(1)) if m else []
    numpy = next((d for d in strings("dependencies") if re.match(r"numpy\b", d)), "numpy")
    return (strings("requires-python") or [""])[0], numpy[5:].split(";")[0].strip(), strings("test")


def pythons(paths):
    """(version, path) of each Python given, or else found, one per minor version."""
    found = {}
    for path in paths or sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python3"))) \
            + list(filter(None, (shutil.which("python3.%d" % i) for i in range(6, 30)))):
        status, out = run([path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], 60)
        if status == 0:
            version = last_line(out)
            found.setdefault(path if paths else version.rsplit(".", 1)[0], (version, path))
    return sorted(found.values(), key=lambda vp: vkey(vp[0]))


def venv(cache, version, python, packages=()):
    """The python of a venv of this Python holding packages, made and filled once."""
    where = cache / "-".join(["py" + version] + [p.replace("==", "") for p in packages[:1]])
    py, ready = where / "bin" / "python", where / "matrix-installed.txt"
    if py.exists() and (not packages or ready.exists() and ready.read_text() == str(packages)):
        return py
    say("making %s" % where)
    status, out = run([python, "-m", "venv", str(where)], 600)
    if status == 0 and packages:
        status, out = run([str(py), "-m", "pip", "install", "-q", "--only-binary=:all:",
                           *packages], 1800)
    if status != 0:
        raise RuntimeError("cannot install %s: %s" % (" ".join(packages) or "a venv",
                                                        last_line(out)))
    ready.write_text(str(packages))
    return py


def numpy_ends(cache, version, python, spec):
    """The oldest and the newest numpy allowed by spec that have a wheel for this Python."""
    status, out = run([str(venv(cache, version, python)), "-m", "pip", "download", "--no-deps",
                       "--only-binary=:all:", "-d", str(cache / "none"), "numpy==0"], 600)
    m = re.search(r"from versions: ([^)]*\d)\)", out)  # pip lists those with a wheel here
    made = cache.glob("py%s-numpy*/*-installed.txt" % version)  # for when no registry answers
    wheels = m.group(1).split(", ") if m else [f.parent.name.split("numpy")[1] for f in made]
    if not m:
        say("%s: numpy's releases not found (%s); using %s" % (version, last_line(out), wheels))
    wheels = sorted((v for v in wheels if re.fullmatch(r"[\d.]+", v)), key=vkey)
    allowed = [v for v in wheels if allows(spec, v)]
    if not allowed:
        raise RuntimeError("no numpy%s has a wheel for it (newest that has: %s)" % (
            spec, wheels[-1] if wheels else "none" if m else "registry: " + last_line(out)))
    return sorted({allowed[0], allowed[-1]}, key=vkey)


def probe(py, env):
    """numpy's version, dispatch list, kernels on and OpenBLAS kernel, under env."""
    status, out = run([str(py), "-W", "error", "-c", PROBE], 120, env=env, cwd=ROOT)
    if status != 0:
        raise RuntimeError("numpy does not import: " + last_line(out))
    return json.loads(out.strip().splitlines()[-1])


def suite(py, env, args):
    """The FAILED and ERROR lines of one run of the suite, with its own complaint if none."""
    start = time.time()
    status, out = run([str(py), "-m", "pytest", "-q", "-rfE"] + ["-k", args.k] * bool(args.k),
                      args.timeout, env=env, cwd=ROOT)
    bad = [line for line in out.splitlines() if re.match(r"(FAILED|ERROR) \S", line)]
    if status is None:
        bad = ["run TIMEOUT after %g s - %s" % (args.timeout, last_line(out))]
    elif status != 0 and not bad:
        bad = ["run pytest exit %d - %s" % (status, last_line(out))]
    say("   %s, %.1f s" % ("%d failed" % len(bad) if bad else last_line(out), time.time() - start))
    counts = [f"{p}, {s} skipped" if s else p
              for p, s in re.findall(r"(\d+) passed(?:, (\d+) skipped)?", out)[-1:]]
    return [line.split(" ", 1)[1] for line in bad], counts


def row(cache, version, python, numpy, test, args, failures):
    """{kernel: cell} for one Python and one numpy; failures[test][message] gets the runs."""
    py = venv(cache, version, python, ("numpy==" + numpy, *test))
    env = {k: v for k, v in os.environ.items() if not re.match(
        r"NPY_.*CPU_FEATURES|OPENBLAS_CORETYPE|PYTHON(UNBUFFERED|PATH|HOME)|VIRTUAL_ENV", k)}
    env.update(PYTHONDONTWRITEBYTECODE="1", COLUMNS="250")
    native, cells = probe(py, env), {}
    if native["numpy"] != numpy:
        raise RuntimeError("the venv has numpy %s" % native["numpy"])
    for kernel in args.kernels:
        off, core = KERNELS[kernel]
        kenv = dict(env, **{"NPY_DISABLE_CPU_FEATURES": " ".join(
            f for f in native["on"] if re.match(off, f)), "OPENBLAS_CORETYPE": core} if off else {})
        try:
            seen = probe(py, kenv)
        except RuntimeError as e:
            say("%s numpy %s %s: %s" % (version, numpy, kernel, e))
            cells[kernel] = "NOT SET (numpy refuses it)"
            continue
        say("%s numpy %s %s: kernels on: %s; OpenBLAS %s" % (
            version, numpy, kernel, " ".join(seen["on"]) or "baseline", seen["blas"]))
        left = [f for f in seen["on"] if off and re.match(off, f)]
        if left or core and seen["blas"] and seen["blas"].lower() != core.lower():
            cells[kernel] = "NOT SET (%s)" % (" ".join(left) or "OpenBLAS " + seen["blas"])
            continue
        counts, passed, n = collections.Counter(), set(), 0
        for unbuffered in args.unbuffered:
            for _ in range(args.repeat):
                label = "%s/%s %s%s" % (version, numpy, kernel, " unbuf" * unbuffered)
                say(label)
                bad, npassed = suite(py, dict(kenv, PYTHONUNBUFFERED="1") if unbuffered
                                     else kenv, args)
                passed.update(npassed)
                n += 1
                for line in bad:
                    name, _, message = line.partition(" - ")
                    counts[name] += 1
                    message = re.sub(r"/tmp/pytest-of-\S*?/pytest-\d+/", "TMP/", message)
                    failures[name].setdefault(message[-240:], []).append(label)  # its end: why
        keys = ["#%d%s" % (list(failures).index(t) + 1, "" if c == n else " %d/%d runs" % (c, n))
                for t, c in counts.items()]
        cells[kernel] = ("FAILED %d (%s)" % (len(keys), ", ".join(keys[:3]) + ", ..." * (
            len(keys) > 3)) if counts else "passed " + "/".join(sorted(passed)))
    return cells


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python", action="append", default=[], metavar="PATH",
                    help="an interpreter to use (repeatable; default: all found)")
    ap.add_argument("--numpy", action="append", default=[], metavar="VERSION",
                    help="a numpy version to use (repeatable; default: oldest and newest)")
    ap.add_argument("--kernels", default="native,AVX2,SSE", help="default: native,AVX2,SSE")
    ap.add_argument("--unbuffered", choices=["both", "on", "off"], default="both",
                    help="run with PYTHONUNBUFFERED=1, without it, or both (default)")
    ap.add_argument("--repeat", type=int, default=1, metavar="N", help="runs of each cell")
    ap.add_argument("-k", metavar="EXPR", help="passed to pytest")
    ap.add_argument("--timeout", type=float, default=600, help="seconds for one run (600)")
    ap.add_argument("--venvs", default="~/.cache/min-char-rnn-matrix", metavar="DIR")
    ap.add_argument("--ignore-requires-python", action="store_true",
                    help="also run the Pythons that requires-python excludes")
    args = ap.parse_args()
    args.kernels = args.kernels.split(",")
    if set(args.kernels) - set(KERNELS):
        ap.error("the kernels are " + ", ".join(KERNELS))
    args.unbuffered = {"both": [True, False], "on": [True], "off": [False]}[args.unbuffered]
    start, cache = time.time(), Path(os.path.expanduser(args.venvs))
    cache.mkdir(parents=True, exist_ok=True)
    requires, spec, test = project()
    rows, failures, excluded = [], collections.defaultdict(dict), []
    for version, python in pythons(args.python):
        if not allows(requires, version) and not args.ignore_requires_python:
            excluded.append(version)
            continue
        try:
            numpys = args.numpy or numpy_ends(cache, version, python, spec)
        except RuntimeError as e:
            rows.append([version, "-", str(e)])
            continue
        for numpy in numpys:
            try:
                cells = row(cache, version, python, numpy, test, args, failures)
                rows.append([version, numpy] + [cells[k] for k in args.kernels])
            except RuntimeError as e:
                rows.append([version, numpy, str(e)])
    table = [["Python", "numpy"] + args.kernels] + rows
    full = [r for r in table if len(r) == len(table[0])]
    widths = [max(len(r[i]) for r in full) for i in range(len(table[0]))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if excluded:
        print("not run, outside requires-python %s: %s" % (requires, ", ".join(excluded)))
    for i, (name, messages) in enumerate(failures.items()):
        if i == 20:
            print("\n... and %d more tests failed" % (len(failures) - i))
            break
        print("\n#%d  %s" % (i + 1, name))
        for message, labels in messages.items():
            counts = collections.Counter(labels)
            print("     %s\n       in %s" % (message, ", ".join(
                "%s x%d" % (label, count) for label, count in counts.items())))
    ok = all(c.startswith("passed") for r in rows for c in r[2:])
    print("\n%s; %.0f s" % ("all passed" if ok else "FAILURES", time.time() - start))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
