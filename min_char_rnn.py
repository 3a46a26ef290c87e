"""
Minimal character-level language model: one vanilla RNN layer, trained with truncated
backpropagation through time, gradient clipping and Adagrad, in numpy.

A Python 3 reimplementation of Andrej Karpathy's min-char-rnn.py (2015, BSD licence).
The order and the names follow the gist, so the two can be read side by side: data I/O,
hyperparameters, model parameters, lossFun, sample, the training loop. The command line,
checkpoints and error handling come after that, at the end of the file.

    python min_char_rnn.py input.txt                       # train until Ctrl-C, as the gist
    python min_char_rnn.py input.txt --seed 0 --max-iters 3000
    python min_char_rnn.py input.txt --checkpoint model.npz          # stop any time...
    python min_char_rnn.py input.txt --checkpoint model.npz --resume # ...and go on
    python min_char_rnn.py --checkpoint model.npz --sample-only --prime "The "

Changes from the gist, and why:
- Python 3. The text is read as UTF-8 and its characters, not its bytes, are the
  vocabulary; newlines are kept as they are in the file.
- chars = sorted(set(data)) instead of list(set(data)): a Python 3 set of strings comes
  out in a different order in every process, so every number would change from run to
  run and a saved model could not be read back.
- Random numbers come from one numpy.random.RandomState(seed), passed to the code that
  draws them, instead of the global generator. --seed N gives exactly the numbers of the
  gist after np.random.seed(N); without it a fresh seed is drawn and shown on stderr.
- Wxh times a one-hot x is read as column x of Wxh, and dWxh gets dhraw added to that
  column, instead of multiplying by vectors of zeros; exp(y) is computed once per step.
  The results are the same to the last bit; at a vocabulary of 3000 characters it is
  about 1.5x faster.
- lossFun and sample take the parameters as an argument instead of reading globals, so
  they can be imported and tested; sample also takes the generator and a temperature.
- The loop stops at --max-iters or on Ctrl-C / SIGTERM (between two iterations), and can
  save and resume its whole state (--checkpoint, --resume) and generate text from a
  saved model (--sample-only). The sample length is a flag (--sample-length, 200).
- A loss or a number that overflows stops the run with a message instead of going on
  with NaN; bad input gets one line of error instead of a traceback.
"""
import argparse
import math
import os
import signal
import sys
import time
import zipfile

import numpy as np

# hyperparameters: the gist's values; each can be set from the command line
hidden_size = 100  # neurons in the hidden layer
seq_length = 25  # characters per chunk: the steps backpropagation unrolls through
learning_rate = 1e-1
sample_length = 200  # characters in each periodic sample
save_every = 1000  # iterations between saves of a checkpoint (the gist saves nothing)


# data I/O
def vocabulary(data):
    """The distinct characters of data, sorted, so that their order never depends on the
    process (char_to_ix and ix_to_char are built from this list)."""
    return sorted(set(data))


# model parameters
def init_model(chars, hidden_size, seq_length, learning_rate, seed, sample_length=sample_length):
    """A fresh training state: the parameters drawn as in the gist, Adagrad memory,
    counters, and the random generator that the samples go on drawing from."""
    rng = np.random.RandomState(seed)  # the gist's np.random.seed(seed)
    vocab_size = len(chars)
    Wxh = rng.randn(hidden_size, vocab_size) * 0.01  # input to hidden
    Whh = rng.randn(hidden_size, hidden_size) * 0.01  # hidden to hidden
    Why = rng.randn(vocab_size, hidden_size) * 0.01  # hidden to output
    bh = np.zeros((hidden_size, 1))  # hidden bias
    by = np.zeros((vocab_size, 1))  # output bias
    return dict(
        chars=chars, hidden_size=hidden_size, seq_length=seq_length,
        learning_rate=learning_rate, sample_length=sample_length, seed=seed, rng=rng,
        Wxh=Wxh, Whh=Whh, Why=Why, bh=bh, by=by,
        mWxh=np.zeros_like(Wxh), mWhh=np.zeros_like(Whh), mWhy=np.zeros_like(Why),
        mbh=np.zeros_like(bh), mby=np.zeros_like(by),  # Adagrad memory
        n=0, p=0,  # iteration counter, data pointer
        hprev=np.zeros((hidden_size, 1)),
        smooth_loss=-np.log(1.0 / vocab_size) * seq_length,  # the loss of a uniform guess
    )


PARAMS = ("Wxh", "Whh", "Why", "bh", "by")


def lossFun(inputs, targets, hprev, params):
    """
    inputs, targets: lists of character indices, targets[t] being the character after
    inputs[t]; hprev: the (hidden_size, 1) state before inputs[0];
    params: (Wxh, Whh, Why, bh, by). Nothing passed in is modified.
    Returns the loss, the gradients of the five parameters (clipped to [-5, 5]) and the
    state after the last input.
    """
    Wxh, Whh, Why, bh, by = params
    xs, hs, ys, ps = {}, {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0
    # forward pass
    for t in range(len(inputs)):
        xs[t] = inputs[t]  # index of the one-hot input: Wxh times it is column xs[t] of Wxh
        hs[t] = np.tanh(Wxh[:, xs[t]:xs[t] + 1] + np.dot(Whh, hs[t - 1]) + bh)  # hidden state
        ys[t] = np.dot(Why, hs[t]) + by  # unnormalised log-probabilities of the next character
        e = np.exp(ys[t])
        ps[t] = e / np.sum(e)  # softmax: probabilities of the next character
        loss += -np.log(ps[t][targets[t], 0])  # cross-entropy
    # backward pass: gradients, one time step at a time from the last
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
        dhraw = (1 - hs[t] * hs[t]) * dh  # back through tanh: tanh' = 1 - tanh^2
        dbh += dhraw
        dWxh[:, xs[t]] += dhraw[:, 0]  # dhraw times the one-hot xs[t] transposed
        dWhh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(Whh.T, dhraw)  # what flows on into hs[t-1]
    # clip in place: a step through an exploding gradient would throw the weights far off
    for dparam in [dWxh, dWhh, dWhy, dbh, dby]:
        np.clip(dparam, -5, 5, out=dparam)
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]


def sample(h, seed_ix, n, params, rng, temperature=1.0):
    """
    Draw n character indices from the model, starting from state h (which is not changed)
    with seed_ix as the first input. temperature divides the logits: 1.0 is the gist's
    sampling, smaller is greedier, larger is closer to uniform.
    """
    Wxh, Whh, Why, bh, by = params
    ix = seed_ix
    ixes = []
    for t in range(n):
        h = np.tanh(Wxh[:, ix:ix + 1] + np.dot(Whh, h) + bh)
        y = np.dot(Why, h) + by
        if temperature != 1.0:
            y = (y - np.max(y)) / temperature  # the shift keeps exp from overflowing
        e = np.exp(y)
        p = e / np.sum(e)
        ix = rng.choice(len(p), p=p.ravel())
        ixes.append(ix)
    return ixes


class Diverged(ArithmeticError):
    """The loss or a number on its way became infinite or NaN at iteration n."""

    def __init__(self, n):
        super().__init__(n)
        self.n = n


def train(data, state, max_iters=None, save=None, save_every=save_every,
          stop_requested=lambda: False):
    """
    The gist's training loop on the text data, continuing from state (see init_model),
    whose arrays are updated in place. Runs until iteration max_iters (None: forever) or
    until stop_requested() is true between two iterations; then state holds n, p, hprev
    and smooth_loss too. save(state) is called every save_every iterations.
    Raises Diverged if the numbers blow up; state is then half-updated and not to be saved.
    """
    chars, rng = state["chars"], state["rng"]
    hidden_size, seq_length = state["hidden_size"], state["seq_length"]
    learning_rate, sample_length = state["learning_rate"], state["sample_length"]
    char_to_ix = {ch: i for i, ch in enumerate(chars)}
    ix_to_char = {i: ch for i, ch in enumerate(chars)}
    params = Wxh, Whh, Why, bh, by = tuple(state[k] for k in PARAMS)
    mWxh, mWhh, mWhy, mbh, mby = (state["m" + k] for k in PARAMS)
    n, p, hprev, smooth_loss = state["n"], state["p"], state["hprev"], state["smooth_loss"]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            while max_iters is None or n < max_iters:
                if stop_requested():
                    break
                # the next chunk: seq_length inputs, each target the character after its input
                if p + seq_length + 1 >= len(data) or n == 0:
                    hprev = np.zeros((hidden_size, 1))  # forget the state
                    p = 0  # and start again from the beginning of the text
                inputs = [char_to_ix[ch] for ch in data[p:p + seq_length]]
                targets = [char_to_ix[ch] for ch in data[p + 1:p + seq_length + 1]]

                # show what the model writes now and then
                if n % 100 == 0:
                    sample_ix = sample(hprev, inputs[0], sample_length, params, rng)
                    txt = "".join(ix_to_char[ix] for ix in sample_ix)
                    print("----\n %s \n----" % (txt,))

                # forward and backward through the chunk
                loss, dWxh, dWhh, dWhy, dbh, dby, hprev = lossFun(inputs, targets, hprev, params)
                if not math.isfinite(loss):
                    raise FloatingPointError
                smooth_loss = smooth_loss * 0.999 + loss * 0.001  # an average over ~1000 chunks
                if n % 100 == 0:
                    print("iter %d, loss: %f" % (n, smooth_loss))

                # Adagrad. param and mem are other names for the arrays Wxh, mWxh, ...;
                # += changes those arrays in place (param = param - ... would train nothing)
                for param, dparam, mem in zip([Wxh, Whh, Why, bh, by],
                                              [dWxh, dWhh, dWhy, dbh, dby],
                                              [mWxh, mWhh, mWhy, mbh, mby]):
                    mem += dparam * dparam
                    param += -learning_rate * dparam / np.sqrt(mem + 1e-8)

                p += seq_length  # move on to the next chunk
                n += 1
                if save is not None and n % save_every == 0:
                    state.update(n=n, p=p, hprev=hprev, smooth_loss=smooth_loss)
                    save(state)
        except FloatingPointError:
            raise Diverged(n) from None
    state.update(n=n, p=p, hprev=hprev, smooth_loss=smooth_loss)


# ---------------------------------------------------------------------------------------
# Command line, checkpoints, error handling. Nothing below changes the arithmetic above.

CHECKPOINT_VERSION = 1


class CommandLineError(Exception):
    """A mistake in what the user asked for: reported as one line, without a traceback."""


def read_text(path):
    """The whole file as a string, decoded from UTF-8, newlines as they are."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise CommandLineError(f"{path}: no such file; give the path of a text file to train on")
    except IsADirectoryError:
        raise CommandLineError(f"{path} is a directory; give the path of a text file to train on")
    except OSError as e:
        raise CommandLineError(f"cannot read {path}: {e.strerror}")
    try:
        data = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CommandLineError(f"{path} is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset "
                               f"{e.start}); convert it to UTF-8 first, e.g. with iconv")
    if not data:
        raise CommandLineError(f"{path} is empty; give a text to train on")
    return data


def fresh_seed():
    return int.from_bytes(os.urandom(4), "little")


def checkpoint_arrays(state):
    """The training state as named plain numeric arrays, the contents of a checkpoint."""
    rng_name, rng_keys, rng_pos, rng_has_gauss, rng_cached_gaussian = state["rng"].get_state()
    arrays = dict(
        format_version=CHECKPOINT_VERSION,
        vocab=[ord(ch) for ch in state["chars"]],  # code points, sorted
        hidden_size=state["hidden_size"], seq_length=state["seq_length"],
        learning_rate=state["learning_rate"], sample_length=state["sample_length"],
        seed=state["seed"], n=state["n"], p=state["p"], hprev=state["hprev"],
        smooth_loss=state["smooth_loss"],
        rng_keys=rng_keys, rng_pos=rng_pos, rng_has_gauss=rng_has_gauss,
        rng_cached_gaussian=rng_cached_gaussian,
    )
    for k in PARAMS:
        arrays[k], arrays["m" + k] = state[k], state["m" + k]
    return {k: np.asarray(v) for k, v in arrays.items()}


def save_checkpoint(path, state):
    """Write state to path, whole or not at all: into a file beside it, then renamed over it."""
    arrays = checkpoint_arrays(state)
    if not all(np.isfinite(a).all() for a in arrays.values()):
        raise CommandLineError(f"not saving {path}: the state holds infinite or NaN numbers")
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise CommandLineError(f"cannot write checkpoint {path}: {e.strerror or e}")
    finally:
        if os.path.exists(tmp):  # interrupted or failed: the previous checkpoint stands
            os.remove(tmp)


def load_checkpoint(path):
    """The training state saved in path. Nothing in the file is executed (no pickles)."""
    def invalid(why):
        return CommandLineError(f"{path} is not a usable min-char-rnn checkpoint: {why}")

    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":  # how every .npz (a zip file) begins
                raise invalid("it is not an .npz file")
            f.seek(0)
            npz = np.load(f, allow_pickle=False)
            with npz:
                arrays = {k: npz[k] for k in npz.files}
        odd = [k for k, a in arrays.items() if not isinstance(a, np.ndarray)]
        if odd:
            raise invalid(f"{odd[0]} is not a numpy array")
    except FileNotFoundError:
        raise CommandLineError(f"no checkpoint at {path}; check the path given to --checkpoint")
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise invalid(f"cannot read it ({' '.join(str(e).split()) or type(e).__name__})")
    if "format_version" not in arrays:
        raise invalid("it has no format_version entry (written by another program?)")
    if arrays["format_version"].shape != () or arrays["format_version"] != CHECKPOINT_VERSION:
        raise invalid(f"format {arrays['format_version']} is not {CHECKPOINT_VERSION}")
    kinds = dict(vocab="i", hidden_size="i", seq_length="i", learning_rate="f",
                 sample_length="i", seed="i", n="i", p="i", hprev="f", smooth_loss="f",
                 rng_keys="u", rng_pos="i", rng_has_gauss="i", rng_cached_gaussian="f")
    kinds.update({k: "f" for k in PARAMS}, **{"m" + k: "f" for k in PARAMS})
    missing = [k for k in kinds if k not in arrays]
    if missing:
        raise invalid("missing " + ", ".join(missing))
    for k, kind in kinds.items():
        if arrays[k].dtype.kind != kind:
            raise invalid(f"{k} has dtype {arrays[k].dtype}")
        if not np.isfinite(arrays[k]).all():
            raise invalid(f"{k} holds infinite or NaN numbers")
    vocab = arrays["vocab"]
    H, V = int(arrays["hidden_size"]), len(vocab)
    shapes = dict(vocab=(V,), Wxh=(H, V), Whh=(H, H), Why=(V, H), bh=(H, 1), by=(V, 1),
                  hprev=(H, 1), rng_keys=(624,))
    for k in kinds:
        want = shapes.get(k.lstrip("m") if k[1:] in PARAMS else k, ())
        if arrays[k].shape != want:
            raise invalid(f"{k} has shape {arrays[k].shape}, not {want}")
    s = {k: arrays[k].item() for k in kinds if arrays[k].shape == ()}
    if not (V >= 1 and np.all(np.diff(vocab) > 0) and 0 <= vocab[0] and vocab[-1] <= 0x10FFFF):
        raise invalid("vocab is not a sorted list of distinct characters")
    if (min(H, s["seq_length"], s["sample_length"]) < 1 or s["learning_rate"] <= 0
            or min(s["n"], s["p"]) < 0 or not 0 <= s["seed"] < 2**32
            or not 0 <= s["rng_pos"] <= 624):
        raise invalid("a size, count or setting is out of range")
    rng = np.random.RandomState()
    rng.set_state(("MT19937", arrays["rng_keys"], s["rng_pos"], s["rng_has_gauss"],
                   s["rng_cached_gaussian"]))
    state = dict(chars=[chr(c) for c in vocab], rng=rng, hprev=arrays["hprev"],
                 smooth_loss=arrays["smooth_loss"][()], **{k: arrays[k] for k in PARAMS},
                 **{"m" + k: arrays["m" + k] for k in PARAMS})
    for k in ("hidden_size", "seq_length", "learning_rate", "sample_length", "seed", "n", "p"):
        state[k] = s[k]
    return state


def generate(state, prime, length, rng, temperature=1.0):
    """prime followed by length characters drawn from the model after reading it.
    Without a prime the first character is drawn uniformly."""
    chars = state["chars"]
    char_to_ix = {ch: i for i, ch in enumerate(chars)}
    params = tuple(state[k] for k in PARAMS)
    h = np.zeros((state["hidden_size"], 1))
    prime_ix = [char_to_ix[ch] for ch in prime]
    with np.errstate(over="ignore", under="ignore"):  # a tiny temperature overflows to -inf
        if prime_ix:
            # lossFun's forward pass reads the prime; its last state is where sampling starts
            h = lossFun(prime_ix[:-1], prime_ix[1:], h, params)[-1]
            ixes = sample(h, prime_ix[-1], length, params, rng, temperature)
        else:
            first = rng.choice(len(chars))
            ixes = [first] + sample(h, first, length - 1, params, rng, temperature)
    return prime + "".join(chars[ix] for ix in ixes)


def describe_chars(chars, most=10):
    shown = ", ".join(repr(ch) for ch in chars[:most])
    return shown + (f" and {len(chars) - most} more" if len(chars) > most else "")


def check_flags_agree(args, state, names):
    """A flag given with a checkpoint must say what the checkpoint says."""
    for name in names:
        given = getattr(args, name)
        if given is not None and given != state[name]:
            flag = "--" + name.replace("_", "-")
            raise CommandLineError(f"{flag} {given} contradicts the checkpoint's {state[name]}; "
                                   f"leave {flag} out to go on with the checkpoint's value")


def training_state(args, chars):
    """The state to train from: the checkpoint's with --resume, else a fresh one."""
    if args.checkpoint is not None:  # find out now, not at the first save
        if not args.resume and os.path.exists(args.checkpoint):
            raise CommandLineError(f"{args.checkpoint} already exists; add --resume to go on "
                                   "training it, or give a new path to start afresh")
        folder = os.path.dirname(os.path.abspath(args.checkpoint))
        if not os.path.isdir(folder):
            raise CommandLineError(f"cannot save {args.checkpoint}: no folder {folder}")
        if not os.access(folder, os.W_OK):
            raise CommandLineError(f"cannot save {args.checkpoint}: {folder} is not writable")
    if not args.resume:
        return init_model(chars, args.hidden_size or hidden_size, args.seq_length or seq_length,
                          args.learning_rate or learning_rate,
                          fresh_seed() if args.seed is None else args.seed,
                          args.sample_length or sample_length)
    state = load_checkpoint(args.checkpoint)
    check_flags_agree(args, state, ["hidden_size", "seq_length", "learning_rate", "seed",
                                    "sample_length"])
    if chars != state["chars"]:
        new = sorted(set(chars) - set(state["chars"]))
        gone = sorted(set(state["chars"]) - set(chars))
        raise CommandLineError(
            f"{args.input} does not have the checkpoint's characters ("
            + "; ".join(([f"new: {describe_chars(new)}"] if new else [])
                        + ([f"absent: {describe_chars(gone)}"] if gone else []))
            + "); resume on the text the checkpoint was trained on")
    return state


def run_training(args):
    data = read_text(args.input)
    chars = vocabulary(data)
    state = training_state(args, chars)
    if len(data) < state["seq_length"] + 1:
        raise CommandLineError(
            f"{args.input} has {len(data)} characters; training needs at least seq_length + 1 "
            f"= {state['seq_length'] + 1}: use a longer text or a smaller --seq-length")
    if args.max_iters is not None and args.max_iters <= state["n"]:
        print(f"{args.checkpoint} is at iteration {state['n']} already, not below "
              f"--max-iters {args.max_iters}: nothing to do", file=sys.stderr)
        return 0
    if args.resume:
        print(f"resuming {args.checkpoint} at iteration {state['n']}", file=sys.stderr)
    elif args.seed is None:
        print(f"seed {state['seed']} (pass --seed {state['seed']} to repeat this run)",
              file=sys.stderr)

    print("data has %d characters, %d unique." % (len(data), len(chars)))
    saved_at = [state["n"]] if args.resume else []

    def save(state):
        save_checkpoint(args.checkpoint, state)
        saved_at.append(state["n"])

    stop = []  # the signal that asked the loop to stop

    def request_stop(signum, frame):
        if stop:  # asked twice: stop at once, leaving the last checkpoint as it is
            raise KeyboardInterrupt
        stop.append(signum)

    handlers = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    n0, start = state["n"], time.perf_counter()
    try:
        train(data, state, args.max_iters, save if args.checkpoint else None,
              args.save_every or save_every, lambda: stop)
        if args.checkpoint and saved_at[-1:] != [state["n"]]:
            save(state)
    except Diverged as e:
        kept = f"; {args.checkpoint} keeps iteration {saved_at[-1]}" if saved_at else ""
        raise CommandLineError(
            f"training diverged at iteration {e.n}: the loss became infinite or NaN{kept}. "
            f"Start again with a smaller --learning-rate than {state['learning_rate']:g}")
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
    elapsed = time.perf_counter() - start
    iters = state["n"] - n0
    print(f"iteration {state['n']}: {iters} iterations in {elapsed:.1f} s "
          f"({iters / max(elapsed, 1e-9):.0f} it/s), smooth loss {state['smooth_loss']:.4f} "
          f"({state['smooth_loss'] / state['seq_length'] / math.log(2):.3f} bits/char)",
          file=sys.stderr)
    if stop:
        where = (f"saved {args.checkpoint}; add --resume to go on" if args.checkpoint
                 else "nothing saved (use --checkpoint to keep the model)")
        print(f"interrupted at iteration {state['n']}: {where}", file=sys.stderr)
        return 128 + stop[0]
    return 0


def run_sample_only(args):
    state = load_checkpoint(args.checkpoint)
    check_flags_agree(args, state, ["hidden_size", "seq_length", "learning_rate"])
    unknown = sorted(set(args.prime) - set(state["chars"]))
    if unknown:
        raise CommandLineError(f"--prime has characters the model does not know: "
                               f"{describe_chars(unknown)}")
    seed = args.seed
    if seed is None:
        seed = fresh_seed()
        print(f"seed {seed} (pass --seed {seed} to repeat this sample)", file=sys.stderr)
    print(generate(state, args.prime, args.sample_length or sample_length,
                   np.random.RandomState(seed), args.temperature or 1.0))
    return 0


def number_type(kind, low, what, high=math.inf):
    """An argparse type: a finite number of the given kind from low to high (above 0 for a
    float)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        if not (math.isfinite(value) and low <= value <= high) or (kind is float and value <= 0):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value
    return parse


def parse_args(argv=None):
    whole = number_type(int, 1, "a whole number of at least 1")
    positive = number_type(float, 0, "a finite number above 0")
    parser = argparse.ArgumentParser(
        prog="min_char_rnn.py",
        description="Train a character-level vanilla RNN on a text, as min-char-rnn.py does; "
                    "save, resume and sample from it.")
    parser.add_argument("input", nargs="?", default="input.txt",
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
    model.add_argument("--sample-length", type=whole, metavar="N",
                       help=f"characters in each sample (default: {sample_length})")
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
    gen.add_argument("--prime", default="", metavar="TEXT",
                     help="text the sample starts with and continues (default: none)")
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
    if args.save_every and not args.checkpoint:
        parser.error("--save-every needs --checkpoint PATH")
    return parser, args


def main(argv=None):
    parser, args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # each line as it is printed, also into a pipe
    try:
        return run_sample_only(args) if args.sample_only else run_training(args)
    except CommandLineError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog}: stopped at once"
              + (f"; {args.checkpoint} is as last saved" if args.checkpoint else ""),
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to say
        print(f"{parser.prog}: stdout was closed; stopped"
              + (f"; {args.checkpoint} is as last saved" if args.checkpoint else ""),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
