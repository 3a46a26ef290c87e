"""
A character-level vanilla RNN trained with truncated backpropagation through time, clipping
and Adagrad: Andrej Karpathy's min-char-rnn.py (2015, BSD licence) on Python 3, in its order
and with its names to the end of the training loop; the command line, checkpoints and error
handling follow. Every change from the gist: README.md, "Changes from the gist".
"""
import numpy as np


# data I/O
def read_data(path):
    """The text to train on and its characters, sorted."""
    data = read_text(path)  # the whole file, decoded from UTF-8 (just below)
    chars = sorted(set(data))  # sorted: a set's order changes from process to process
    data_size, vocab_size = len(data), len(chars)
    print('data has %d characters, %d unique.' % (data_size, vocab_size))
    return data, chars


def read_text(path):
    """The whole file at path as a string, newlines as they are, or one line saying why not."""
    try:
        with open(path, "rb") as f:
            raw = bytearray()  # a block at a time (f.read(n) takes n bytes at once), to the limit:
            while len(raw) <= MAX_TEXT_BYTES and (block := f.read(2**20)):  # /dev/zero never ends
                raw += block
        data = raw.decode("utf-8") if len(raw) <= MAX_TEXT_BYTES else None
    except OSError as e:
        raise CommandLineError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise CommandLineError(f"{path} is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset "
                               f"{e.start}); convert it to UTF-8 first, e.g. with iconv") from None
    except MemoryError:
        raise CommandLineError(f"out of memory reading {path}; use a part of it") from None
    if not data:
        raise CommandLineError(f"{path} is empty; give a text with characters" if data == "" else
                               f"{path} is larger than {MAX_TEXT_BYTES // 2**20} MiB, the most "
                               "this script reads; use a part of it")
    return data


def char_maps(chars):
    """char_to_ix and ix_to_char: each character's index in chars, and back."""
    char_to_ix = {ch: i for i, ch in enumerate(chars)}
    ix_to_char = {i: ch for i, ch in enumerate(chars)}
    return char_to_ix, ix_to_char


# hyperparameters: the gist's values, each of which a flag can change
hidden_size = 100  # neurons in the hidden layer
seq_length = 25  # characters per chunk: the time steps backpropagation unrolls through
learning_rate = 1e-1
sample_length = 200  # characters in each sample printed while training
save_every = 1000  # iterations between checkpoint saves (the gist saves nothing)


# model parameters. H = hidden_size, V = vocab_size; vectors are columns: h is (H, 1), y (V, 1)
def init_model(vocab_size, hidden_size, rng):
    """Wxh, Whh, Why, bh, by, drawn in the gist's order from rng (a np.random.RandomState)."""
    Wxh = rng.randn(hidden_size, vocab_size) * 0.01  # (H, V): a character into the state
    Whh = rng.randn(hidden_size, hidden_size) * 0.01  # (H, H): the last state into the next
    Why = rng.randn(vocab_size, hidden_size) * 0.01  # (V, H): the state out to the scores
    bh = np.zeros((hidden_size, 1))  # (H, 1): added to the state before tanh
    by = np.zeros((vocab_size, 1))  # (V, 1): added to the scores
    return Wxh, Whh, Why, bh, by


def lossFun(inputs, targets, hprev, params):
    """
    inputs, targets: lists of character indices, targets[t] being the character after
    inputs[t]; hprev: the (H, 1) state before inputs[0]; params: (Wxh, Whh, Why, bh, by).
    Returns the loss, the gradients of the five parameters (clipped to [-5, 5]) and the
    state after the last input. Nothing passed in is changed.
    """
    Wxh, Whh, Why, bh, by = params
    xs, hs, ys, ps = {}, {}, {}, {}
    hs[-1] = np.copy(hprev)  # dicts: key -1 is the state before step 0, read as hs[t - 1]
    loss = 0
    # forward, one step per character
    for t in range(len(inputs)):
        # xs[t] is the input's index: Wxh times its one-hot vector is column xs[t] of Wxh,
        # read as a slice so that it stays an (H, 1) column
        xs[t] = inputs[t]
        hs[t] = np.tanh(Wxh[:, xs[t]:xs[t] + 1] + np.dot(Whh, hs[t - 1]) + bh)  # the new state
        ys[t] = np.dot(Why, hs[t]) + by  # a score for each possible next character (logits)
        e = np.exp(ys[t])
        ps[t] = e / np.sum(e)  # softmax: probabilities of the next character
        loss += -np.log(ps[t][targets[t], 0])  # cross-entropy
    # backward: the gradients, summed one step at a time from the last
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    # hs[t] feeds the output ys[t] and the next state hs[t+1], so its gradient has two terms;
    # dhnext is the second, passed back from step t+1 through Whh. It starts at zero: the
    # backpropagation is truncated at the end of the chunk, where nothing later is counted.
    dhnext = np.zeros_like(hprev)
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        # softmax and cross-entropy together: the gradient on the logits is the
        # probabilities minus the one-hot vector of the target
        dy[targets[t]] -= 1
        dWhy += np.dot(dy, hs[t].T)
        dby += dy
        dh = np.dot(Why.T, dy) + dhnext  # from the output and from step t+1
        dhraw = (1 - hs[t] * hs[t]) * dh  # through tanh, whose derivative is 1 - tanh^2
        dbh += dhraw
        dWxh[:, xs[t]] += dhraw[:, 0]  # dhraw times the one-hot xs[t] transposed
        dWhh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(Whh.T, dhraw)  # what flows on into hs[t-1]
    # clip in place, each entry on its own into [-5, 5] (not by the norm): a step along an
    # exploding gradient would throw the weights far off
    for dparam in [dWxh, dWhh, dWhy, dbh, dby]:
        np.clip(dparam, -5, 5, out=dparam)
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]


def sample(h, seed_ix, n, params, rng, temperature=None):
    """
    n character indices drawn from the model, from state h (not changed) with seed_ix as
    the first input. temperature None is the gist's softmax; a number T shifts the logits
    by their maximum (exp cannot overflow) and divides them by T: below 1 is greedier.
    """
    Wxh, Whh, Why, bh, by = params
    ix = seed_ix
    ixes = []
    for t in range(n):
        h = np.tanh(Wxh[:, ix:ix + 1] + np.dot(Whh, h) + bh)
        y = np.dot(Why, h) + by
        if temperature is not None:
            y = (y - np.max(y)) / temperature
        e = np.exp(y)
        p = e / np.sum(e)
        ix = rng.choice(len(p), p=p.ravel())
        ixes.append(ix)
    return ixes


def init_training(chars, seed, hidden_size=hidden_size, seq_length=seq_length,
                  learning_rate=learning_rate, sample_length=sample_length):
    """What the loop carries between iterations, set up as the gist does: a checkpoint's dict."""
    rng = np.random.RandomState(seed)  # the gist's global generator after np.random.seed(seed)
    Wxh, Whh, Why, bh, by = init_model(len(chars), hidden_size, rng)
    n, p = 0, 0  # iteration counter, data pointer
    mWxh, mWhh, mWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    mbh, mby = np.zeros_like(bh), np.zeros_like(by)  # Adagrad memory: sums of squared gradients
    # loss at iteration 0: a uniform guess, -ln(1/V) a character (25 ln 61 = 102.77 on input.txt)
    smooth_loss = -np.log(1.0 / len(chars)) * seq_length
    hprev = np.zeros((hidden_size, 1))
    return dict(chars=chars, seed=seed, hidden_size=hidden_size, seq_length=seq_length,
                learning_rate=learning_rate, sample_length=sample_length, rng=rng,
                Wxh=Wxh, Whh=Whh, Why=Why, bh=bh, by=by,
                mWxh=mWxh, mWhh=mWhh, mWhy=mWhy, mbh=mbh, mby=mby,
                n=n, p=p, hprev=hprev, smooth_loss=smooth_loss)


def train(data, state):
    """
    The gist's training loop over the text data, from state (see init_training), whose
    arrays it updates in place. A generator: after each iteration it writes n, p, hprev
    and smooth_loss back into state and yields n; the caller saves, stops or goes on.
    """
    char_to_ix, ix_to_char = char_maps(state["chars"])
    hidden_size, seq_length = state["hidden_size"], state["seq_length"]
    learning_rate, sample_length, rng = state["learning_rate"], state["sample_length"], state["rng"]
    Wxh, Whh, Why, bh, by = state["Wxh"], state["Whh"], state["Why"], state["bh"], state["by"]
    mWxh, mWhh, mWhy, mbh, mby = (state[k] for k in ("mWxh", "mWhh", "mWhy", "mbh", "mby"))
    params = Wxh, Whh, Why, bh, by
    n, p, hprev, smooth_loss = state["n"], state["p"], state["hprev"], state["smooth_loss"]
    while True:
        # at the start, and where the chunk and its last target would not fit; the >= also
        # skips a last chunk that would just fit, as the gist does
        if p + seq_length + 1 >= len(data) or n == 0:
            hprev = np.zeros((hidden_size, 1))  # forget the state
            p = 0  # and start again from the beginning of the text
        # seq_length inputs, each target the character after its input
        inputs = [char_to_ix[ch] for ch in data[p:p + seq_length]]
        targets = [char_to_ix[ch] for ch in data[p + 1:p + seq_length + 1]]

        # show what the model writes now and then
        if n % 100 == 0:
            sample_ix = sample(hprev, inputs[0], sample_length, params, rng)
            txt = ''.join(ix_to_char[ix] for ix in sample_ix)
            print('----\n %s \n----' % (txt,))

        # forward and backward through the chunk
        loss, dWxh, dWhh, dWhy, dbh, dby, hprev = lossFun(inputs, targets, hprev, params)
        smooth_loss = smooth_loss * 0.999 + loss * 0.001  # an average over ~1000 chunks
        if n % 100 == 0:
            print('iter %d, loss: %f' % (n, smooth_loss))

        # Adagrad: a weight's step shrinks as its squared gradients add up in mem (1e-8: no
        # division by 0). param and mem are other names for the arrays Wxh, mWxh, ...; +=
        # changes those arrays in place (param = param - ... would train nothing)
        for param, dparam, mem in zip([Wxh, Whh, Why, bh, by],
                                      [dWxh, dWhh, dWhy, dbh, dby],
                                      [mWxh, mWhh, mWhy, mbh, mby]):
            mem += dparam * dparam
            param += -learning_rate * dparam / np.sqrt(mem + 1e-8)

        p += seq_length  # on to the next chunk
        n += 1
        state.update(n=n, p=p, hprev=hprev, smooth_loss=smooth_loss)  # what a save keeps
        yield n  # the caller saves, stops or asks for the next iteration


# ---------------------------------------------------------------------------------------------
# Checkpoints, generation, the command line and error handling: nothing below changes the
# arithmetic above.
import argparse
import contextlib
import fcntl
import math
import os
import secrets
import signal
import stat
import sys
import threading
import time
import warnings
import zipfile

PARAMS = ("Wxh", "Whh", "Why", "bh", "by")  # the names of the parameters in a training state
RNG = ("rng_keys", "rng_pos", "rng_has_gauss", "rng_cached_gaussian")  # RandomState.get_state()
SIGNALS = {signal.SIGINT, signal.SIGTERM}
MAX_TEXT_BYTES = 256 * 2**20  # the largest text read (whole, as the gist reads it)
MAX_SAMPLE_LENGTH = 1_000_000
MAX_ARRAY_BYTES = 4 * 2**30  # what a model's arrays may take, training on one chunk
LARGEST_WEIGHT = 1e100  # beyond this a forward pass could overflow before tanh
NPY_HEADER = 192  # bytes an .npy entry may take before its numbers (numpy writes 128); no more
# can nest deep enough to make a parser print to stderr (Python 3.8's does)


class CommandLineError(Exception):
    """Something the user can put right: reported as one line, without a traceback."""


# A checkpoint is an .npz file, a zip of one .npy array for each entry here: its dtype and its
# shape, H being hidden_size and V the number of characters. Saving and loading both use it.
CHECKPOINT_VERSION = 1
CHECKPOINT = {
    **dict.fromkeys(["format_version", "hidden_size", "seq_length", "sample_length", "seed",
                     "n", "p", "rng_pos", "rng_has_gauss"], ("i8", ())),
    **dict.fromkeys(["learning_rate", "smooth_loss", "rng_cached_gaussian"], ("f8", ())),
    "vocab": ("i8", ("V",)),  # the characters, as code points, sorted
    "rng_keys": ("u4", (624,)),
    "hprev": ("f8", ("H", 1)),
    **{m + k: ("f8", shape) for k, shape in zip(PARAMS, [("H", "V"), ("H", "H"), ("V", "H"),
                                                        ("H", 1), ("V", 1)])
       for m in ("", "m")},  # each parameter, and its Adagrad memory
}


def checkpoint_arrays(state):
    values = dict(state, **dict(zip(RNG, state["rng"].get_state()[1:])),
                  format_version=CHECKPOINT_VERSION, vocab=[ord(c) for c in state["chars"]])
    return {name: np.asarray(values[name], dtype) for name, (dtype, _) in CHECKPOINT.items()}


def checkpoint_problem(arrays):
    """Why arrays of the right dtypes and shapes make no usable checkpoint, or None: checked
    when one is loaded and before one is saved."""
    s = {name: a.item() for name, a in arrays.items() if a.ndim == 0}  # Python numbers, unwrapped
    vocab, keys = arrays["vocab"].tolist(), arrays["rng_keys"]
    too_large = size_problem(s["hidden_size"], len(vocab), s["seq_length"])
    checks = {
        f"format {s['format_version']} is not {CHECKPOINT_VERSION}":
            s["format_version"] == CHECKPOINT_VERSION,
        "a number is infinite or NaN": all(np.isfinite(a).all() for a in arrays.values()),
        f"a weight is larger than {LARGEST_WEIGHT:g}: too large to compute with":
            all(np.abs(arrays[k]).max() <= LARGEST_WEIGHT for k in PARAMS),
        "an Adagrad memory is negative": all(arrays["m" + k].min() >= 0 for k in PARAMS),
        "vocab is not sorted and distinct code points of characters": vocab == sorted(set(vocab))
            and 0 <= vocab[0] and vocab[-1] <= 0x10FFFF
            and not any(0xD800 <= c < 0xE000 for c in vocab),  # surrogates are no characters
        "a setting is out of range": s["seq_length"] >= 1 and 0 < s["learning_rate"]
            and 1 <= s["sample_length"] <= MAX_SAMPLE_LENGTH and 0 <= s["seed"] < 2**32,
        "n or p is out of range": 0 <= s["n"] < 2**62 and 0 <= s["p"] < 2**62,
        too_large: not too_large,
        "the random generator's state is out of range": 0 <= s["rng_pos"] <= 624
            and s["rng_has_gauss"] in (0, 1) and 0 <= keys.min() and keys.max() < 2**32,
    }
    return next((why for why, ok in checks.items() if not ok), None)


def size_problem(H, V, T):
    """Why a model of H neurons and V characters, trained on chunks of T, is refused, or "".
    Memory is not asked for: where it is promised freely, only the kernel's killer says no."""
    need = 8 * (7 * H * (H + 2 * V + 1) + 7 * V + T * (2 * H + 3 * V))  # see docs/reference.md
    return (f"the model would need {need / 2**30:.3g} GiB of arrays, more than "
            f"{MAX_ARRAY_BYTES // 2**30} GiB") if need > MAX_ARRAY_BYTES else ""


def load_checkpoint(path):
    """The training state saved at path. The file is untrusted: np.load runs no pickle, no
    entry is read before the zip directory's size for it fits its shape, and any exception
    or warning that the file causes ends in one line."""
    def entry(name, dims):
        dtype, shape = CHECKPOINT[name]
        shape = tuple(dims.get(d, d) for d in shape)
        info = npz.zip.getinfo(name + ".npy")
        if info.compress_type != zipfile.ZIP_STORED:  # so what it holds is no more than the file
            raise ValueError(f"{name} is compressed, as no checkpoint is")
        if info.file_size > NPY_HEADER + 8 * math.prod(shape):
            raise ValueError(f"{name} is larger than a checkpoint's")
        a = np.asarray(npz[name])  # what is not an .npy array comes as bytes
        if a.dtype.kind not in {"f8": "f"}.get(dtype, "iu") or a.dtype.itemsize > 8 \
                or a.ndim != len(shape) or a.shape != shape and name != "vocab":
            raise ValueError(f"{name} is {a.dtype} of shape {a.shape}, not {np.dtype(dtype)} of "
                             f"shape {'(N,)' if name == 'vocab' else shape}")
        return np.array(a, np.float64, order="C") if dtype == "f8" else a  # this machine's bytes

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ValueError("it is not a regular file")
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f, \
                warnings.catch_warnings():  # O_NONBLOCK: if it has become a FIFO since
            warnings.simplefilter("error")  # a warning about the file refuses it too
            if f.read(4) != b"PK\x03\x04":
                raise ValueError("it is not an .npz file")
            f.seek(0)
            with np.load(f, allow_pickle=False) as npz:
                if sorted(npz.files) != sorted(CHECKPOINT):
                    raise ValueError("its entries are not a checkpoint's: " + (", ".join(
                        sorted(set(npz.files) ^ set(CHECKPOINT))) or "one is there twice"))
                H, V = entry("hidden_size", {}).item(), entry("vocab", {"V": 0x110000}).size
                if H < 1 or V < 1:
                    raise ValueError("hidden_size or the vocabulary is below 1")
                arrays = {name: entry(name, {"H": H, "V": V}) for name in CHECKPOINT}
            problem = checkpoint_problem(arrays)
            if problem:
                raise ValueError(problem)
            rng = np.random.RandomState()
            rng.set_state(("MT19937", *(arrays[k] for k in RNG)))
    except FileNotFoundError:
        raise CommandLineError(f"no checkpoint at {path}; check its path") from None
    except Exception as e:  # whatever the file makes numpy, zipfile or the checks raise
        raise CommandLineError(f"{path} is not a usable min-char-rnn checkpoint: "
                               f"{str(e)[:300] or type(e).__name__}") from None
    state = {k: arrays[k] for k in (*PARAMS, *("m" + k for k in PARAMS), "hprev")}
    state.update({k: arrays[k].item() for k in ("hidden_size", "seq_length", "learning_rate",
                                                "sample_length", "seed", "n", "p")},
                 chars=[chr(c) for c in arrays["vocab"].tolist()], rng=rng,
                 smooth_loss=np.float64(arrays["smooth_loss"]))
    return state


def regular_or_absent(path):
    """One line if something other than a regular file is at path: no link is written through,
    and no folder, device or FIFO is replaced. (Where path cannot be seen, creating it fails.)"""
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise CommandLineError(f"{path} is not a regular file (a link, a folder, a device?); "
                                   "remove it or give another path")


def write_whole(path, write, done=lambda: None):
    """Let write(f) fill the file at path, whole or not at all, with Ctrl-C and SIGTERM held
    until done() has run after it: f is PATH.tmp, created afresh (never through a link, nor
    into a file planted there), synced, then renamed onto path."""
    tmp, held = path + ".tmp", signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        regular_or_absent(tmp)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # what a killed run left
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # fails if one is there
        try:
            with open(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            regular_or_absent(path)  # checked again: what is there may have changed meanwhile
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)  # this run's own: the old file stands
            raise
        done()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def write_npz(f, arrays):
    """The arrays into the open file f as np.savez writes them, the zip closed on failure too."""
    with zipfile.ZipFile(f, "w") as npz:
        for name, a in arrays.items():
            with npz.open(name + ".npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, a, allow_pickle=False)


class Checkpoint:
    """The file a training run saves into, in a with block that holds a lock on PATH.lock
    (left beside it) against every other run. saved_n is the iteration the file holds."""

    def __init__(self, path, fresh):
        self.path, self.saved_n = path, None
        for name in (path, path + ".tmp", path + ".lock"):  # refused now, not at the first save
            regular_or_absent(name)
        try:  # creating the lock also finds out now whether saves can be written beside it
            self.lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        except OSError as e:
            raise CommandLineError(f"cannot save {path}: {e.strerror}") from None
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.lock)
            raise CommandLineError(f"{path} is in use by another run; let it end, or give "
                                   "another --checkpoint") from None
        if fresh and os.path.lexists(path):  # checked under the lock: no run creates it now
            os.close(self.lock)
            raise CommandLineError(f"{path} already exists; add --resume to go on training it, "
                                   "or give a new path to start afresh")

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        os.close(self.lock)

    def save(self, state):
        arrays = checkpoint_arrays(state)
        problem = checkpoint_problem(arrays)
        if problem:  # a state that no load would accept
            raise CommandLineError(f"not saving {self.path}: {problem}{self.kept()}")
        try:  # saved_n set with signals still held: a message never names an older save
            write_whole(self.path, lambda f: write_npz(f, arrays),
                        lambda: setattr(self, "saved_n", state["n"]))
        except OSError as e:
            raise CommandLineError(f"cannot save {self.path}: {e.strerror}{self.kept()}") from None

    def kept(self):
        """What the file holds now, for the end of a message."""
        if self.saved_n is not None:
            return f"; {self.path} keeps iteration {self.saved_n}"
        return f"; {self.path} is left as it was" * os.path.lexists(self.path) or "; nothing saved"


def generate(state, prime, length, rng, temperature=1.0):
    """prime followed by length characters drawn from the model after reading it. Without a
    prime, the first of the length characters is drawn uniformly."""
    char_to_ix, ix_to_char = char_maps(state["chars"])
    params = tuple(state[k] for k in PARAMS)
    Wxh, Whh, Why, bh, by = params
    ixes = [char_to_ix[ch] for ch in prime] or [rng.choice(len(ix_to_char))]
    h = np.zeros((state["hidden_size"], 1))
    for ix in ixes[:-1]:  # the forward pass's state after all of the prime but its last
        h = np.tanh(Wxh[:, ix:ix + 1] + np.dot(Whh, h) + bh)
    with np.errstate(over="ignore", under="ignore"):  # a tiny temperature sends logits to -inf
        ixes += sample(h, ixes[-1], length - (not prime), params, rng, temperature)
    return "".join(ix_to_char[ix] for ix in ixes)


def one_line(text):
    """text with each character that is not printable (a newline, an escape, a bidirectional
    control, an undecodable byte of a file name) written as its escape."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def say(message):
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(one_line(message) + "\n")  # in one write: a stop line comes
            sys.stderr.flush()  # before it or after it, never inside


class Stop:
    """The handler of Ctrl-C and SIGTERM, which never raises. While training, the first one
    asks the loop to stop after the iteration under way; any other ends the program at once,
    in one line that says what the checkpoint holds (kept)."""

    def __init__(self, prog):
        self.prog, self.training, self.signals, self.kept = prog, False, [], lambda: ""

    def __call__(self, signum, frame):
        # a save holds signals in this thread only: one that another thread (BLAS's) took is
        # sent again to this one, where it waits until the save lets it through
        if SIGNALS & signal.pthread_sigmask(signal.SIG_BLOCK, []):
            signal.pthread_kill(threading.get_ident(), signum)
            return
        self.signals.append(signum)  # in one step: a second handler may run inside the first
        if self.training and len(self.signals) == 1:
            return
        if sys.stderr is not None:  # else fd 2 may be a file this program opened
            with contextlib.suppress(OSError, ValueError):
                line = one_line(f"{self.prog}: stopped at once{self.kept()}")
                os.write(sys.stderr.fileno(), line.encode(errors="backslashreplace") + b"\n")
        os._exit(128 + signum)


def guarded(prog, job, argv, memory_hint):
    """job(argv, stop), with Ctrl-C and SIGTERM given to stop and whatever a user can meet
    turned into one line on stderr: the exit status."""
    stop = Stop(prog)
    handlers = {s: signal.signal(s, stop) for s in SIGNALS}
    try:
        if sys.stdout is None:
            raise CommandLineError("stdout is closed; give it a file or a pipe to print to")
        # each line as printed, into a pipe too; a character stdout cannot encode is escaped
        sys.stdout.reconfigure(line_buffering=True, errors="backslashreplace")
        status, line = job(argv, stop), None
    except CommandLineError as e:
        status, line = 1, f"error: {e}"
    except MemoryError:
        status, line = 1, f"error: out of memory{stop.kept()}; {memory_hint}"
    except OSError as e:  # a file operation's error names its file; writing stdout's does not
        status, line = 1, f"error: {e}{stop.kept()}"
        if e.filename is None:
            with contextlib.suppress(OSError, ValueError):  # nothing more goes there, at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            why = "it was closed" if isinstance(e, BrokenPipeError) else e.strerror
            line = f"cannot write to stdout ({why}); stopped{stop.kept()}"
    finally:  # restored before the line is written: the script ignores them from then on
        for s, handler in handlers.items():
            signal.signal(s, handler)
    if line:
        say(f"{prog}: {line}")
    return status


def describe_chars(chars, most=10):
    more = f" and {len(chars) - most} more" * (len(chars) > most)
    return ", ".join(map(repr, chars[:most])) + more


def resumed_state(args, chars, checkpoint):
    state = load_checkpoint(args.checkpoint)
    checkpoint.saved_n = state["n"]
    for name in ("hidden_size", "seq_length", "learning_rate", "seed", "sample_length"):
        given, flag = getattr(args, name), "--" + name.replace("_", "-")
        if given is not None and given != state[name]:
            raise CommandLineError(f"{flag} {given} contradicts the checkpoint's {state[name]}; "
                                   f"leave {flag} out to go on with it")
    new, gone = sorted(set(chars) - set(state["chars"])), sorted(set(state["chars"]) - set(chars))
    if new or gone:
        raise CommandLineError(f"{args.input} does not have the checkpoint's characters (new: "
                               f"{describe_chars(new) or 'none'}; absent: "
                               f"{describe_chars(gone) or 'none'}); resume on its own text")
    return state


def run_training(args, stop, checkpoint):
    data, chars = read_data(args.input)
    problem = not args.resume and size_problem(args.hidden_size or hidden_size, len(chars),
                                               args.seq_length or seq_length)
    if problem:
        raise CommandLineError(problem + "; use a smaller --hidden-size or --seq-length")
    state = resumed_state(args, chars, checkpoint) if args.resume else init_training(
        chars, secrets.randbits(32) if args.seed is None else args.seed,  # a flag left out
        args.hidden_size or hidden_size, args.seq_length or seq_length,  # takes the value of
        args.learning_rate or learning_rate, args.sample_length or sample_length)  # the block
    if len(data) < state["seq_length"] + 1:
        raise CommandLineError(f"{args.input} has {len(data)} characters; training needs at "
                               f"least seq_length + 1 = {state['seq_length'] + 1}: use a longer "
                               "text or a smaller --seq-length")
    if args.max_iters is not None and args.max_iters <= state["n"]:
        say(f"{args.checkpoint} is at iteration {state['n']} already: nothing to do")
        return 0
    if args.resume or args.seed is None:
        say(f"resuming {args.checkpoint} at iteration {state['n']}" if args.resume else
            f"seed {state['seed']} (pass --seed {state['seed']} to repeat this run)")
    n0, start, stop.training = state["n"], time.perf_counter(), True
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            for n in train(data, state):
                if checkpoint and n % (args.save_every or save_every) == 0:
                    checkpoint.save(state)
                if n == args.max_iters or stop.signals:
                    break
    except FloatingPointError:
        raise CommandLineError(f"training diverged at iteration {state['n']}: a number "
                               f"overflowed or became NaN{stop.kept()}. Start again with a "
                               f"smaller --learning-rate than {state['learning_rate']:g}") from None
    finally:
        stop.training = False  # from now on a signal stops the program at once
    if checkpoint and checkpoint.saved_n != state["n"]:
        checkpoint.save(state)
    elapsed, iters = time.perf_counter() - start, state["n"] - n0
    say(f"iteration {state['n']}: {iters} iterations in {elapsed:.1f} s "
        f"({iters / max(elapsed, 1e-9):.0f} it/s), smooth loss {state['smooth_loss']:.4f} "
        f"({state['smooth_loss'] / state['seq_length'] / math.log(2):.3f} bits/char)")
    if not stop.signals:
        return 0
    say(f"interrupted at iteration {state['n']}: " + (
        f"saved {args.checkpoint}; add --resume to go on" if checkpoint else
        "nothing saved (use --checkpoint to keep the model)"))
    return 128 + stop.signals[0]


def run_sample_only(args):
    state = load_checkpoint(args.checkpoint)
    unknown = sorted(set(args.prime) - set(state["chars"]))
    if unknown:
        raise CommandLineError("--prime has characters the model does not know: "
                               + describe_chars(unknown))
    seed = secrets.randbits(32) if args.seed is None else args.seed
    if args.seed is None:
        say(f"seed {seed} (pass --seed {seed} to repeat this sample)")
    print(generate(state, args.prime, args.sample_length or state["sample_length"],
                   np.random.RandomState(seed), args.temperature or 1.0))
    return 0


def number(kind, low, high, what):
    """An argparse type: a number of kind from low to high; else the error 'is not what'."""
    def parse(text):
        with contextlib.suppress(ValueError):
            if low <= kind(text) <= high:  # NaN is neither
                return kind(text)
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return parse


class OneLineErrors(argparse.ArgumentParser):
    def error(self, message):  # without the usage, which argparse prints first
        self.exit(2, one_line(f"{self.prog}: error: {message}") + "\n")

    def print_help(self, file=None):  # failing to write it is an error (argparse says nothing)
        (file or sys.stdout).write(self.format_help())


def parse_args(argv=None):
    whole = number(int, 1, math.inf, "a whole number of at least 1")
    positive = number(float, 5e-324, sys.float_info.max, "a finite number above 0")
    parser = OneLineErrors(prog="min_char_rnn.py", description="Train a character-level vanilla "
                           "RNN on a text as min-char-rnn.py does; save, resume, sample from it.",
                           epilog=f"TEXT may have at most {MAX_TEXT_BYTES // 2**20} MiB. While a "
                           "run trains PATH, PATH.lock keeps other runs off it.")
    # The flags of the model default to None, "not given": a fresh run then takes the value
    # of the hyperparameters block, a resumed one the checkpoint's.
    parser.add_argument("input", nargs="?", metavar="TEXT",
                        help="the UTF-8 text to train on (default: input.txt)")
    model = parser.add_argument_group("model and training (a checkpoint keeps these)")
    model.add_argument("--hidden-size", type=whole, metavar="N",
                       help=f"neurons in the hidden layer (default: {hidden_size})")
    model.add_argument("--seq-length", type=whole, metavar="N",
                       help=f"characters per chunk, steps to unroll (default: {seq_length})")
    model.add_argument("--learning-rate", type=positive, metavar="LR",
                       help=f"Adagrad learning rate (default: {learning_rate})")
    model.add_argument("--seed", type=number(int, 0, 2**32 - 1, "a whole number from 0 to "
                                             "2**32-1"), metavar="N",
                       help="to repeat a run or a sample exactly (default: a fresh one, shown)")
    model.add_argument("--sample-length", metavar="N", type=number(
        int, 1, MAX_SAMPLE_LENGTH, f"a whole number from 1 to {MAX_SAMPLE_LENGTH}"),
        help=f"characters in each sample while training, and what --sample-only prints, at "
             f"most {MAX_SAMPLE_LENGTH:,} (default: {sample_length}, or the checkpoint's)")
    run = parser.add_argument_group("stopping and saving")
    run.add_argument("--max-iters", type=whole, metavar="N",
                     help="stop once iterations 0..N-1 have run (default: run until Ctrl-C)")
    run.add_argument("--checkpoint", metavar="PATH",
                     help="save the training state to this .npz file now and then, at the end "
                          "and on Ctrl-C")
    run.add_argument("--save-every", type=whole, metavar="N",
                     help=f"iterations between saves (default: {save_every})")
    run.add_argument("--resume", action="store_true",
                     help="continue the run saved in --checkpoint exactly where it stopped")
    gen = parser.add_argument_group("generating")
    gen.add_argument("--sample-only", action="store_true",
                     help="print text generated by the model in --checkpoint (give no TEXT)")
    gen.add_argument("--prime", default="", metavar="TEXT",
                     help="text the sample starts with and continues (default: none)")
    gen.add_argument("--temperature", type=positive, metavar="T",
                     help="divides the logits: below 1 likelier characters, above 1 more varied "
                          "ones (default: 1.0)")
    args = parser.parse_args(argv)
    training = [args.hidden_size, args.seq_length, args.learning_rate, args.max_iters,
                args.save_every]
    for ok, message in [  # what must hold, and the error if it does not
        (args.checkpoint != "", "--checkpoint needs a file name, such as model.npz"),
        (args.checkpoint or not (args.resume or args.sample_only),
         f"--{'resume' if args.resume else 'sample-only'} needs --checkpoint PATH"),
        (not (args.resume and args.sample_only), "--resume trains, --sample-only generates"),
        (not (args.sample_only and any(training)), "--hidden-size, --seq-length, "
         "--learning-rate, --max-iters and --save-every are for training, not --sample-only"),
        (args.sample_only or not (args.prime or args.temperature),
         "--prime and --temperature go with --sample-only"),
        (args.checkpoint or not args.save_every, "--save-every needs --checkpoint PATH"),
        (not (args.sample_only and args.input), "--sample-only reads no TEXT: leave it out"),
    ]:
        if not ok:
            parser.error(message)
    args.input = args.input or "input.txt"
    return args


def run(argv, stop):
    args = parse_args(argv)
    if args.sample_only or not args.checkpoint:
        return run_sample_only(args) if args.sample_only else run_training(args, stop, None)
    with Checkpoint(args.checkpoint, fresh=not args.resume) as checkpoint:
        stop.kept = checkpoint.kept
        return run_training(args, stop, checkpoint)


def main(argv=None):
    return guarded("min_char_rnn.py", run, argv, "use a smaller --hidden-size or --seq-length, "
                   "or a text with fewer distinct characters")


if __name__ == "__main__":
    for s in SIGNALS:  # what main() leaves in place as it returns: no traceback at the end
        signal.signal(s, signal.SIG_IGN)
    sys.exit(main())
