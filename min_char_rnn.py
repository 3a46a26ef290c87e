"""
A character-level vanilla RNN trained with truncated backpropagation through time, clipping
and Adagrad: Andrej Karpathy's min-char-rnn.py (2015, BSD licence) on Python 3, in its order
and with its names to the end of the training loop; the command line, checkpoints and error
handling follow. Every change from the gist: README.md, "Changes from the gist".
"""
import numpy as np


# data I/O
def read_data(path, max_chars=2**28):
    """The text at path, decoded from UTF-8, and its characters, sorted. A text longer than
    max_chars raises ValueError: read whole, as the gist does, it would not fit in memory."""
    with open(path, encoding="utf-8", newline="") as f:  # newline="": newlines as they are
        parts = [f.read(2**20)]  # a MiB of characters at a time, to a bound: /dev/zero never ends
        while parts[-1] and len(parts) <= max_chars // 2**20:
            parts.append(f.read(2**20))
    data = "".join(parts)
    if len(data) > max_chars:
        raise ValueError(f"{path} has more than {max_chars:,} characters; use a part of it")
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
        # xs[t] is the input's index, not its one-hot vector: Wxh times that vector is column
        # xs[t] of Wxh, read as a slice so that it stays an (H, 1) column
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
        dWxh[:, xs[t]] += dhraw[:, 0]  # dhraw into column xs[t]: the only one the input touched
        dWhh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(Whh.T, dhraw)  # what flows on into hs[t-1]
    # clip in place, each entry on its own into [-5, 5]. Adagrad's steps never exceed about the
    # learning rate, whatever the gradient; what clipping spares is the memory: one exploding
    # gradient, squared into mWxh...mby, would shrink that weight's steps for the rest of the run
    for dparam in [dWxh, dWhh, dWhy, dbh, dby]:
        np.clip(dparam, -5, 5, out=dparam)
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]


def sample(h, seed_ix, n, params, rng, temperature=None):
    """
    n character indices drawn from the model, from state h (not changed) with seed_ix as
    the first input. With a temperature T (generating, not training) the logits are shifted
    by their maximum, so that exp cannot overflow, and divided by T: below 1 is greedier.
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
        p = e / np.sum(e)  # the softmax, as in lossFun
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
                n=n, p=p, hprev=hprev, smooth_loss=smooth_loss, losses=[], samples=[])


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
    losses, samples = state["losses"], state["samples"]  # the history that visualize.py draws
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
            if (n // 100) & (n // 100 - 1) == 0:  # n = 0, 100, 200, 400, 800, 1600, ...
                samples.append((n, txt))

        # forward and backward through the chunk
        loss, dWxh, dWhh, dWhy, dbh, dby, hprev = lossFun(inputs, targets, hprev, params)
        smooth_loss = smooth_loss * 0.999 + loss * 0.001  # an average over ~1000 chunks
        if n % 100 == 0:
            print('iter %d, loss: %f' % (n, smooth_loss))
            losses.append((n, smooth_loss))

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
# arithmetic above. What they guard against, and what they leave out: docs/reference.md.
import argparse
import contextlib
import math
import os
import secrets
import signal
import sys
import tempfile
import time
import warnings

try:
    import fcntl  # to lock a checkpoint against a second run; Windows has none, and no lock
except ImportError:
    fcntl = None

PARAMS = ("Wxh", "Whh", "Why", "bh", "by")  # the names of the parameters in a training state
RNG = ("rng_keys", "rng_pos", "rng_has_gauss", "rng_cached_gaussian")  # RandomState.get_state()
SIGNALS = [getattr(signal, s) for s in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, s)]
MAX_SAMPLE_LENGTH, SAVE_EVERY = 1_000_000, 1000  # SAVE_EVERY: iterations between saves
# A checkpoint is an .npz file of these arrays, each of a dtype and a shape: H is hidden_size,
# V the number of characters, L sample_length; M and K grow with the history.
CHECKPOINT = {
    **dict.fromkeys(["format_version", "hidden_size", "seq_length", "sample_length", "seed",
                     "n", "p", "rng_pos", "rng_has_gauss"], ("i8", ())),
    **dict.fromkeys(["learning_rate", "smooth_loss", "rng_cached_gaussian"], ("f8", ())),
    "vocab": ("i8", ("V",)), "rng_keys": ("u4", (624,)), "hprev": ("f8", ("H", 1)),
    **{m + k: ("f8", shape) for k, shape in zip(PARAMS, [("H", "V"), ("H", "H"), ("V", "H"),
                                                        ("H", 1), ("V", 1)])
       for m in ("", "m")},  # each parameter, and its Adagrad memory
    "loss_n": ("i8", ("M",)), "loss": ("f8", ("M",)),  # smooth_loss at each n % 100 == 0
    "sample_n": ("i8", ("K",)), "samples": ("i8", ("K", "L")),  # the samples kept, code points
}
HISTORY = {"loss_n", "loss", "sample_n", "samples"}  # what format 1 (version 1.x) did not keep


class CommandLineError(Exception):
    """Something the user can put right: reported as one line, without a traceback."""


def checkpoint_arrays(state):
    (loss_n, loss), (sample_n, samples) = (list(zip(*state[k])) or [(), ()]
                                           for k in ("losses", "samples"))
    values = dict(state, **dict(zip(RNG, state["rng"].get_state()[1:])), format_version=2,
                  vocab=[ord(c) for c in state["chars"]], loss_n=loss_n, loss=loss,
                  sample_n=sample_n, samples=np.reshape([[ord(c) for c in s] for s in samples],
                                                        (len(samples), state["sample_length"])))
    return {name: np.asarray(values[name], dtype) for name, (dtype, _) in CHECKPOINT.items()}


def checkpoint_problem(a):
    """Why the arrays a (a dict of what a file holds) are no checkpoint of this script, or None."""
    names = set(CHECKPOINT) - (HISTORY if a.get("format_version") == 1 else set())
    if set(a) != names:
        return "its entries are not a checkpoint's: " + describe_chars(sorted(set(a) ^ names), 4)
    if any(v.ndim != len(CHECKPOINT[k][1]) or v.dtype.kind not in
           "iuf"[:2 + (CHECKPOINT[k][0] == "f8")] for k, v in a.items()):
        return "an entry is not an array of the right kind"
    s, vocab = {k: v.item() for k, v in a.items() if v.ndim == 0}, a["vocab"].tolist()
    dims = dict(H=s["hidden_size"], V=len(vocab), L=s["sample_length"],
                M=len(a.get("loss_n", ())), K=len(a.get("sample_n", ())))
    return next((why for why, ok in {
        f"format {s['format_version']} is not 1 or 2": s["format_version"] in (1, 2),
        "an entry has the wrong shape": all(
            v.shape == tuple(dims.get(d, d) for d in CHECKPOINT[k][1]) for k, v in a.items()),
        "a number is infinite or NaN": all(np.isfinite(v).all() for v in a.values()),
        "an Adagrad memory is negative": all((a["m" + k] >= 0).all() for k in PARAMS),
        "vocab is not distinct characters, sorted": vocab and vocab == sorted(set(vocab)) and all(
            0 <= c < 0x110000 and not 0xD800 <= c < 0xE000 for c in vocab),  # no surrogates
        "a setting is out of range": min(s["hidden_size"], s["seq_length"], s["sample_length"])
            >= 1 and s["learning_rate"] > 0 and 0 <= s["n"] < 2**62 and 0 <= s["p"] < 2**62
            and s["sample_length"] <= MAX_SAMPLE_LENGTH and 0 <= s["seed"] < 2**32,
        "a sample has characters not in vocab": np.isin(a.get("samples", []), vocab).all(),
    }.items() if not ok), None)


def load_checkpoint(path, hold=lambda f: None):
    """The state saved at path, its file then given to hold; anything amiss: one line."""
    try:
        if os.path.exists(path) and not os.path.isfile(path):
            raise ValueError("it is not a file (a folder? a device?)")
        with open(path, "rb") as f, warnings.catch_warnings():
            warnings.simplefilter("error")  # what numpy would warn of refuses the file too
            if f.read(4) != b"PK\x03\x04":
                raise ValueError("it is not an .npz file (a text?)")
            f.seek(0)
            with np.load(f, allow_pickle=False) as npz:
                a = {k: npz[k] for k in npz.files}
            problem = checkpoint_problem(a)
            if problem:
                raise ValueError(problem)
            rng = np.random.RandomState()
            rng.set_state(("MT19937", *(a[k] for k in RNG)))
            hold(f)  # the file read, and no other
    except FileNotFoundError:
        raise CommandLineError(f"no checkpoint at {path}; check its path") from None
    except CommandLineError:
        raise
    except Exception as e:  # whatever the file makes numpy, zipfile or the checks raise
        raise CommandLineError(f"{path} is not a usable min-char-rnn checkpoint: "
                               f"{str(e)[:200] or type(e).__name__}") from None
    h = {k: a.get(k, np.empty(0)).tolist() for k in HISTORY}
    state = {k: a[k].astype(np.float64) for k in (*PARAMS, *("m" + k for k in PARAMS), "hprev")}
    state.update({k: a[k].item() for k in ("hidden_size", "seq_length", "learning_rate",
                                            "sample_length", "seed", "n", "p")},
                 chars=[chr(c) for c in a["vocab"].tolist()], rng=rng,
                 smooth_loss=np.float64(a["smooth_loss"]), losses=list(zip(h["loss_n"], h["loss"])),
                 samples=[(n, "".join(map(chr, s))) for n, s in zip(h["sample_n"], h["samples"])])
    return state


def write_whole(path, write, fresh=False):
    """Give path the file write(f) fills, whole or not at all: f, a new file of a random name
    in path's folder, then takes path's place at once (fresh: only if no file has it)."""
    fd, tmp = tempfile.mkstemp(".tmp", "min-char-rnn-", os.path.dirname(path) or ".")
    try:
        with open(fd, "wb") as f:
            os.umask(umask := os.umask(0o022))  # the umask, read by setting it, and set back
            os.chmod(tmp, 0o666 & ~umask)  # as open() would make the file (mkstemp: 0o600)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        (os.link if fresh else os.replace)(tmp, path)  # a link takes no name that is taken
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # the name of a link made, or what is left of a failed write


class Checkpoint:
    """The file a run trains, locked against every other run: each file a save writes is
    locked before it takes the name, and the one before it let go. saved_n: what it holds."""

    def __init__(self, path, fresh):
        self.path, self.fresh, self.held = path, fresh, []
        if fresh and os.path.lexists(path):
            raise CommandLineError(f"{path} already exists; add --resume to go on training it, "
                                   "or give a new path" if is_npz(path) else
                                   f"{path} is there and is no checkpoint; give a new path")
        self.state = None if fresh else load_checkpoint(path, lambda f: self.hold(f, path))
        self.saved_n = self.state and self.state["n"]

    def hold(self, f, path=None):
        """Lock the open file f (where there is fcntl) until a file saved after it has its name;
        if path is given, f must still be the file there once locked (no run has replaced it)."""
        if fcntl:
            self.held.append(os.dup(f.fileno()))  # a copy, open once f is closed
            try:
                fcntl.flock(self.held[-1], fcntl.LOCK_EX | fcntl.LOCK_NB)
                if path and not os.path.samestat(os.fstat(self.held[-1]), os.stat(path)):
                    raise BlockingIOError  # another run saved a new file there meanwhile
            except BlockingIOError:
                os.close(self.held.pop())
                raise CommandLineError(f"{self.path} is in use by another run; let it end, or "
                                       "give another --checkpoint") from None

    def save(self, state):
        arrays = checkpoint_arrays(state)
        if checkpoint_problem(arrays):  # never saved, what a load refuses: a NaN that a matrix
            raise FloatingPointError  # product made without a flag, the run said to diverge
        try:
            write_whole(self.path, lambda f: (np.savez(f, **arrays), self.hold(f)), self.fresh)
        except FileExistsError:
            raise CommandLineError(f"{self.path} was created by another run meanwhile") from None
        except OSError as e:
            raise CommandLineError(f"cannot save {self.path}: {e.strerror}{self.kept()}") from None
        self.fresh, self.saved_n = False, state["n"]
        for held in self.held[:-1]:  # the files this one replaced
            os.close(held)
        del self.held[:-1]

    def kept(self):
        """What the file holds, for the end of a message."""
        return "" if self.saved_n is None else f"; {self.path} keeps iteration {self.saved_n}"


def is_npz(path):
    """Whether path starts as a file np.savez writes: a zip whose first entry is an .npy."""
    with contextlib.suppress(OSError), open(path if os.path.isfile(path) else os.devnull) as f:
        head = f.buffer.read(512)  # a zip's first header, then the name of its first entry
        name = head[30:30 + int.from_bytes(head[26:28], "little")]
        return head[:4] == b"PK\x03\x04" and name.endswith(b".npy")


class Output:
    """sys.stdout while a script runs: each write flushed, into a pipe too; on a terminal,
    characters that would steer it as escapes. A failed write (| head has ended, a full disk)
    is put in the list stop, as a signal is: the run stops and saves."""

    def __init__(self, stream, stop):
        self.stream, self.stop, self.tty = stream, stop, stream.isatty()
        with contextlib.suppress(AttributeError):  # what its encoding lacks, as escapes
            stream.reconfigure(errors="backslashreplace")  # (IDLE's stdout cannot)

    def write(self, text):
        try:  # on a terminal, each line as one_line shows it
            self.stream.write("\n".join(map(one_line, text.split("\n"))) if self.tty else text)
            self.stream.flush()
        except OSError as e:
            self.stop.append(e)
            with contextlib.suppress(OSError):  # nothing more goes there, at exit neither
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())

    def flush(self):  # each write is flushed
        pass


def forward(h, ixes, params):
    """The states after reading each of ixes from state h, one at a time: lossFun's step."""
    Wxh, Whh, Why, bh, by = params
    for ix in ixes:
        h = np.tanh(Wxh[:, ix:ix + 1] + np.dot(Whh, h) + bh)
        yield h


def generate(state, prime, length, rng, temperature=1.0):
    """prime, and length characters drawn after reading it (the first uniformly if no prime)."""
    char_to_ix, ix_to_char = char_maps(state["chars"])
    params = tuple(state[k] for k in PARAMS)
    ixes = [char_to_ix[ch] for ch in prime] or [rng.choice(len(ix_to_char))]
    h = np.zeros((state["hidden_size"], 1))
    with np.errstate(over="ignore", under="ignore", invalid="raise"):  # a tiny temperature
        for h in forward(h, ixes[:-1], params):  # gives -inf; weights too large give NaN
            pass  # h: the state after all of the prime but its last
        ixes += sample(h, ixes[-1], length - (not prime), params, rng, temperature)
    return "".join(ix_to_char[ix] for ix in ixes)


def one_line(text):
    """text with each character that is not printable (a newline, an escape) as its escape."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def say(message):
    print(one_line(message), file=sys.stderr, flush=True)


def plural(count, word):
    return f"{count} {word}{'s' * (count != 1)}"


def describe_chars(chars, most=10):
    return ", ".join(map(repr, chars[:most])) + f" and {len(chars) - most} more" * (
        len(chars) > most)


def read_text(path):
    """read_data(path), or one line that says what is wrong with the file."""
    try:
        return read_data(path)
    except UnicodeDecodeError as e:
        raise CommandLineError(f"{path} is a checkpoint, not a text: give it as --checkpoint "
                               f"{path}" if is_npz(path) else f"{path} is not UTF-8 text (byte "
                               f"0x{e.object[e.start]:02x}); convert it to UTF-8 first") from None
    except OSError as e:
        raise CommandLineError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:  # read_data's: too long
        raise CommandLineError(str(e)) from None


def resumed_state(args, chars, checkpoint):
    state = checkpoint.state
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
    say(f"resuming {args.checkpoint} at iteration {state['n']}")
    return state


def run_training(args, stop, checkpoint):
    data, chars = read_text(args.input)
    T = checkpoint.state["seq_length"] if args.resume else args.seq_length or seq_length
    if len(data) < T + 1:
        raise CommandLineError(f"{args.input} has {plural(len(data), 'character')}; training "
                               f"needs at least seq_length + 1 = {T + 1}: use a longer text or "
                               "a smaller --seq-length")
    seed = secrets.randbits(32) if args.seed is None else args.seed  # a flag left out takes
    state = resumed_state(args, chars, checkpoint) if args.resume else init_training(  # the
        chars, seed, args.hidden_size or hidden_size, T,  # value of the block above
        args.learning_rate or learning_rate, args.sample_length or sample_length)
    if args.seed is None and not args.resume:
        say(f"seed {seed} (pass --seed {seed} to repeat this run)")
    if args.max_iters is not None and args.max_iters <= state["n"]:
        say(f"{args.checkpoint} is at iteration {state['n']} already: nothing to do")
        return 0
    n0, start = state["n"], time.perf_counter()
    # from here on a signal only asks the loop to stop, which looks once an iteration
    handlers = {s: signal.signal(s, lambda signum, frame: stop.append(signum)) for s in SIGNALS}
    try:
        if checkpoint:  # at once: a fresh run's name is its own, and saving works
            checkpoint.save(state)
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            for n in train(data, state):
                if checkpoint and n % (args.save_every or SAVE_EVERY) == 0:
                    checkpoint.save(state)
                if n == args.max_iters or stop:
                    break
        if checkpoint and checkpoint.saved_n != state["n"]:
            checkpoint.save(state)
    except (FloatingPointError, ValueError):  # ValueError: probabilities NaN by a silent product
        raise CommandLineError(f"training diverged at iteration {state['n']}: a number overflowed "
                               f"or became NaN{checkpoint.kept() if checkpoint else ''}; start "
                               f"again with a smaller --learning-rate, such as "
                               f"{min(learning_rate, state['learning_rate'] / 10):g}") \
            from None
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
    elapsed, iters, loss = time.perf_counter() - start, state["n"] - n0, state["smooth_loss"]
    speed = f"{iters / elapsed:.0f} it/s" if iters > elapsed else f"{elapsed / iters:.2g} s/it"
    say(f"iteration {state['n']}: {plural(iters, 'iteration')} in {elapsed:.1f} s ({speed}), "
        f"smooth loss {loss:.4f} ({loss / state['seq_length'] / math.log(2):.3f} bits/char)")
    saved = f"saved {args.checkpoint}" if checkpoint else "nothing saved (no --checkpoint)"
    why = f"stdout: {stop[0].strerror}; " if stop and isinstance(stop[0], OSError) else ""
    if stop or checkpoint:
        say(f"{why}stopped at iteration {state['n']}; {saved}" if stop else saved)
    return (1 if why else 128 + stop[0]) if stop else 0


def run_sample_only(args):
    state = load_checkpoint(args.checkpoint)
    unknown = sorted(set(args.prime) - set(state["chars"]))
    if unknown:
        raise CommandLineError(f"--prime has characters the model does not know: "
                               f"{describe_chars(unknown)}")
    seed = secrets.randbits(32) if args.seed is None else args.seed
    if args.seed is None:
        say(f"seed {seed} (pass --seed {seed} to repeat this sample)")
    try:
        print(generate(state, args.prime, args.sample_length or state["sample_length"],
                       np.random.RandomState(seed), args.temperature or 1.0))
    except (FloatingPointError, ValueError):  # ValueError: probabilities NaN, as above
        raise CommandLineError(f"the weights in {args.checkpoint} are too large to compute with: "
                               "a number overflowed") from None
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


def parse_args(argv=None):
    whole = number(int, 1, math.inf, "a whole number of at least 1")
    positive = number(float, 5e-324, sys.float_info.max, "a finite number above 0")
    parser = OneLineErrors(prog="min_char_rnn.py", description="Train a character-level vanilla "
                           "RNN on a text as min-char-rnn.py does; save, resume, sample from it.")
    # The flags of the model default to None, "not given": a fresh run then takes the value
    # of the hyperparameters block, a resumed one the checkpoint's.
    parser.add_argument("input", nargs="?", metavar="TEXT",
                        help="the UTF-8 text to train on (default: input.txt)")
    model = parser.add_argument_group("model and training (a checkpoint keeps these)")
    model.add_argument("--hidden-size", type=number(int, 1, 10**5, "a whole number from 1 to "
                                                    "100000"), metavar="N",
                       help=f"neurons in the hidden layer (default: {hidden_size})")
    model.add_argument("--seq-length", type=whole, metavar="N",
                       help=f"characters per chunk, steps to unroll (default: {seq_length})")
    model.add_argument("--learning-rate", type=positive, metavar="LR",
                       help=f"Adagrad's learning rate (default: {learning_rate})")
    model.add_argument("--seed", metavar="N", type=number(int, 0, 2**32 - 1, "a whole number "
                                                          "from 0 to 2**32-1"),
                       help="to repeat a run or a sample exactly (default: a fresh one, shown)")
    model.add_argument("--sample-length", metavar="N", type=number(
        int, 1, MAX_SAMPLE_LENGTH, f"a whole number from 1 to {MAX_SAMPLE_LENGTH}"),
        help=f"characters in each sample, and what --sample-only prints (default: "
             f"{sample_length})")
    run = parser.add_argument_group("stopping and saving")
    run.add_argument("--max-iters", type=whole, metavar="N",
                     help="stop once iterations 0..N-1 have run (default: run until Ctrl-C)")
    run.add_argument("--checkpoint", metavar="PATH", help="save the training state to this "
                     ".npz file at the start, now and then, at the end and on Ctrl-C")
    run.add_argument("--save-every", type=whole, metavar="N",
                     help=f"iterations between saves (default: {SAVE_EVERY})")
    run.add_argument("--resume", action="store_true",
                     help="go on with the run saved in --checkpoint where it stopped")
    gen = parser.add_argument_group("generating")
    gen.add_argument("--sample-only", action="store_true",
                     help="print text generated by the model in --checkpoint (give no TEXT)")
    gen.add_argument("--prime", default="", metavar="TEXT",
                     help="text the sample starts with and continues (default: none)")
    gen.add_argument("--temperature", type=positive, metavar="T", help="divides the logits: "
                     "below 1 likelier characters, above 1 more varied ones (default: 1.0)")
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
    if args.sample_only:
        return run_sample_only(args)
    checkpoint = args.checkpoint and Checkpoint(args.checkpoint, fresh=not args.resume)
    try:
        return run_training(args, stop, checkpoint)
    finally:
        for held in checkpoint.held if checkpoint else []:  # the lock, let go
            os.close(held)


def main(argv=None, job=run, prog="min_char_rnn.py", smaller="--hidden-size or --seq-length"):
    """job(argv, stop)'s exit status, whatever a user can meet said in one line on stderr."""
    stop, stdout = [], sys.stdout
    try:
        if stdout is None:
            raise CommandLineError("stdout is closed; give it a file or a pipe to print to")
        sys.stdout = Output(stdout, stop)
        status = job(argv, stop)
        if stop and not status:  # stdout failed where nothing else stopped for it: a reader
            if isinstance(stop[0], BrokenPipeError):  # gone (| head) is no news, a full disk is
                return 1
            raise CommandLineError(f"cannot write to stdout: {stop[0].strerror}")
        return status
    except CommandLineError as e:
        say(f"{prog}: error: {e}")
    except MemoryError:
        say(f"{prog}: error: out of memory; try a shorter text or a smaller {smaller}")
    except OSError as e:
        say(f"{prog}: error: {e}")
    except KeyboardInterrupt:
        say(f"{prog}: interrupted")
        return 130
    finally:
        sys.stdout = stdout
    return 1


if __name__ == "__main__":
    sys.exit(main())
