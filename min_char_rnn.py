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
                n=n, p=p, hprev=hprev, smooth_loss=smooth_loss,
                loss_sum=0.0, losses=[], samples=[])  # the history that visualize.py draws


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
    loss_sum, losses, samples = state["loss_sum"], state["losses"], state["samples"]
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
        loss_sum += loss  # the chunks' own losses since the last line, for their mean
        if n % 100 == 0:
            print('iter %d, loss: %f' % (n, smooth_loss))
            losses.append((n, smooth_loss, loss_sum / min(n + 1, 100)))  # 1 chunk at n = 0
            loss_sum = 0.0

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
        state.update(n=n, p=p, hprev=hprev, smooth_loss=smooth_loss, loss_sum=loss_sum)
        yield n  # the caller saves, stops or asks for the next iteration


# ---------------------------------------------------------------------------------------------
# Checkpoints, generation, the command line and error handling: nothing below changes the
# arithmetic above. What they guard against, and what they leave out: docs/reference.md.
import argparse
import contextlib
import io
import math
import os
import re
import secrets
import signal
import sys
import time
import warnings

PARAMS = ("Wxh", "Whh", "Why", "bh", "by")  # the names of the parameters in a training state
SETTINGS = ("hidden_size", "seq_length", "sample_length", "seed", "n", "p")  # whole numbers
RNG = ("rng_keys", "rng_pos", "rng_has_gauss", "rng_cached_gaussian")  # RandomState.get_state()
SIGNALS = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
           if hasattr(signal, name)]  # Windows has no SIGHUP
SAVE_EVERY = 1000  # iterations between saves
# Characters that would steer a terminal: control characters but tab and newline, and the
# controls of bidirectional text. On a terminal, samples show them as escapes, such as \x1b.
STEERING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
BREAKING = re.compile(STEERING.pattern + "|[\t\n]")  # what would break a line too


class CommandLineError(Exception):
    """Something the user can put right: reported as one line, without a traceback."""


# The checkpoint: an .npz file of arrays (docs/reference.md, "The checkpoint format")
def array_shapes(H, V):
    """The shape of each array of a training state: H = hidden_size, V = vocab_size."""
    shapes = {"Wxh": (H, V), "Whh": (H, H), "Why": (V, H), "bh": (H, 1), "by": (V, 1)}
    shapes.update({"m" + name: shape for name, shape in shapes.items()})  # Adagrad's memories
    shapes["hprev"] = (H, 1)
    return shapes


def checkpoint_arrays(state):
    """The arrays a checkpoint of state holds, by name."""
    arrays = {name: np.int64(state[name]) for name in SETTINGS}
    arrays["learning_rate"] = np.float64(state["learning_rate"])
    arrays["smooth_loss"] = np.float64(state["smooth_loss"])
    arrays["vocab"] = np.array([ord(ch) for ch in state["chars"]], dtype=np.int64)
    for name in array_shapes(1, 1):
        arrays[name] = state[name]
    arrays.update(zip(RNG, state["rng"].get_state()[1:]))
    arrays.update(history_arrays(state))
    return arrays


def history_arrays(state):
    """The history as arrays: the iteration lines' losses, the samples kept, as code points."""
    losses, samples = state["losses"], state["samples"]
    raw_losses = [math.nan if raw is None else raw for n, smooth, raw in losses]
    codes = np.array([[ord(ch) for ch in text] for n, text in samples], dtype=np.int64)
    return {"loss_n": np.array([n for n, smooth, raw in losses], dtype=np.int64),
            "loss": np.array([smooth for n, smooth, raw in losses], dtype=np.float64),
            "raw_loss": np.array(raw_losses, dtype=np.float64),
            "loss_sum": np.float64(state["loss_sum"]),
            "sample_n": np.array([n for n, text in samples], dtype=np.int64),
            "samples": codes.reshape(len(samples), state["sample_length"])}


def state_from_arrays(arrays):
    """The training state a checkpoint's arrays hold; ValueError if they are not a checkpoint's."""
    required = [*SETTINGS, "learning_rate", "smooth_loss", "vocab", *array_shapes(1, 1), *RNG]
    missing = [name for name in required if name not in arrays]
    if missing:
        raise ValueError(f"it lacks the entries {describe_chars(missing, 4)}")
    state = {name: int(arrays[name]) for name in SETTINGS}
    state["learning_rate"] = float(arrays["learning_rate"])
    state["smooth_loss"] = np.float64(arrays["smooth_loss"])
    state["chars"] = [chr(code) for code in arrays["vocab"].tolist()]
    shapes = array_shapes(state["hidden_size"], len(state["chars"]))
    for name, shape in shapes.items():
        if arrays[name].shape != shape:
            raise ValueError(f"{name} has the shape {arrays[name].shape}, not {shape}")
        state[name] = arrays[name].astype(np.float64)
    state["rng"] = np.random.RandomState()
    state["rng"].set_state(("MT19937", *(arrays[name] for name in RNG)))
    state["losses"], state["samples"] = history(arrays)
    state["loss_sum"] = float(arrays.get("loss_sum", math.nan))  # unknown: saved before it was
    return state


def history(arrays):
    """The losses (n, smooth_loss, mean raw loss or None) and the samples (n, text) kept."""
    loss_n = arrays.get("loss_n", np.empty(0)).tolist()  # none: saved by version 1
    smooth = arrays.get("loss", np.empty(0)).tolist()
    raw = arrays.get("raw_loss", np.full(len(loss_n), np.nan)).tolist()  # none: by version 2
    raw = [None if math.isnan(mean) else mean for mean in raw]
    sample_n = arrays.get("sample_n", np.empty(0)).tolist()
    texts = ["".join(map(chr, codes)) for codes in arrays.get("samples", np.empty(0)).tolist()]
    return list(zip(loss_n, smooth, raw)), list(zip(sample_n, texts))


def load_checkpoint(path):
    """The training state saved at path; anything amiss, said in one line."""
    if not os.path.exists(path):
        raise CommandLineError(f"no checkpoint at {path}; check its path")
    if not is_npz(path):
        raise CommandLineError(f"{path} is not a min-char-rnn checkpoint: it is not an .npz "
                               "file (a text? a folder?)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # what numpy would warn of refuses the file too
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            return state_from_arrays(arrays)
    except MemoryError:
        raise
    except Exception as e:  # whatever the file makes zipfile, numpy or the building raise
        why = str(e)[:200] or type(e).__name__
        raise CommandLineError(f"{path} is not a usable min-char-rnn checkpoint: {why}") from None


def is_npz(path):
    """Whether path is a file as np.savez writes one: a zip whose first entry is an .npy."""
    if not os.path.isfile(path):  # a FIFO would wait for a writer
        return False
    head = b""
    with contextlib.suppress(OSError), open(path, "rb") as f:
        head = f.read(512)  # a zip's first header, then the name of its first entry
    name_length = int.from_bytes(head[26:28], "little")
    name = head[30:30 + name_length]
    return head[:4] == b"PK\x03\x04" and name.endswith(b".npy")


def writes_into(path):
    """Whether a file is written into at path, not replaced: a device, a FIFO, or what
    /dev/stdout and its kind name (a link to the stream's file, whatever that is)."""
    if os.path.dirname(os.path.abspath(path)) in ("/dev", "/dev/fd", "/proc/self/fd"):
        return True
    return os.path.exists(path) and not os.path.isfile(path)


def write_whole(path, data):
    """Give path the bytes data, whole or not at all: a temporary file of this process beside
    it (or its link's target), flushed to disk, renamed over it; or see writes_into."""
    if os.path.basename(path) == "":  # "folder/"
        raise IsADirectoryError(21, "Is a directory")
    if writes_into(path):
        with open(path, "ab") as f:
            f.write(data)
        return
    target = os.path.realpath(path)
    folder, name = os.path.split(target)
    temporary = os.path.join(folder, f"{name[:200]}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


class Checkpoint:
    """The file a run saves to (path None: nothing is saved) and the iteration it holds."""

    def __init__(self, path, saved_n=None):
        self.path = path
        self.saved_n = saved_n

    def save(self, state):
        if self.path is None:
            return
        arrays = checkpoint_arrays(state)
        for name in [*array_shapes(1, 1), "smooth_loss"]:
            if not np.isfinite(arrays[name]).all():  # a NaN that a product made without a
                raise FloatingPointError  # flag: the run has diverged, and this is no state
        data = io.BytesIO()  # in memory: a write that fails leaves no half-written zip behind
        np.savez(data, **arrays)
        try:
            write_whole(self.path, data.getvalue())
        except OSError as e:
            raise CommandLineError(f"cannot save {self.path}: {e.strerror}{self.kept()}") from None
        self.saved_n = state["n"]

    def kept(self):  # what the file holds, for the end of a message
        if self.saved_n is None:
            return ""
        return f"; {self.path} keeps iteration {self.saved_n}"


# Generation
def forward(h, ixes, params):
    """The states after reading each of ixes from state h, one at a time: lossFun's step."""
    Wxh, Whh, Why, bh, by = params
    for ix in ixes:
        h = np.tanh(Wxh[:, ix:ix + 1] + np.dot(Whh, h) + bh)
        yield h


def generate(state, prime, length, rng, temperature=1.0):
    """prime, then length characters drawn from a zero state; no prime: the first is uniform."""
    char_to_ix, ix_to_char = char_maps(state["chars"])
    params = [state[name] for name in PARAMS]
    ixes = [char_to_ix[ch] for ch in prime]
    if not ixes:
        ixes = [rng.choice(len(ix_to_char))]
        length -= 1
    h = np.zeros((state["hidden_size"], 1))
    # a tiny temperature gives -inf, which exp makes 0; weights too large give NaN
    with np.errstate(over="ignore", under="ignore", invalid="raise"):
        for state_after in forward(h, ixes[:-1], params):
            h = state_after  # in the end: the state after all of the prime but its last
        ixes += sample(h, ixes[-1], length, params, rng, temperature)
    return "".join(ix_to_char[ix] for ix in ixes)


# Output: messages on stderr, each one line; stdout as a run prints to it
def as_escape(match):
    return ascii(match.group())[1:-1]  # "\x1b", "\u202e"


def one_line(text):
    """text with each character that would steer a terminal, a tab and a newline as escapes."""
    return BREAKING.sub(as_escape, text)


def say(message):
    print(one_line(message), file=sys.stderr, flush=True)


def plural(count, word):
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word}s"


def describe_chars(chars, most=10):
    """The first `most` of chars, as Python writes them, and how many more there are."""
    shown = ", ".join(repr(ch) for ch in chars[:most])
    if len(chars) > most:
        return f"{shown} and {len(chars) - most} more"
    return shown


class Output:
    """sys.stdout while a script runs: each write flushed; on a terminal, STEERING as escapes. A
    failed write (| head has ended, a full disk) goes in the list stop, as a signal does."""

    def __init__(self, stream, stop):
        self.stream = stream
        self.stop = stop
        self.terminal = stream.isatty()
        if hasattr(stream, "reconfigure"):  # what its encoding lacks, as escapes
            stream.reconfigure(errors="backslashreplace")

    def write(self, text):
        if self.terminal:
            text = STEERING.sub(as_escape, text)
        try:
            self.stream.write(text)
            self.stream.flush()
        except OSError as e:
            self.stop.append(e)
            with contextlib.suppress(OSError):  # nothing more goes there, at exit neither
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())

    def flush(self):  # each write is flushed
        pass


# Training from the command line
def read_text(path):
    """read_data(path), or one line that says what is wrong with the file."""
    try:
        return read_data(path)
    except UnicodeDecodeError as e:
        if is_npz(path):
            raise CommandLineError(f"{path} is a checkpoint, not a text: give it as "
                                   f"--checkpoint {path}") from None
        byte = e.object[e.start]
        raise CommandLineError(f"{path} is not UTF-8 text (byte 0x{byte:02x}); convert it to "
                               "UTF-8 first") from None
    except OSError as e:
        raise CommandLineError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:  # read_data's: too long
        raise CommandLineError(str(e)) from None


def given_or(value, default):
    """A flag's value, or the default where it was left out (None)."""
    if value is None:
        return default
    return value


def check_length(path, data, seq_length):
    if len(data) < seq_length + 1:
        raise CommandLineError(f"{path} has {plural(len(data), 'character')}; training needs "
                               f"at least seq_length + 1 = {seq_length + 1}: use a longer text "
                               "or a smaller --seq-length")


def refuse_taken(path):
    """A fresh run takes no path that is there already (a link to no file: its target is made)."""
    if path is None or not os.path.exists(path):
        return
    if is_npz(path):
        raise CommandLineError(f"{path} exists: add --resume to train it on, or give a new path")
    raise CommandLineError(f"{path} is there and is no checkpoint; give a new path")


def fresh_state(args, data, chars):
    """A new run's state: the hyperparameters block's values, those flags give changed."""
    check_length(args.input, data, given_or(args.seq_length, seq_length))
    refuse_taken(args.checkpoint)
    seed = given_or(args.seed, secrets.randbits(32))  # said once the first save has worked
    return init_training(chars, seed, given_or(args.hidden_size, hidden_size),
                         given_or(args.seq_length, seq_length),
                         given_or(args.learning_rate, learning_rate),
                         given_or(args.sample_length, sample_length))


def resumed_state(args, data, chars):
    """The state in --checkpoint, if the flags and the text agree with it."""
    state = load_checkpoint(args.checkpoint)
    for name in ("hidden_size", "seq_length", "learning_rate", "seed", "sample_length"):
        given = getattr(args, name)
        flag = "--" + name.replace("_", "-")
        if given is not None and given != state[name]:
            raise CommandLineError(f"{flag} {given} contradicts the checkpoint's {state[name]}; "
                                   f"leave {flag} out to go on with it")
    new = sorted(set(chars) - set(state["chars"]))
    gone = sorted(set(state["chars"]) - set(chars))
    if new or gone:
        raise CommandLineError(f"{args.input} does not have the checkpoint's characters (new: "
                               f"{describe_chars(new) or 'none'}; absent: "
                               f"{describe_chars(gone) or 'none'}); resume on its own text")
    check_length(args.input, data, state["seq_length"])
    say(f"resuming {args.checkpoint} at iteration {state['n']}")
    return state


def catch_signals(stop):
    """SIGINT, SIGTERM and SIGHUP only ask the loop to stop, but one ignored at the start stays
    ignored (nohup's SIGHUP, SIGINT in a background job). Returns the handlers to put back."""
    def ask_to_stop(signum, frame):
        stop.append(signum)
    previous = {}
    for signum in SIGNALS:
        if signal.getsignal(signum) != signal.SIG_IGN:
            previous[signum] = signal.signal(signum, ask_to_stop)
    return previous


def train_until_stopped(data, state, args, stop, checkpoint):
    """Train and save until --max-iters, a stop asked for, or divergence."""
    save_every = given_or(args.save_every, SAVE_EVERY)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for n in train(data, state):
            if n % save_every == 0:
                checkpoint.save(state)
            if n == args.max_iters or stop:
                break
    if checkpoint.saved_n != state["n"]:
        checkpoint.save(state)


def divergence(state, checkpoint):
    """The line for a run whose numbers overflowed or turned NaN, and how to start again."""
    rate = min(learning_rate, state["learning_rate"] / 10)
    again = f"start again with a smaller --learning-rate, such as {rate:g}"
    if checkpoint.path is not None:
        again += f", and a new --checkpoint (or remove {checkpoint.path})"
    return CommandLineError(f"training diverged at iteration {state['n']}: a number overflowed "
                            f"or became NaN{checkpoint.kept()}; {again}")


def summary(state, iterations, seconds):
    """The line at the end of a run: what it did, how fast, and the loss."""
    loss = state["smooth_loss"]
    bits = loss / state["seq_length"] / math.log(2)
    return (f"iteration {state['n']}: {plural(iterations, 'iteration')} in {seconds:.1f} s "
            f"({iterations / seconds:,.1f} it/s), smooth loss {loss:.4f} ({bits:.3f} bits/char)")


def ending(state, stop, checkpoint):
    """The line after the summary: why the run stopped, and what was saved."""
    saved = "nothing saved (no --checkpoint)"
    if checkpoint.path is not None:
        saved = f"saved {checkpoint.path}"
    if not stop:
        return saved
    stopped = f"stopped at iteration {state['n']}; {saved}"
    if isinstance(stop[0], OSError):
        return f"stdout: {stop[0].strerror}; {stopped}"
    return stopped


def exit_status(stop):
    """0, or 128 + the signal that stopped the run, or 1 if stdout failed."""
    if not stop:
        return 0
    if isinstance(stop[0], OSError):
        return 1
    return 128 + stop[0]


def run_training(args, stop):
    data, chars = read_text(args.input)
    if args.resume:
        state = resumed_state(args, data, chars)
        checkpoint = Checkpoint(args.checkpoint, state["n"])
    else:
        state = fresh_state(args, data, chars)
        checkpoint = Checkpoint(args.checkpoint)
    if args.max_iters is not None and args.max_iters <= state["n"]:
        say(f"{args.checkpoint} is at iteration {state['n']} already: nothing to do")
        return 0
    checkpoint.save(state)  # at once: a path that cannot be saved to is found before any work
    if args.seed is None and not args.resume:
        say(f"seed {state['seed']} (pass --seed {state['seed']} to repeat this run)")
    first_n = state["n"]
    start = time.perf_counter()
    handlers = catch_signals(stop)
    try:
        train_until_stopped(data, state, args, stop, checkpoint)
    except (FloatingPointError, ValueError):  # ValueError: probabilities NaN by a silent product
        raise divergence(state, checkpoint) from None
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    say(summary(state, state["n"] - first_n, time.perf_counter() - start))
    if stop or checkpoint.path is not None:
        say(ending(state, stop, checkpoint))
    return exit_status(stop)


def run_sample_only(args, stop):
    state = load_checkpoint(args.checkpoint)
    unknown = sorted(set(args.prime) - set(state["chars"]))
    if unknown:
        raise CommandLineError(f"--prime has characters the model does not know: "
                               f"{describe_chars(unknown)}")
    seed = args.seed
    if seed is None:
        seed = secrets.randbits(32)
        say(f"seed {seed} (pass --seed {seed} to repeat this sample)")
    length = given_or(args.sample_length, state["sample_length"])
    temperature = given_or(args.temperature, 1.0)
    try:
        text = generate(state, args.prime, length, np.random.RandomState(seed), temperature)
    except (FloatingPointError, ValueError):  # ValueError: probabilities NaN, as above
        raise CommandLineError(f"the weights in {args.checkpoint} are too large to compute with: "
                               "a number overflowed") from None
    print(text)
    if stop and not isinstance(stop[0], BrokenPipeError):  # a reader gone (| head): no news
        raise CommandLineError(f"cannot write to stdout: {stop[0].strerror}")
    return exit_status(stop)


# The command line
def number(kind, low, high, what):
    """An argparse type: a number of kind from low to high; else the error 'is not what'."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:  # NaN is neither
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value
    return parse


class OneLineErrors(argparse.ArgumentParser):
    def error(self, message):  # without the usage, which argparse prints first
        self.exit(2, one_line(f"{self.prog}: error: {message}") + "\n")


def make_parser():
    whole = number(int, 1, math.inf, "a whole number of at least 1")
    positive = number(float, 5e-324, sys.float_info.max, "a finite number above 0")
    parser = OneLineErrors(prog="min_char_rnn.py", description="Train a character-level vanilla "
                           "RNN on a text as min-char-rnn.py does; save, resume, sample from it.")
    # The flags of the model default to None, "not given": a fresh run then takes the value
    # of the hyperparameters block, a resumed one the checkpoint's.
    parser.add_argument("input", nargs="?", metavar="TEXT",
                        help="the UTF-8 text to train on (default: input.txt)")
    model = parser.add_argument_group("model and training (a checkpoint keeps these)")
    model.add_argument("--hidden-size", metavar="N",
                       type=number(int, 1, 10**5, "a whole number from 1 to 100000"),
                       help=f"neurons in the hidden layer (default: {hidden_size})")
    model.add_argument("--seq-length", type=whole, metavar="N",
                       help=f"characters per chunk, steps to unroll (default: {seq_length})")
    model.add_argument("--learning-rate", type=positive, metavar="LR",
                       help=f"Adagrad's learning rate (default: {learning_rate})")
    model.add_argument("--seed", metavar="N",
                       type=number(int, 0, 2**32 - 1, "a whole number from 0 to 2**32-1"),
                       help="to repeat a run or a sample exactly (default: a fresh one, shown)")
    model.add_argument("--sample-length", metavar="N",
                       type=number(int, 1, 10**6, "a whole number from 1 to 1000000"),
                       help="characters in each sample, and what --sample-only prints "
                       f"(default: {sample_length})")
    run = parser.add_argument_group("stopping and saving")
    run.add_argument("--max-iters", type=whole, metavar="N",
                     help="stop when the iteration count reaches N, a resumed run's earlier "
                     "iterations included (default: run until Ctrl-C)")
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
    return parser


def combination_problem(args):
    """What is wrong with the flags taken together, or None."""
    if args.checkpoint is not None and os.path.basename(args.checkpoint) == "":
        return "--checkpoint needs a file name, such as model.npz"
    needing = [flag for flag in ("resume", "sample_only", "save_every") if getattr(args, flag)]
    if needing and not args.checkpoint:
        return f"--{needing[0].replace('_', '-')} needs --checkpoint PATH"
    if args.sample_only:
        return sampling_problem(args)
    if args.prime or args.temperature:
        return "--prime and --temperature go with --sample-only"
    return None


def sampling_problem(args):
    """What is wrong with the flags of --sample-only, or None."""
    training = [args.hidden_size, args.seq_length, args.learning_rate, args.max_iters,
                args.save_every]
    if args.resume or any(value is not None for value in training):
        return ("--resume, --hidden-size, --seq-length, --learning-rate, --max-iters and "
                "--save-every are for training, not --sample-only")
    if args.input:
        return "--sample-only reads no TEXT: leave it out"
    return None


def parse_args(argv=None):
    parser = make_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}; TEXT is the one argument "
                     "without a flag: give a checkpoint as --checkpoint PATH")
    problem = combination_problem(args)
    if problem:
        parser.error(problem)
    args.input = given_or(args.input, "input.txt")
    return args


def run(argv, stop):
    args = parse_args(argv)
    if args.sample_only:
        return run_sample_only(args, stop)
    return run_training(args, stop)


def main(argv=None, job=run, prog="min_char_rnn.py", smaller="--hidden-size or --seq-length"):
    """job(argv, stop)'s exit status, whatever a user can meet said in one line on stderr."""
    stop = []
    stdout = sys.stdout
    if stdout is None:
        say(f"{prog}: error: stdout is closed; give it a file or a pipe to print to")
        return 1
    sys.stdout = Output(stdout, stop)
    try:
        return job(argv, stop)
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
