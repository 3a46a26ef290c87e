"""
A character-level vanilla RNN trained with truncated backpropagation through time, clipping
and Adagrad: Andrej Karpathy's min-char-rnn.py (2015, BSD licence) on Python 3, in its order
and with its names down to the end of the training loop; the command line, checkpoints and
error handling follow. Every change from the gist: README.md, "Changes from the gist".
"""
import signal
import sys

if __name__ == "__main__" and hasattr(signal, "pthread_sigmask"):
    # Ctrl-C and SIGTERM wait until main() handles them; after main() they are ignored
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

import argparse
import contextlib
import glob
import hashlib
import io
import stat
import math
import os
import time
import zipfile
import zlib

import numpy as np
import numpy.random  # noqa: F401 (imported now, not lazily when a signal could interrupt it)


# data I/O
def read_data(path):
    """The text to train on and its characters, sorted."""
    data = read_text(path)  # the whole file as UTF-8, checked (see read_text below)
    chars = sorted(set(data))  # sorted: a set's order changes from process to process
    data_size, vocab_size = len(data), len(chars)
    print('data has %d characters, %d unique.' % (data_size, vocab_size))
    return data, chars


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
        # xs[t] is the input's index. Wxh times its one-hot vector is column xs[t] of Wxh,
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
    # hs[t] feeds two things, the output ys[t] and the next state hs[t+1], so its gradient
    # has two terms; dhnext is the second, passed back from step t+1 through Whh. It is
    # zero at the last step: nothing later exists in this chunk.
    dhnext = np.zeros_like(hprev)
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        # softmax followed by cross-entropy: the gradient on the logits is p minus the
        # one-hot target
        dy[targets[t]] -= 1
        dWhy += np.dot(dy, hs[t].T)
        dby += dy
        dh = np.dot(Why.T, dy) + dhnext  # from the output and from step t+1
        dhraw = (1 - hs[t] * hs[t]) * dh  # through tanh, whose derivative is 1 - tanh^2
        dbh += dhraw
        dWxh[:, xs[t]] += dhraw[:, 0]  # dhraw times the one-hot xs[t] transposed
        dWhh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(Whh.T, dhraw)  # what flows on into hs[t-1]
    # clip in place: a step along an exploding gradient would throw the weights far off
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
    # a uniform guess loses -ln(1/V) a character: 25 ln 65 = 104.36 for 65 characters
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
        # at the start, and where the chunk and its last target would not fit (or just would):
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

        p += seq_length  # move on to the next chunk
        n += 1
        state.update(n=n, p=p, hprev=hprev, smooth_loss=smooth_loss)  # what a save keeps
        yield n  # the caller saves, stops or asks for the next iteration


# ---------------------------------------------------------------------------------------
# Command line, checkpoints, generation, error handling. Nothing below changes the
# arithmetic above.

PARAMS = ("Wxh", "Whh", "Why", "bh", "by")  # the names of the parameters in a training state
MAX_TEXT_BYTES = 256 * 2**20  # the largest text read whole
MAX_ARRAY_BYTES = 4 * 2**30  # what the arrays of one training iteration may take
MAX_SAMPLE_LENGTH = 1_000_000
MAX_PRIME_LENGTH = 10_000


class CommandLineError(Exception):
    """A mistake in what the user asked for: reported as one line, without a traceback."""


def read_text(path):
    """The whole file as a string, decoded from UTF-8, newlines as they are."""
    try:
        with open(path, "rb") as f:
            raw = bytearray()  # grown a block at a time: read(n) would take n bytes at once
            while len(raw) <= MAX_TEXT_BYTES:
                block = f.read(2**20)
                if not block:
                    break
                raw += block
    except FileNotFoundError:
        raise CommandLineError(f"{path}: no such file; give the path of a text file") from None
    except IsADirectoryError:
        raise CommandLineError(f"{path} is a directory; give the path of a text file") from None
    except OSError as e:
        raise CommandLineError(f"cannot read {path}: {e.strerror}") from None
    if len(raw) > MAX_TEXT_BYTES:
        raise CommandLineError(f"{path} is larger than {MAX_TEXT_BYTES // 2**20} MiB, the most "
                               "this script reads; use a part of it")
    try:
        data = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CommandLineError(f"{path} is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset "
                               f"{e.start}); convert it to UTF-8 first, e.g. with iconv") from None
    if not data:
        raise CommandLineError(f"{path} is empty; give a text to train on")
    return data


def array_bytes(hidden_size, vocab_size, seq_length):
    """About what one training iteration's float64 arrays take at their peak: seven copies of
    the parameters (themselves, Adagrad memory, gradients, and the temporaries of the update
    and of the gradients' outer products), and per step of a chunk the state and the
    logits, probabilities and gradient of the output."""
    params = hidden_size * (hidden_size + 2 * vocab_size + 1) + vocab_size
    return 8 * (7 * params + seq_length * (2 * hidden_size + 3 * vocab_size))


def size_problem(hidden_size, vocab_size, seq_length):
    """What is wrong with a model of these sizes, or None."""
    need = array_bytes(hidden_size, vocab_size, seq_length)
    if need > MAX_ARRAY_BYTES:
        return (f"hidden size {hidden_size}, {vocab_size} characters and seq_length {seq_length} "
                f"need about {need / 2**30:.3g} GiB of arrays, more than the "
                f"{MAX_ARRAY_BYTES // 2**30} GiB this script allows")
    return None


# A checkpoint is an .npz file: a zip of .npy arrays, one per entry below. Its kind, and its
# shape in terms of H = hidden_size and V = the number of characters. Saving and loading
# both follow this table.
CHECKPOINT_VERSION = 1
MT_WORDS = 624  # words of state of the Mersenne Twister behind np.random.RandomState
CHECKPOINT = {
    "format_version": ("int", ()),
    "vocab": ("int", ("V",)),  # the characters, as code points, sorted
    "hidden_size": ("int", ()),
    "seq_length": ("int", ()),
    "learning_rate": ("float", ()),
    "sample_length": ("int", ()),
    "seed": ("int", ()),
    "n": ("int", ()),
    "p": ("int", ()),
    "hprev": ("float", ("H", 1)),
    "smooth_loss": ("float", ()),
    "Wxh": ("float", ("H", "V")),
    "Whh": ("float", ("H", "H")),
    "Why": ("float", ("V", "H")),
    "bh": ("float", ("H", 1)),
    "by": ("float", ("V", 1)),
    "mWxh": ("float", ("H", "V")),
    "mWhh": ("float", ("H", "H")),
    "mWhy": ("float", ("V", "H")),
    "mbh": ("float", ("H", 1)),
    "mby": ("float", ("V", 1)),
    "rng_keys": ("uint32", (MT_WORDS,)),  # the generator, as RandomState.get_state() gives it
    "rng_pos": ("int", ()),
    "rng_has_gauss": ("int", ()),
    "rng_cached_gaussian": ("float", ()),
}
DTYPES = {"int": np.int64, "uint32": np.uint32, "float": np.float64}  # as saved
KINDS = {"int": "iu", "uint32": "iu", "float": "f"}  # as accepted, up to 8 bytes a number
NPY_HEADER_MAX = 4096  # bytes of an .npy entry before its numbers
ZIP_START, ZIP_END = b"PK\x03\x04", b"PK\x05\x06"
ZIP_END_SIZE = 22  # the end record of a zip file without a comment, as np.savez writes it
MOST_ENTRIES = 64  # more, and a zip file is not taken apart
LARGEST_WEIGHT = 1e100  # beyond this a forward pass could overflow before tanh


def checkpoint_arrays(state):
    """The training state as the arrays of a checkpoint."""
    _, rng_keys, rng_pos, rng_has_gauss, rng_cached_gaussian = state["rng"].get_state()
    values = dict(state, format_version=CHECKPOINT_VERSION,
                  vocab=[ord(ch) for ch in state["chars"]],
                  rng_keys=rng_keys, rng_pos=rng_pos, rng_has_gauss=rng_has_gauss,
                  rng_cached_gaussian=rng_cached_gaussian)
    return {name: np.asarray(values[name], dtype=DTYPES[kind])
            for name, (kind, shape) in CHECKPOINT.items()}


def write_npz(f, arrays):
    """The arrays into the open file f as np.savez writes them: a zip of .npy entries."""
    with zipfile.ZipFile(f, "w") as npz:  # closed here even when a write fails
        for name, a in arrays.items():
            with npz.open(name + ".npy", "w", force_zip64=a.nbytes > 2**30) as entry:
                np.lib.format.write_array(entry, a, allow_pickle=False)


def file_identity(path):
    """(device, inode, size, modification time) of the file at path; None if there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def file_digest(path):
    digest = hashlib.blake2b()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.digest()


def temporary_path(path):
    return f"{path}.{os.getpid()}.tmp"


@contextlib.contextmanager
def signals_held():
    """Ctrl-C and SIGTERM wait until the block is done, where the platform can hold them."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def read_entry(npz, info, name, shape, invalid):
    """The array of one .npy entry, its header checked before any of its numbers is read.
    shape may hold None: a length of at most 0x110000, the number of code points."""
    kind = CHECKPOINT[name][0]
    most = math.prod(0x110000 if d is None else d for d in shape)
    if info.file_size > NPY_HEADER_MAX + 8 * most:
        raise invalid(f"{name} is larger than a checkpoint's {name}")
    with npz.open(info) as f:
        head = io.BytesIO(f.read(NPY_HEADER_MAX))
        version = np.lib.format.read_magic(head)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:
            raise invalid(f"{name} is an .npy array of version {version}, not 1.0 or 2.0")
        found, fortran_order, dtype = read_header(head)
        if len(found) != len(shape) or any(d is not None and d != f for d, f in zip(shape, found)):
            want = tuple("N" if d is None else d for d in shape)
            raise invalid(f"{name} has shape {found}, not ({', '.join(map(str, want))}"
                          f"{',' * (len(want) == 1)})")
        if math.prod(found) > most:
            raise invalid(f"{name} has shape {found}, larger than any checkpoint's")
        if dtype.kind not in KINDS[kind] or dtype.itemsize > 8:
            raise invalid(f"{name} has dtype {dtype}, not {np.dtype(DTYPES[kind])}")
        size = dtype.itemsize * math.prod(found)
        numbers = head.read(size)
        numbers += f.read(size - len(numbers))
    if len(numbers) != size:
        raise invalid(f"{name} is cut short")
    array = np.frombuffer(numbers, dtype).reshape(found, order="F" if fortran_order else "C")
    # a copy in C order and this machine's byte order; integers as they are, unwrapped
    return np.array(array, dtype=np.float64 if kind == "float" else None, order="C")


def read_checkpoint_arrays(f, invalid):
    """Every entry of the checkpoint in the open file f, read in an order that bounds the
    size of each before it is read: the scalars, the vocabulary, then the arrays."""
    size = os.fstat(f.fileno()).st_size
    if f.read(4) != ZIP_START or size < ZIP_END_SIZE:
        raise invalid("it is not an .npz file")
    f.seek(size - ZIP_END_SIZE)
    end = f.read(ZIP_END_SIZE)
    entries, directory = int.from_bytes(end[10:12], "little"), int.from_bytes(end[12:16], "little")
    if end[:4] != ZIP_END or entries > MOST_ENTRIES or directory > MOST_ENTRIES * 1024:
        raise invalid("it is not an .npz file as this script writes them")
    f.seek(0)
    with zipfile.ZipFile(f) as npz:
        if "format_version.npy" not in npz.namelist():
            raise invalid("it has no format_version entry (written by another program?)")
        infos = {}
        for info in npz.infolist():
            name = info.filename[:-len(".npy")]
            if not info.filename.endswith(".npy") or name not in CHECKPOINT:
                raise invalid(f"it holds an entry {info.filename!r} that no checkpoint has")
            if name in infos:
                raise invalid(f"it holds {name} twice")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise invalid(f"{name} is compressed by method {info.compress_type}, which a "
                              "checkpoint never is")
            if info.flag_bits & 0x1:
                raise invalid(f"{name} is encrypted")
            infos[name] = info
        version = read_entry(npz, infos["format_version"], "format_version", (), invalid)
        if version != CHECKPOINT_VERSION:
            raise invalid(f"format {version} is not {CHECKPOINT_VERSION}")
        missing = [name for name in CHECKPOINT if name not in infos]
        if missing:
            raise invalid("missing " + ", ".join(missing))
        arrays = {name: read_entry(npz, infos[name], name, shape, invalid)
                  for name, (kind, shape) in CHECKPOINT.items() if shape == ()}
        arrays["vocab"] = read_entry(npz, infos["vocab"], "vocab", (None,), invalid)
        H, V, T = arrays["hidden_size"].item(), len(arrays["vocab"]), arrays["seq_length"].item()
        if not (H >= 1 and T >= 1 and V >= 1):
            raise invalid("hidden_size, seq_length or the vocabulary is below 1")
        problem = size_problem(H, V, T)
        if problem:
            raise invalid(problem)
        for name, (kind, shape) in CHECKPOINT.items():
            if name not in arrays:
                sizes = tuple({"H": H, "V": V}.get(d, d) for d in shape)
                arrays[name] = read_entry(npz, infos[name], name, sizes, invalid)
    return arrays


def checkpoint_problem(arrays):
    """What makes the arrays of a checkpoint unusable, or None: the checks of every value,
    made before loading one and before saving one."""
    scalars = {name: a.item() for name, a in arrays.items() if a.shape == ()}  # Python numbers
    vocab = arrays["vocab"].tolist()
    checks = [
        (all(np.isfinite(a).all() for a in arrays.values()), "a number is infinite or NaN"),
        (all(0 <= c <= 0x10FFFF for c in vocab), "vocab holds a number that is no code point"),
        (not any(0xD800 <= c <= 0xDFFF for c in vocab), "vocab holds a surrogate, no character"),
        (all(a < b for a, b in zip(vocab, vocab[1:])), "vocab is not sorted and distinct"),
        (scalars["learning_rate"] > 0, "learning_rate is not above 0"),
        (1 <= scalars["sample_length"] <= MAX_SAMPLE_LENGTH, "sample_length is out of range"),
        (0 <= scalars["seed"] < 2**32, "seed is not from 0 to 2**32-1"),
        (0 <= scalars["n"] < 2**62 and 0 <= scalars["p"] < 2**62, "n or p is out of range"),
        (scalars["smooth_loss"] >= 0, "smooth_loss is negative"),
        (np.abs(arrays["hprev"]).max() <= 1, "hprev is outside [-1, 1], where tanh's lie"),
        (all(arrays["m" + k].min() >= 0 for k in PARAMS), "an Adagrad memory is negative"),
        (all(np.abs(arrays[k]).max() <= LARGEST_WEIGHT for k in PARAMS),
         f"a weight is larger than {LARGEST_WEIGHT:g}: too large to compute with"),
        (0 <= scalars["rng_pos"] <= MT_WORDS and scalars["rng_has_gauss"] in (0, 1)
         and 0 <= arrays["rng_keys"].min() and arrays["rng_keys"].max() < 2**32,
         "the state of the random generator is out of range"),
    ]
    for ok, why in checks:
        if not ok:
            return why
    return None


def load_checkpoint(path):
    """The training state saved in path, every entry checked before it is used. Nothing in
    the file is executed (no pickles), and nothing larger than its entries should be is read."""
    def invalid(why):
        return CommandLineError(f"{path} is not a usable min-char-rnn checkpoint: {why}")

    try:
        if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):
            raise invalid("it is not a regular file")  # a pipe or a device would never end
        with open(path, "rb") as f:
            arrays = read_checkpoint_arrays(f, invalid)
    except FileNotFoundError:
        raise CommandLineError(f"no checkpoint at {path}; check its path") from None
    except IsADirectoryError:
        raise CommandLineError(f"{path} is a folder, not a checkpoint file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError,
            zlib.error) as e:
        raise invalid(f"cannot read it ({' '.join(str(e).split()) or type(e).__name__})")
    problem = checkpoint_problem(arrays)
    if problem:
        raise invalid(problem)
    scalars = {name: a.item() for name, a in arrays.items() if a.shape == ()}  # Python numbers
    rng = np.random.RandomState()
    rng.set_state(("MT19937", arrays["rng_keys"].astype(np.uint32), scalars["rng_pos"],
                   scalars["rng_has_gauss"], scalars["rng_cached_gaussian"]))
    state = {k: arrays[k] for k in (*PARAMS, *("m" + k for k in PARAMS), "hprev")}
    state.update(chars=[chr(c) for c in arrays["vocab"].tolist()], rng=rng,
                 smooth_loss=np.float64(scalars["smooth_loss"]))
    for k in ("hidden_size", "seq_length", "learning_rate", "sample_length", "seed", "n", "p"):
        state[k] = scalars[k]
    return state


class Checkpoint:
    """The file a training run saves into, always holding a whole state; only a file this
    run wrote or read is replaced. saved_n is the iteration it holds, None if none yet."""

    def __init__(self, path):
        self.path, self.saved_n = path, None
        self.owned = None  # (file_identity, file_digest) of the file as this run last saw it

    def prepare(self, fresh):
        """Find out now, not at the first save, whether path can be saved to, and remove
        what earlier saves to it left behind."""
        path = self.path
        if not path:
            raise CommandLineError("--checkpoint needs a file name, such as model.npz")
        if os.path.isdir(path):
            raise CommandLineError(f"--checkpoint {path} is a folder; give a file name, such as "
                                   f"{os.path.join(path, 'model.npz')}")
        if path.endswith(os.sep):
            raise CommandLineError(f"--checkpoint {path} ends with {os.sep}; give a file name, "
                                   f"such as {os.path.join(path, 'model.npz')}")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise CommandLineError(f"cannot save {path}: no folder {folder}")
        if fresh and os.path.lexists(path):
            raise CommandLineError(f"{path} already exists; add --resume to go on training it, "
                                   "or give a new path to start afresh")
        if os.path.islink(path):
            raise CommandLineError(f"--checkpoint {path} is a symbolic link; give the path of the "
                                   f"file itself, {os.path.realpath(path)}")
        remove_stale_temporaries(path)
        try:
            with signals_held(), open(temporary_path(path), "wb"):  # what each save writes first
                os.remove(temporary_path(path))
        except OSError as e:
            raise CommandLineError(f"cannot save {path}: {e.strerror}") from None

    def load(self):
        state = load_checkpoint(self.path)
        self.owned = file_identity(self.path), file_digest(self.path)
        self.saved_n = state["n"]
        return state

    def owns(self, found):
        """Whether found, the file_identity of the file at path, is the file this run last
        wrote or read: the same file, or the same only touched since."""
        if self.owned is None:
            return False
        identity, digest = self.owned
        return found == identity or (found[:3] == identity[:3]
                                     and file_digest(self.path) == digest)

    def save(self, state):
        """Write state to path, whole or not at all: into a temporary file beside it, then
        moved onto path. If another program has written path meanwhile, it is left alone,
        and the state goes to PATH.PID.npz instead."""
        path, tmp = self.path, temporary_path(self.path)
        arrays = checkpoint_arrays(state)
        problem = checkpoint_problem(arrays)
        if problem:
            raise CommandLineError(f"not saving {path}: {problem}{self.kept()}")
        try:
            with signals_held():  # a signal during a save takes effect once the save is done
                with open(tmp, "wb") as f:
                    write_npz(f, arrays)
                    f.flush()
                    os.fsync(f.fileno())
                digest = file_digest(tmp)
                found = file_identity(path)
                if found is None:
                    self.create(tmp)
                elif self.owns(found):
                    os.replace(tmp, path)
                else:
                    raise FileExistsError
                self.owned, self.saved_n = (file_identity(path), digest), state["n"]
        except FileExistsError:
            aside = f"{path}.{os.getpid()}.npz"
            try:
                os.replace(tmp, aside)
                instead = f"; this run's state is saved in {aside} instead"
            except OSError:
                instead = "; this run's state is not saved"
            raise CommandLineError(f"not saving {path}: another program wrote it while this run "
                                   f"trained{instead}") from None
        except OSError as e:
            raise CommandLineError(f"cannot save {path}: {e.strerror or e}{self.kept()}") from None
        finally:
            if os.path.lexists(tmp):  # linked, or failed or interrupted (the old file stands)
                os.remove(tmp)

    def create(self, tmp):
        """Give the written temporary file tmp the name path, if no file has it yet."""
        try:
            os.link(tmp, self.path)  # fails if another program created path meanwhile
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: claim the name, then fill it
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
            os.replace(tmp, self.path)

    def kept(self):
        """What the file holds now, for the end of a message."""
        if self.saved_n is not None:
            return f"; {self.path} keeps iteration {self.saved_n}"
        if os.path.lexists(self.path):  # not read yet by a run that resumes it
            return f"; {self.path} is left as it was"
        return "; nothing saved"


def remove_stale_temporaries(path):
    """Remove the temporary files that saves to path left behind when their process was
    killed (their names end in .PID.tmp, for a PID that no longer runs), and say so."""
    if os.name != "posix":  # elsewhere os.kill(pid, 0) would not ask, but end the process
        return
    for tmp in glob.glob(glob.escape(path) + ".*.tmp"):
        pid = tmp[len(path) + 1:-len(".tmp")]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            try:
                os.remove(tmp)
                say(f"removed {tmp}, left by a save that was interrupted")
            except OSError as e:
                say(f"{tmp} is left by a save that was interrupted; cannot remove it: "
                    f"{e.strerror}")
        except (OSError, OverflowError):  # another user's process, or no process number
            pass


# generation from a saved model
def hidden_states(h, ixes, params):
    """The states after reading each index of ixes from state h, as the columns of an
    (H, len(ixes)) array; h is not changed. The forward pass of lossFun, without the output."""
    Wxh, Whh, Why, bh, by = params
    hs = np.empty((Whh.shape[0], len(ixes)))
    for t, ix in enumerate(ixes):
        h = np.tanh(Wxh[:, ix:ix + 1] + np.dot(Whh, h) + bh)
        hs[:, t:t + 1] = h
    return hs


def generate(state, prime, length, rng, temperature=1.0):
    """prime followed by length characters drawn from the model after reading it. Without a
    prime, the first of the length characters is drawn uniformly."""
    char_to_ix, ix_to_char = char_maps(state["chars"])
    params = tuple(state[k] for k in PARAMS)
    if prime:
        ixes = [char_to_ix[ch] for ch in prime]
        to_draw = length
    else:
        ixes = [rng.choice(len(ix_to_char))]
        to_draw = length - 1
    h = np.zeros((state["hidden_size"], 1))
    if len(ixes) > 1:
        h = hidden_states(h, ixes[:-1], params)[:, -1:]  # the state after all but the last
    with np.errstate(over="ignore", under="ignore"):  # a tiny temperature sends logits to -inf
        ixes += sample(h, ixes[-1], to_draw, params, rng, temperature)
    return "".join(ix_to_char[ix] for ix in ixes)


# the command line
def say(message):
    """One line on stderr, if there is a stderr to say it on."""
    if sys.stderr is not None:
        try:
            print(message, file=sys.stderr)
        except (OSError, ValueError):
            pass


class Interrupted(Exception):
    """A Ctrl-C or SIGTERM that stops the program at once."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class StopRequest:
    """The handler of Ctrl-C and SIGTERM. While training runs (at_once False), the first one
    asks it to stop after the iteration under way; a second one, or any while at_once,
    raises Interrupted, once: the ones after it arrive while the program ends."""

    def __init__(self):
        self.at_once, self.signum, self.raised = True, None, False

    def __call__(self, signum, frame):
        if self.raised:
            return
        if self.at_once or self.signum is not None:
            self.raised = True
            raise Interrupted(signum)
        self.signum = signum


def kept(checkpoint):
    """What the checkpoint, if any, holds now, for the end of a message."""
    return "" if checkpoint is None else checkpoint.kept()


def fresh_seed():
    return int.from_bytes(os.urandom(4), "little")


def describe_chars(chars, most=10):
    shown = ", ".join(repr(ch) for ch in chars[:most])
    return shown + (f" and {len(chars) - most} more" if len(chars) > most else "")


def check_stdout(chars):
    """stdout must exist and be able to show every character that may be printed."""
    if sys.stdout is None:
        raise CommandLineError("stdout is closed; give it a file or a pipe to print to")
    encoding = sys.stdout.encoding or "utf-8"
    unshown = [ch for ch in chars if not ch.encode(encoding, "ignore")]
    if unshown:
        raise CommandLineError(f"stdout's encoding {encoding} cannot show {describe_chars(unshown)}"
                               " of the text; set PYTHONIOENCODING=utf-8")


def check_flags_agree(args, state, names):
    """A flag given with a checkpoint must say what the checkpoint says."""
    for name in names:
        given = getattr(args, name)
        if given is not None and given != state[name]:
            flag = "--" + name.replace("_", "-")
            raise CommandLineError(f"{flag} {given} contradicts the checkpoint's {state[name]}; "
                                   f"leave {flag} out to go on with the checkpoint's value")


def resumed_state(args, chars, checkpoint):
    state = checkpoint.load()
    check_flags_agree(args, state, ["hidden_size", "seq_length", "learning_rate", "seed",
                                    "sample_length"])
    if chars != state["chars"]:
        new = sorted(set(chars) - set(state["chars"]))
        gone = sorted(set(state["chars"]) - set(chars))
        differences = []
        if new:
            differences.append(f"new: {describe_chars(new)}")
        if gone:
            differences.append(f"absent: {describe_chars(gone)}")
        raise CommandLineError(f"{args.input} does not have the checkpoint's characters "
                               f"({'; '.join(differences)}); resume on the text the checkpoint "
                               "was trained on")
    return state


def check_long_enough(path, data, seq_length):
    if len(data) < seq_length + 1:
        raise CommandLineError(f"{path} has {len(data)} characters; training needs at least "
                               f"seq_length + 1 = {seq_length + 1}: use a longer text or a "
                               "smaller --seq-length")


def run_training(args, checkpoint, stop):
    if checkpoint is not None:
        checkpoint.prepare(fresh=not args.resume)
    data, chars = read_data(args.input)
    check_stdout(chars)  # only now: print() does nothing at all when stdout is closed
    if args.resume:
        state = resumed_state(args, chars, checkpoint)
        check_long_enough(args.input, data, state["seq_length"])
    else:
        # a flag left out (None) takes the value of the hyperparameters block
        settings = dict(seed=args.seed, hidden_size=args.hidden_size or hidden_size,
                        seq_length=args.seq_length or seq_length,
                        learning_rate=args.learning_rate or learning_rate,
                        sample_length=args.sample_length or sample_length)
        check_long_enough(args.input, data, settings["seq_length"])
        problem = size_problem(settings["hidden_size"], len(chars), settings["seq_length"])
        if problem:
            raise CommandLineError(problem + "; use a smaller --hidden-size or --seq-length")
        if args.seed is None:
            settings["seed"] = fresh_seed()
        state = init_training(chars, **settings)
    if args.max_iters is not None and args.max_iters <= state["n"]:
        say(f"{checkpoint.path} is at iteration {state['n']} already, not below --max-iters "
            f"{args.max_iters}: nothing to do")
        return 0
    if args.resume:
        say(f"resuming {checkpoint.path} at iteration {state['n']}")
    elif args.seed is None:
        say(f"seed {state['seed']} (pass --seed {state['seed']} to repeat this run)")
    save_every_n = args.save_every or save_every
    n0, start = state["n"], time.perf_counter()
    stop.at_once = False  # from now on a first signal lets the iteration under way finish
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            for n in train(data, state):
                if checkpoint is not None and n % save_every_n == 0:
                    checkpoint.save(state)
                if n == args.max_iters or stop.signum is not None:
                    break
    except FloatingPointError:
        raise CommandLineError(
            f"training diverged at iteration {state['n']}: a number overflowed or became NaN"
            f"{kept(checkpoint)}. Start again with a smaller --learning-rate than "
            f"{state['learning_rate']:g}") from None
    if checkpoint is not None and checkpoint.saved_n != state["n"]:
        checkpoint.save(state)
    elapsed = time.perf_counter() - start
    iters = state["n"] - n0
    say(f"iteration {state['n']}: {iters} iterations in {elapsed:.1f} s "
        f"({iters / max(elapsed, 1e-9):.0f} it/s), smooth loss {state['smooth_loss']:.4f} "
        f"({state['smooth_loss'] / state['seq_length'] / math.log(2):.3f} bits/char)")
    if stop.signum is not None:
        where = ("saved " + checkpoint.path + "; add --resume to go on" if checkpoint is not None
                 else "nothing saved (use --checkpoint to keep the model)")
        say(f"interrupted at iteration {state['n']}: {where}")
        return 128 + stop.signum
    return 0


def run_sample_only(args):
    state = load_checkpoint(args.checkpoint)
    check_flags_agree(args, state, ["hidden_size", "seq_length", "learning_rate"])
    check_stdout(state["chars"])
    unknown = sorted(set(args.prime) - set(state["chars"]))
    if unknown:
        raise CommandLineError(f"--prime has characters the model does not know: "
                               f"{describe_chars(unknown)}")
    seed = args.seed
    if seed is None:
        seed = fresh_seed()
        say(f"seed {seed} (pass --seed {seed} to repeat this sample)")
    print(generate(state, args.prime, args.sample_length or state["sample_length"],
                   np.random.RandomState(seed), args.temperature or 1.0))
    return 0


def number_type(kind, low, what, high=math.inf):
    """An argparse type: a finite number of the given kind from low to high (above 0 for a
    float)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not (math.isfinite(value) and low <= value <= high) or (kind is float and value <= 0):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value
    return parse


def prime_type(text):
    if len(text) > MAX_PRIME_LENGTH:
        raise argparse.ArgumentTypeError(f"is {len(text)} characters long, more than "
                                         f"{MAX_PRIME_LENGTH}")
    return text


class OneLineErrors(argparse.ArgumentParser):
    def error(self, message):  # without the usage, which argparse prints first
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv=None):
    whole = number_type(int, 1, "a whole number of at least 1")
    positive = number_type(float, 0, "a finite number above 0")
    parser = OneLineErrors(
        prog="min_char_rnn.py",
        description="Train a character-level vanilla RNN on a text, as min-char-rnn.py does; "
                    "save, resume and sample from it.",
        epilog=f"Limits: a text of at most {MAX_TEXT_BYTES // 2**20} MiB; a model whose arrays "
               f"take at most {MAX_ARRAY_BYTES // 2**30} GiB (56 bytes per parameter plus "
               "8 x seq_length x (2 x hidden size + 3 x characters)).")
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
    model.add_argument("--seed", type=number_type(int, 0, "a whole number from 0 to 2**32-1",
                                                  2**32 - 1),
                       metavar="N", help="seed of the random numbers, to repeat a run exactly "
                                         "(default: a fresh one, shown on stderr)")
    model.add_argument("--sample-length", metavar="N",
                       type=number_type(int, 1, f"a whole number from 1 to {MAX_SAMPLE_LENGTH}",
                                        MAX_SAMPLE_LENGTH),
                       help=f"characters in each sample while training, and what --sample-only "
                            f"prints (default: {sample_length}, or the checkpoint's)")
    run = parser.add_argument_group("stopping and saving")
    run.add_argument("--max-iters", type=whole, metavar="N",
                     help="stop once iterations 0..N-1 have run, resumed ones included "
                          "(default: run until Ctrl-C)")
    run.add_argument("--checkpoint", metavar="PATH",
                     help="save the whole training state to this .npz file now and then, at the "
                          "end and on Ctrl-C")
    run.add_argument("--save-every", type=whole, metavar="N",
                     help=f"iterations between saves (default: {save_every})")
    run.add_argument("--resume", action="store_true",
                     help="continue the run saved in --checkpoint exactly where it stopped")
    gen = parser.add_argument_group("generating")
    gen.add_argument("--sample-only", action="store_true",
                     help="print text generated by the model in --checkpoint, then exit")
    gen.add_argument("--prime", default="", metavar="TEXT", type=prime_type,
                     help=f"text the sample starts with and continues, at most "
                          f"{MAX_PRIME_LENGTH} characters (default: none)")
    gen.add_argument("--temperature", type=positive, metavar="T",
                     help="divides the logits: below 1 more likely characters, above 1 more "
                          "varied ones (default: 1.0)")
    args = parser.parse_args(argv)
    if (args.resume or args.sample_only) and args.checkpoint is None:
        parser.error(f"--{'resume' if args.resume else 'sample-only'} needs --checkpoint PATH")
    if args.resume and args.sample_only:
        parser.error("--resume trains, --sample-only generates: give one of them")
    if args.sample_only and (args.max_iters or args.save_every):
        parser.error("--max-iters and --save-every are for training, not --sample-only")
    if not args.sample_only and (args.prime or args.temperature):
        parser.error("--prime and --temperature go with --sample-only")
    if args.save_every and args.checkpoint is None:
        parser.error("--save-every needs --checkpoint PATH")
    if args.sample_only and args.input is not None:
        parser.error("--sample-only reads no TEXT: leave it out")
    if args.input is None:
        args.input = "input.txt"
    return parser, args


def main(argv=None):
    parser, args = parse_args(argv)
    checkpoint = None  # the file training saves into: none when generating
    if args.checkpoint is not None and not args.sample_only:
        checkpoint = Checkpoint(args.checkpoint)
    stop = StopRequest()
    handlers = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if hasattr(signal, "pthread_sigmask"):  # held since the start (see the top of the file)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        if sys.stdout is not None:
            sys.stdout.reconfigure(line_buffering=True)  # each line as printed, into a pipe too
        return run_sample_only(args) if args.sample_only else run_training(args, checkpoint, stop)
    except CommandLineError as e:
        say(f"{parser.prog}: error: {e}")
        return 1
    except Interrupted as e:
        say(f"{parser.prog}: stopped at once{kept(checkpoint)}")
        return 128 + e.signum
    except MemoryError:
        say(f"{parser.prog}: error: out of memory{kept(checkpoint)}; use a smaller --hidden-size "
            "or --seq-length, or a text with fewer distinct characters")
        return 1
    except OSError as e:  # print() could not write to stdout (other OSErrors become
        # CommandLineErrors where they happen)
        if sys.stdout is not None:  # nothing more goes there, at exit either
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        why = "it was closed" if isinstance(e, BrokenPipeError) else e.strerror
        say(f"{parser.prog}: cannot write to stdout ({why}); stopped{kept(checkpoint)}")
        return 1
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)


if __name__ == "__main__":
    sys.exit(main())
