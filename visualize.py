"""`python visualize.py model.npz text.txt` prints the mean -ln p(character | the ones before) of
a min_char_rnn.py model over the text, and writes model.html: its loss and samples as it trained
and now, the text shaded by a neuron or by surprise, and how far back training sends gradients."""
import collections
import contextlib
import io
import itertools
import json
import math
import os
import re
import shlex
import sys
import time

import numpy as np

import min_char_rnn
from min_char_rnn import (PARAMS, CommandLineError, OneLineErrors, char_maps, describe_chars,
                          forward, generate, is_npz, load_checkpoint, number, one_line, plural,
                          read_text, say, write_whole, writes_into)

TOP = 5  # guesses shown for the next character
MAX_CHARS = 20_000  # characters on a page: its data grows with them times the hidden size
BLOCK_NUMBERS = 2**20  # states and logits of a block of steps: the steps times (H + V)
GRADIENT_NUMBERS = 2**23  # the gradients of a group of chunks kept at once, for truncation
MAX_VERTICES = 2000  # of the loss curve: a longer history is thinned to these
MIN_READS = 5  # a character describes a neuron if the text shown reads it this often
RESPONSES = 3  # characters that describe a neuron: those of its highest means, and lowest
CLOCK = 0.75  # a neuron that changes sign at this share of the steps or more is a clock
TEMPERATURES, SAMPLE_SEED, SAMPLE_LENGTH = (0.5, 1.0, 1.5), 1, 200  # of the samples of it now


def known_indices(text, char_to_ix, name):
    """The indices of the characters of text that the model knows; on a terminal, the share read."""
    terminal = sys.stderr is not None and sys.stderr.isatty()
    shown_at = time.time()
    for i, ch in enumerate(text):
        if ch in char_to_ix:
            yield char_to_ix[ch]
        if terminal and i % 4096 == 0 and time.time() - shown_at > 1:
            shown_at = time.time()
            print(f"\r{name}: {i / len(text):.0%} read", end="", file=sys.stderr, flush=True)


def log_softmax(ys):
    """Log-probabilities from logits, one column per step, shifted by the max to stay finite."""
    ys = ys - ys.max(axis=0)
    return ys - np.log(np.exp(ys).sum(axis=0))


def top_guesses(logp, k):
    """The k likeliest indices of each column of logp (of equals, the lower first), and their
    log-probabilities."""
    part = np.argpartition(-logp, k - 1, axis=0)[:k]
    order = np.lexsort((part, -np.take_along_axis(logp, part, 0)), axis=0)
    top = np.take_along_axis(part, order, 0)
    return top, np.take_along_axis(logp, top, 0)


def block_nats(last_logp, logp, ix):
    """-ln p of each of ix given the ones before; last_logp: after the step before (None: nan)."""
    nats = np.empty(len(ix))
    nats[0] = np.nan
    if last_logp is not None:
        nats[0] = -last_logp[ix[0]]
    nats[1:] = -logp[ix[1:], np.arange(len(ix) - 1)]
    return nats


def evaluate(ixes, params, shown):
    """The model over the indices ixes (an iterator) from a zero state, in blocks of BLOCK_NUMBERS
    states and logits: the count of indices, the sum of -ln p of each after the first, and for
    the first `shown`: states, TOP likeliest next indices, their log-probabilities, each -ln p."""
    Wxh, Whh, Why, bh, by = params
    hidden, vocab = len(bh), len(by)
    steps = max(1, BLOCK_NUMBERS // (hidden + vocab))
    k = min(TOP, vocab)
    kept = {"hs": [np.empty((hidden, 0))], "top": [np.empty((k, 0), np.intp)],
            "logp": [np.empty((k, 0))], "nats": [np.empty(0)]}
    h = np.zeros((hidden, 1))
    count, total, last_logp = 0, 0.0, None
    while True:
        ix = np.fromiter(itertools.islice(ixes, steps), dtype=np.intp)
        if len(ix) == 0:
            break
        hs = np.hstack(list(forward(h, ix, params)))  # step by step: each needs the one before
        h = hs[:, -1:]
        logp = log_softmax(Why @ hs + by)  # all the steps at once
        nats = block_nats(last_logp, logp, ix)
        total += np.nansum(nats)
        last_logp = logp[:, -1].copy()
        wanted = shown - count
        if wanted > 0:
            top, top_logp = top_guesses(logp[:, :wanted], k)
            parts = (hs[:, :wanted], top, top_logp, nats[:wanted])
            for key, part in zip(kept, parts):
                kept[key].append(part.copy())  # a copy: none holds on to the block
        count += len(ix)
    return count, total, {key: np.concatenate(parts, axis=-1) for key, parts in kept.items()}


def state_gradients(hs, targets, Why, by):
    """d (each step's own loss) / d (its state), for each column of hs: lossFun's dh without
    dhnext."""
    dy = np.exp(log_softmax(Why @ hs + by))
    dy[targets, np.arange(len(targets))] -= 1  # lossFun's dy[targets[t]] -= 1
    return Why.T @ dy


def gradient_flow(hs, ixes, params, depth):
    """norms[k, t] = ||d loss_t / d h_{t-k}||, k = 0..depth: hs (H, S) are the states after
    each of ixes (S), loss_t = -ln p(ixes[t + 1] | h_t). Shape (depth + 1, S - 1); nan if k > t."""
    Wxh, Whh, Why, bh, by = params
    count = max(hs.shape[1] - 1, 0)
    steps = max(1, BLOCK_NUMBERS // len(by))
    dh = np.empty((len(bh), count))  # d loss_t / d h_t, column t, a block of logits at a time
    for start in range(0, count, steps):
        end = min(start + steps, count)
        dh[:, start:end] = state_gradients(hs[:, start:end], ixes[start + 1:end + 1], Why, by)
    norms = np.full((depth + 1, count), np.nan)
    norms[0] = np.linalg.norm(dh, axis=0)
    for k in range(1, min(depth, count - 1) + 1):  # a step back, for every t >= k at once:
        dhraw = (1 - hs[:, 1:count - k + 1] ** 2) * dh[:, 1:]  # lossFun's dhraw
        dh = Whh.T @ dhraw  # lossFun's dhnext = np.dot(Whh.T, dhraw): what reaches h_{t-k}
        norms[k, k:] = np.linalg.norm(dh, axis=0)
    return norms


def chunk_gradients(hs, ixes, params, seq_length, first, end):
    """For the chunks first..end-1 of ixes (chunk c: steps c*T..c*T+T-1, T = seq_length), the
    gradients of each chunk's loss with respect to Whh and Wxh, through every step (`full`) and
    through the chunk's own steps from the state carried into it (`own`, lossFun's unclipped)."""
    Wxh, Whh, Why, bh, by = params
    chunks = end - first
    before = np.hstack([np.zeros((len(bh), 1)), hs])  # before[:, s]: the state before step s
    full = {"Whh": np.zeros((chunks, *Whh.shape)), "Wxh": np.zeros((chunks, *Wxh.shape))}
    own = {"Whh": np.zeros((chunks, *Whh.shape)), "Wxh": np.zeros((chunks, *Wxh.shape))}
    dh = np.zeros((len(bh), chunks))  # column c: d (loss of chunk first + c) / d h_s
    for chunk in reversed(range(end)):  # back through every chunk, to the first
        start = chunk * seq_length
        column = chunk - first  # this chunk's own column, if it has one
        active = slice(max(column, 0), chunks)  # the columns of the chunks from this one on
        losses = None  # d (each step's own loss) / d h, for a chunk with a column
        if column >= 0:
            losses = state_gradients(hs[:, start:start + seq_length],
                                     ixes[start + 1:start + seq_length + 1], Why, by)
        dhraws = np.empty((chunks - active.start, len(bh), seq_length))
        for t in reversed(range(seq_length)):
            if column >= 0:
                dh[:, column] += losses[:, t]  # the chunk's own loss at this step
            dhraw = (1 - hs[:, start + t:start + t + 1] ** 2) * dh[:, active]
            dhraws[:, :, t] = dhraw.T
            dh[:, active] = Whh.T @ dhraw  # dhnext
        whh = dhraws @ before[:, start:start + seq_length].T  # lossFun's dWhh, for each column
        onehot = np.zeros((seq_length, Wxh.shape[1]))
        onehot[np.arange(seq_length), ixes[start:start + seq_length]] = 1  # the inputs
        wxh = dhraws @ onehot  # lossFun's dWxh[:, xs[t]] += dhraw[:, 0]
        full["Whh"][active] += whh
        full["Wxh"][active] += wxh
        if column >= 0:
            own["Whh"][column] = whh[0]
            own["Wxh"][column] = wxh[0]
    return full, own


def truncation(hs, ixes, params, seq_length):
    """For each chunk c >= 1 of ixes whose every step has a next index, ||full - own|| / ||full||
    (Frobenius, see chunk_gradients) for Whh and Wxh, in groups of GRADIENT_NUMBERS numbers."""
    Wxh, Whh = params[0], params[1]
    chunks = (len(ixes) - 1) // seq_length
    group = max(1, GRADIENT_NUMBERS // (2 * (Whh.size + Wxh.size)))
    shares = {"Whh": [], "Wxh": []}
    for first in range(1, chunks, group):
        end = min(first + group, chunks)
        full, own = chunk_gradients(hs, ixes, params, seq_length, first, end)
        for name in shares:
            lost = np.linalg.norm(full[name] - own[name], axis=(1, 2))
            whole = np.maximum(np.linalg.norm(full[name], axis=(1, 2)), 1e-300)
            shares[name] += [float(f"{share:.4g}") for share in (lost / whole).tolist()]
    return shares


def neuron_data(hs, shown, chars):
    """Each neuron's spread, the mean distance of its value from its median (0 for one that holds
    a value almost everywhere), the share of steps at which it changes sign, what it responds to,
    and the order of the list: by spread, the clocks last."""
    spread = np.zeros(len(hs))
    flips = np.zeros(len(hs))
    if hs.shape[1] > 0:
        spread = np.abs(hs - np.median(hs, axis=1, keepdims=True)).mean(axis=1)
    if hs.shape[1] > 1:
        flips = (hs[:, 1:] * hs[:, :-1] < 0).mean(axis=1)
    clock = flips >= CLOCK
    return dict(spread=np.round(spread, 3).tolist(), flips=np.round(flips, 3).tolist(),
                clock=clock.tolist(), order=np.lexsort((-spread, clock)).tolist(),
                responds=responses(hs, np.asarray(shown, dtype=np.intp), chars))


def responses(hs, ixes, chars):
    """For each neuron, the RESPONSES characters read at least MIN_READS times after reading
    which its mean value is highest, and lowest: {"high": [[char, mean, count], ...], "low"}."""
    counts = np.bincount(ixes, minlength=len(chars))
    sums = np.zeros((len(chars), len(hs)))
    np.add.at(sums, ixes, hs.T)  # sums[ix]: the states after each reading of ix, added up
    often = np.flatnonzero(counts >= MIN_READS)
    means = (sums[often] / counts[often, None]).T  # (H, the characters read often)
    described = []
    for row in means:
        entries = [[chars[ix], round(mean, 3), int(counts[ix])]
                   for ix, mean in zip(often.tolist(), row.tolist())]
        highest = sorted(entries, key=lambda entry: -entry[1])
        lowest = sorted(entries, key=lambda entry: entry[1])
        described.append({"high": highest[:RESPONSES], "low": lowest[:RESPONSES]})
    return described


def place(values, positions, length):
    """A list of length items, values[k] at positions[k] and None elsewhere."""
    placed = [None] * length
    for position, value in zip(positions, values):
        placed[position] = value
    return placed


def curve_points(losses):
    """[n, smooth_loss] and the mean raw loss of all points, or of MAX_VERTICES evenly spread."""
    kept = np.linspace(0, len(losses) - 1, min(len(losses), MAX_VERTICES)).round().astype(int)
    points = [losses[i] for i in kept.tolist()]
    curve = [[n, float(smooth)] for n, smooth, raw in points]
    raw_losses = [None if raw is None else float(raw) for n, smooth, raw in points]
    return curve, raw_losses


def temperature_samples(state):
    """[T, seed, text] for each of TEMPERATURES: what --sample-only prints with these flags."""
    samples = []
    for temperature in TEMPERATURES:
        rng = np.random.RandomState(SAMPLE_SEED)
        text = generate(state, "", SAMPLE_LENGTH, rng, temperature)
        samples.append([temperature, SAMPLE_SEED, text])
    return samples


def steps_of(text, chars):
    """where[t]: the position in text read at step t; traced: the steps with a loss to trace."""
    known = set(chars)
    where = [i for i, ch in enumerate(text) if ch in known]
    return where, [t for t in range(len(where) - 1) if where[t + 1] == where[t] + 1]


def text_data(text, chars, kept, flow, seq_length):
    """What the page shows of each character of text: None where the model does not know it."""
    where, traced = steps_of(text, chars)
    flows = [[float(f"{x:.4g}") for x in flow[:min(t, 2 * seq_length) + 1, t].tolist()]
             for t in traced]
    surprise = np.round(kept["nats"] / math.log(2), 3).tolist()
    top = [[ixes.tolist(), np.round(np.exp(logp), 4).tolist()]
           for ixes, logp in zip(kept["top"].T, kept["logp"].T)]
    acts = np.round(kept["hs"], 3).tolist()
    traced_at = [where[t] for t in traced]
    return dict(text=text, acts=[place(row, where, len(text)) for row in acts],
                surprise=place([None] + surprise[1:], where, len(text)),
                top=place(top, where, len(text)), gradient_flow=place(flows, traced_at, len(text)),
                reach=place([t % seq_length for t in traced], traced_at, len(text)))


def page_data(state, text, shown, measured, names):
    """What the page shows; names: the checkpoint's and the text's, as said."""
    chars, seq_length = state["chars"], state["seq_length"]
    losses, raw_losses = curve_points(state["losses"])
    return dict(name=os.path.basename(names[0]), checkpoint=shlex.quote(names[0]),
                text_name=os.path.basename(names[1]), vocab=chars,
                hidden_size=state["hidden_size"], n=state["n"], seq_length=seq_length,
                learning_rate=state["learning_rate"], smooth_loss=float(state["smooth_loss"]),
                bits=measured["bits"], uniform_bits=max(math.log2(len(chars)), 1e-9),
                summary=measured["summary"], min_reads=MIN_READS, losses=losses,
                raw_losses=raw_losses, samples=state["samples"],
                truncation=measured["truncation"], sample_length=SAMPLE_LENGTH,
                temperature_samples=measured["temperature_samples"],
                **text_data(text, chars, measured["kept"], measured["flow"], seq_length),
                **neuron_data(measured["kept"]["hs"], shown, chars))


def parse_args(argv):
    parser = OneLineErrors(prog="visualize.py", description="Measure how well a min_char_rnn.py "
                           "checkpoint predicts a text; write a page of how it learned and works.")
    parser.add_argument("checkpoint", help="a checkpoint saved by min_char_rnn.py (.npz)")
    parser.add_argument("text", help="the UTF-8 text to read")
    parser.add_argument("-o", "--output", metavar="PAGE.html", help="the page to write, "
                        "replacing a file of that name (default: the checkpoint's path, .html)")
    parser.add_argument("--chars", default=2000, metavar="N", help="characters of the text "
                        f"shown on the page, at most {MAX_CHARS} (default: 2000)",
                        type=number(int, 1, MAX_CHARS, f"a whole number from 1 to {MAX_CHARS}"))
    return parser.parse_args(argv)


def check_page(page, inputs):
    """Refuse, before any work, a page that could not be written or would replace an input or
    a checkpoint. A device, a FIFO or /dev/stdout is written into (see write_whole)."""
    if os.path.basename(page) == "" or os.path.isdir(page):
        raise CommandLineError(f"cannot write {page!r}: it is no file's name; give -o one")
    if writes_into(page):
        return
    if is_npz(page):
        raise CommandLineError(f"{page} is a checkpoint; give -o another")
    folder = os.path.dirname(os.path.realpath(page))
    if not (os.path.isdir(folder) and os.access(folder, os.W_OK)):
        raise CommandLineError(f"cannot write {page}: {folder} is no folder this user can write")
    for path in inputs:
        with contextlib.suppress(OSError):  # a path that is not there is no input's
            if os.path.samefile(page, path):
                raise CommandLineError(f"the page {page} would overwrite an input; give "
                                       "-o another")


def measure(state, text, shown, name):
    """The measure of the whole text, and what the page shows of the characters shown."""
    char_to_ix = char_maps(state["chars"])[0]
    params = [state[k] for k in PARAMS]
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            count, total, kept = evaluate(known_indices(text, char_to_ix, name), params,
                                          len(shown))
            flow = gradient_flow(kept["hs"], shown, params, 2 * state["seq_length"])
            truncated = truncation(kept["hs"], shown, params, state["seq_length"])
            samples = temperature_samples(state)
    except (FloatingPointError, ValueError):  # ValueError: NaN probabilities in a sample
        raise CommandLineError(f"the model's numbers overflow on {name}") from None
    finally:  # the line of known_indices cleared, before anything else is said
        if sys.stderr is not None and sys.stderr.isatty():
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    if count < 2:
        raise CommandLineError(f"{name} has {plural(count, 'character')} the model knows; "
                               "at least 2 are needed to measure a prediction")
    nats = total / (count - 1)
    bits = nats / math.log(2)
    summary = (f"{name}: {plural(count, 'character')}, {nats:.4f} nats/char, {bits:.4f} "
               f"bits/char (a uniform guess: {math.log2(len(state['chars'])):.4f} bits/char)")
    return dict(kept=kept, flow=flow, truncation=truncated, temperature_samples=samples,
                bits=bits, summary=summary)


def skipped(path, text, char_to_ix):
    """Say which characters of text the model does not know, if any."""
    unknown = collections.Counter(ch for ch in text if ch not in char_to_ix).most_common()
    if unknown:
        total = sum(count for ch, count in unknown)
        distinct = describe_chars([ch for ch, count in unknown])
        say(f"{path}: skipped {plural(total, 'character')} the model does not know "
            f"({len(unknown)} distinct: {distinct})")


def run(argv, stop):
    args = parse_args(argv)
    page = args.output
    if page is None:
        page = os.path.splitext(args.checkpoint)[0] + ".html"
    check_page(page, (args.checkpoint, args.text))
    state = load_checkpoint(args.checkpoint)
    if is_npz(args.text):
        raise CommandLineError(f"{args.text} is a checkpoint, not a text: give CHECKPOINT TEXT")
    with contextlib.redirect_stdout(io.StringIO()):  # read_data's line is training's
        text = read_text(args.text)[0]
    char_to_ix = char_maps(state["chars"])[0]
    start = text[:args.chars]
    shown = [char_to_ix[ch] for ch in start if ch in char_to_ix]
    name = one_line(args.text)
    measured = measure(state, text, shown, name)
    data = page_data(state, start, shown, measured, (one_line(args.checkpoint), name))
    as_json = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    as_json = re.sub("[<>&\u2028\u2029]", lambda match: f"\\u{ord(match[0]):04x}", as_json)
    html = PAGE.replace("__DATA__", as_json).encode("utf-8")  # no markup in as_json
    try:
        write_whole(page, html)
    except OSError as e:
        raise CommandLineError(f"cannot write {page}: {e.strerror}; give -o another") from None
    print(measured["summary"])
    if stop:  # a write to stdout failed
        raise CommandLineError(f"cannot write to stdout: {stop[0].strerror}; {page} is written")
    skipped(args.text, text, char_to_ix)
    say(f"wrote {page}")
    return 0


def main(argv=None):
    return min_char_rnn.main(argv, run, "visualize.py", "--chars")


PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>min-char-rnn</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
p { margin: 2px 0; }
header, #learning, #controls { padding: 8px 16px; border-bottom: 1px solid #ddd; }
header { background: #f4f4f4; }
h1 { font-size: 17px; margin: 0; }
h2 { font-size: 15px; margin: 4px 0; }
.hint { color: #555; max-width: 62em; }
aside .hint { font-size: 12px; }
#learning, #controls { display: flex; flex-wrap: wrap; gap: 6px 32px; align-items: center; }
#learning > div { flex: 1 1 440px; align-self: start; }
main { display: flex; }
.samples { max-height: 250px; overflow-y: auto; font: 12px/1.35 ui-monospace, monospace; }
.samples b { display: block; margin-top: 6px; font: bold 12px system-ui, sans-serif; }
.samples code { display: block; font-size: 11px; color: #666; overflow-wrap: anywhere; }
.samples span { display: block; white-space: pre-wrap; overflow-wrap: anywhere; padding: 2px 4px; }
.samples span { direction: ltr; unicode-bidi: isolate-override; background: #f6f6f6; }
svg text { font: 11px system-ui, sans-serif; fill: #444; }
.grid { stroke: #eee; }
.axis { stroke: #888; fill: none; }
.curve { fill: none; stroke: #333; stroke-width: 1.5; }
.raw { fill: none; stroke: #a3b3c2; stroke-width: 1; }
.uniform { stroke: #999; stroke-dasharray: 5 4; }
.measured { stroke: #e6550d; }
#reach-mark { stroke: #c00; stroke-width: 1.5; }
#gradient-flow rect { fill: #4a7fb5; }
#gradient-flow rect.cut { fill: #e3ebf4; stroke: #8fa9c6; stroke-dasharray: 2 2; }
#scale i { display: inline-block; width: 120px; height: 12px; vertical-align: middle; }
#text { flex: 1; padding: 12px 16px; font: 15px/1.6 ui-monospace, monospace; direction: ltr; }
#text .word { display: inline-block; max-width: 100%; overflow-wrap: anywhere; }
#text span { cursor: pointer; unicode-bidi: isolate-override; }
#text .glyph { color: #555; }
#text .unknown { color: #999; text-decoration: line-through; outline: 1px dashed #c33; }
#text .pinned { outline: 2px solid #000; }
#text .traced { box-shadow: inset 0 -3px #c00; }
aside { width: 400px; max-height: 100vh; overflow-y: auto; position: sticky; top: 0; }
aside { padding: 8px 12px; border-left: 1px solid #ddd; }
#truncation { margin: 6px 0 10px; }
nav button { display: block; width: 100%; text-align: left; border: 0; background: none; }
nav button { font: 12px ui-monospace, monospace; cursor: pointer; color: inherit; }
nav small { font: 11px system-ui, sans-serif; opacity: .8; }
nav .on { background: #333; color: #fff; }
#tip { position: absolute; display: none; background: #fff; border: 1px solid #888; }
#tip { padding: 6px 8px; box-shadow: 0 2px 8px #0004; }
#tip .next { font-weight: bold; }
#tip b, #tip td { unicode-bidi: isolate; padding: 0 4px; font-family: ui-monospace, monospace; }
#tip td div { height: 9px; background: #4a7fb5; }
</style></head>
<body>
<header><h1 id="name"></h1><p id="model"></p></header>
<section id="learning"><div><h2>How the loss fell</h2><p class="hint" id="loss-hint">This
checkpoint keeps no history of its training (saved by an older version, or before its first
iteration): there is no loss curve, and there are no samples.</p>
<div id="loss"></div></div><div><h2>What it wrote as it learned</h2><p class="hint">Samples
printed while it trained, each drawn from the model as it was then (&#8629; is a newline).</p>
<div id="samples" class="samples"></div></div><div><h2>What it writes now</h2><p class="hint">The
model as it is, from a zero state, at three temperatures with one seed, as each command prints
it. A temperature below 1 makes the likelier characters likelier still: more conservative, more
repetitive text. Above 1 the choices even out: more varied text, with more mistakes.</p>
<div id="temperatures" class="samples"></div></div></section>
<div id="controls"><span>shade by <label><input type="radio" name="view" value="neuron"> a
neuron</label> <label><input type="radio" name="view" value="surprise"> surprise</label></span>
<span id="scale"></span><p class="hint" id="legend"></p><p class="hint" id="keys">Keys: j,
&darr; or &rarr; the next neuron of the list; k, &uarr; or &larr; the one before; s switches
between a neuron and surprise; Escape unpins the character.</p></div>
<main><div id="text"></div><aside><h2>Gradient flow</h2><p class="hint" id="flow-hint">No
character shown is followed by one the model knows: there is no loss to trace back.</p>
<div id="gradient-flow"></div><p class="hint" id="truncation"></p><h2>Neurons</h2><p
class="hint">Each described by the characters after which its mean value is highest (&uarr;)
and lowest (&darr;), of those read 5 times or more in the text shown; one that changes sign at
75% of the steps or more is a clock. Ranked by how much the value varies (its mean distance from
its median, the number after the neuron), the clocks last. Click one to shade the text by it.</p>
<nav id="neurons"></nav></aside></main><div id="tip"></div>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const chars = Array.from(D.text);  // code points, as the model reads them
const GLYPHS = {"\n": "\u21b5", "\t": "\u2192", "\x7f": "\u2421"};
const STEPS = {j: 1, ArrowDown: 1, ArrowRight: 1, k: -1, ArrowUp: -1, ArrowLeft: -1};
const state = {flow: null};  // what is shown: view, neuron, pin (a character), flow (traced)
const spans = [];  // a span for each character of the text
function $(id) { return document.getElementById(id); }
function make(tag, text = "") {
  return Object.assign(document.createElement(tag), {textContent: text});
}
function plural(count, word) { return count === 1 ? `1 ${word}` : `${count} ${word}s`; }
function percent(share) { return `${Math.round(100 * share)}%`; }
function hex(c) { return c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0"); }
function glyph(c, space = "\u00b7") {  // a character made visible
  if (c === " ") return space;
  if (Object.hasOwn(GLYPHS, c)) return GLYPHS[c];
  if (c < " ") return String.fromCodePoint(0x2400 + c.codePointAt(0));  // control characters
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(c)) return `\u27e8${hex(c)}\u27e9`;  // invisible ones
  return c;
}
function mix(rgb, t) {  // from white at t = 0 to rgb at t = 1
  const share = Math.min(Math.max(t, 0), 1);
  return `rgb(${rgb.map(x => Math.round(255 + (x - 255) * share)).join(", ")})`;
}
function activation(v) { return v < 0 ? mix([67, 147, 195], -v) : mix([214, 96, 77], v); }
function surprise(bits) { return mix([230, 85, 13], bits / D.uniform_bits); }
function bitsOf(loss) { return loss / D.seq_length / Math.LN2; }  // a chunk's, per character
function median(values) {
  const sorted = [...values].sort((a, b) => a - b), middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
function draw(parent, tag, attrs, text = "") {  // an SVG element
  const e = parent.appendChild(document.createElementNS("http://www.w3.org/2000/svg", tag));
  for (const name in attrs) e.setAttribute(name, attrs[name]);
  e.textContent = text;
  return e;
}
function across(svg, x1, x2, y, cls) { draw(svg, "line", {x1, x2, y1: y, y2: y, class: cls}); }
function label(svg, x, y, text, anchor = "middle") {
  return draw(svg, "text", {x, y, "text-anchor": anchor}, text);
}
function grid(svg, x1, x2, y, text) {  // a line across, labelled on the left
  across(svg, x1, x2, y, "grid");
  label(svg, x1 - 5, y + 4, text, "end");
}
function roundStep(span) {  // a round step that cuts span into 3 to 6 parts
  const unit = 10 ** Math.floor(Math.log10(span / 4));
  return [1, 2, 5, 10].map(m => m * unit).find(step => span / step <= 6);
}
function lossHint() {
  let hint = "The training loss in bits per character. Black: the smoothed loss training prints, " +
    "smooth_loss = 0.999 \u00d7 smooth_loss + 0.001 \u00d7 loss, a memory of about 1000 " +
    "iterations: at iteration 1000 it still carries 0.999^1000 = 37% of its start, a uniform " +
    `guess (log\u2082 ${D.vocab.length} bits), so it lags behind the model.`;
  if (D.raw_losses.some(loss => loss !== null)) hint += " Grey: the raw loss, the chunks' own " +
    "losses averaged over the 100 iterations up to each point (iteration 0 alone). Adagrad's " +
    `first step moves each weight with a gradient by about the learning rate, ${D.learning_rate}` +
    ", where the weights were drawn at a scale of 0.01: the losses of the first iterations can " +
    "jump far above the uniform guess (on input.txt with the defaults, to about 8-14 bits/char " +
    "at iterations 2 to 5), a jump the point at 100 averages in.";
  return hint + ` Orange: this model on the whole of ${D.text_name} from a zero state (the ` +
    `text below is its first ${plural(chars.length, "character")}); on a text it never trained ` +
    "on, that measures how well it generalises.";
}
function drawLoss() {
  const width = 580, height = 230, left = 44, right = 170, top = 8, bottom = 34;
  const uniform = D.uniform_bits, last = Math.max(D.losses.at(-1)[0], 100);
  const raw = D.losses.map(([n], k) => [n, D.raw_losses[k]]).filter(point => point[1] !== null);
  const highest = Math.ceil(Math.max(uniform, D.bits,
                                     ...D.losses.concat(raw).map(point => bitsOf(point[1]))));
  function x(n) { return left + (width - left - right) * n / last; }
  function y(bits) { return top + (height - top - bottom) * (1 - bits / highest); }
  function line(points) { return points.map(p => `${x(p[0])},${y(bitsOf(p[1]))}`).join(" "); }
  $("loss-hint").textContent = lossHint();
  const svg = draw($("loss"), "svg", {id: "loss-curve", width, height});
  for (let bits = 0; bits <= highest; bits += roundStep(highest)) {
    grid(svg, left, width - right, y(bits), +bits.toFixed(2));
  }
  for (let n = 0; n <= last; n += roundStep(last)) label(svg, x(n), height - bottom + 14, n);
  label(svg, (left + width - right) / 2, height - 4, "iterations");
  label(svg, 0, 0, "loss, bits per character").setAttribute(
    "transform", `translate(11 ${(height - bottom) / 2}) rotate(-90)`);
  draw(svg, "path", {class: "axis", d: `M${left},${top}V${height - bottom}H${width - right}`});
  for (const [bits, text, cls] of [[uniform, "uniform guess", "uniform"],
                                   [D.bits, "this text", "measured"]]) {
    across(svg, left, width - right, y(bits), cls);
    const near = cls === "measured" && Math.abs(y(bits) - y(uniform)) <= 12;  // labels apart
    const apart = near ? Math.sign(uniform - bits) * 12 || 12 : 0;
    label(svg, width - right + 4, y(bits) + 4 + apart, `${text}: ${bits.toFixed(2)} bits/char`,
          "start");
  }
  draw(svg, "polyline", {class: "raw", points: line(raw)});
  draw(svg, "polyline", {class: "curve", points: line(D.losses)});
  if (D.losses.length === 1) draw(svg, "circle", {cx: x(0), cy: y(bitsOf(D.losses[0][1])), r: 2});
}
function addSample(box, heading, text, command) {
  const item = box.appendChild(make("div"));
  item.append(make("b", heading));
  if (command) item.append(make("code", command));
  const lines = Array.from(text, c => glyph(c, " ") + (c === "\n" ? "\n" : ""));
  item.append(make("span", lines.join("")));
}
function showSamples() {
  if (!D.samples.length) $("samples").parentNode.hidden = true;
  for (const [n, text] of D.samples) addSample($("samples"), `iteration ${n}`, text);
  for (const [temperature, seed, text] of D.temperature_samples) {
    const command = `python min_char_rnn.py --checkpoint ${D.checkpoint} --sample-only ` +
      `--temperature ${temperature} --seed ${seed} --sample-length ${D.sample_length}`;
    addSample($("temperatures"), `temperature ${temperature}`, text, command);
  }
}
function layOut() {  // a span for each character; a box for each word and the blanks after it
  let word = null, blank = false;
  chars.forEach((c, i) => {
    const isBlank = c === " " || c === "\t";
    if (word === null || (blank && !isBlank)) {
      word = $("text").appendChild(Object.assign(make("div"), {className: "word"}));
    }
    const span = word.appendChild(make("span", glyph(c)));
    span.className = glyph(c) === c ? "" : "glyph";
    if (D.top[i] === null) span.className = "unknown";
    span.dataset.i = i;
    spans.push(span);
    blank = isBlank;
    if (c !== "\n") return;
    $("text").append(make("br"));
    word = null;
  });
}
function legend(byNeuron) {
  const unknown = D.top.filter(guesses => guesses === null).length;
  const shading = byNeuron ?
    "by the chosen neuron's value after reading it (blue \u22121, white 0, red +1)" :
    "by its surprise, \u2212log\u2082 p of it given the ones before: darker, less expected";
  let text = `The text's first ${plural(chars.length, "character")}, each shaded ${shading}; ` +
    "hover or tap one for the model's five best guesses for the next, click to pin it and " +
    "trace its gradient back.";
  if (unknown) text += ` Struck through: ${plural(unknown, "character")} the model does not know.`;
  return text;
}
function signed(value) { return (value < 0 ? "\u2212" : "+") + Math.abs(value).toFixed(2); }
function listed(entries) { return entries.map(e => `${glyph(e[0])} ${signed(e[1])}`).join(", "); }
function describeNeuron(j) {
  if (D.clock[j]) return `changes sign at ${percent(D.flips[j])} of the steps: a clock`;
  const {high, low} = D.responds[j];
  if (!high.length) return `no character is read ${D.min_reads} times in the text shown`;
  return `\u2191 ${listed(high)} \u2193 ${listed(low)}`;
}
function listNeurons() {
  return D.order.map(j => {
    const button = $("neurons").appendChild(make("button"));
    button.append(`${String(j).padStart(3)} ${D.spread[j].toFixed(2)} `,
                  make("small", describeNeuron(j)));
    button.onclick = () => show({neuron: j, view: "neuron"});
    return button;
  });
}
function truncationText() {
  const chunks = D.truncation.Whh.length;
  if (!chunks) return `Truncation is measured on ${2 * D.seq_length + 1} characters or more.`;
  return `Truncation drops a median of ${percent(median(D.truncation.Whh))} of the gradient of ` +
    `Whh and ${percent(median(D.truncation.Wxh))} of that of Wxh over the ` +
    `${plural(chunks, "chunk")} of the text shown after its first: ||g_full \u2212 g|| / ` +
    "||g_full||, g the chunk's loss's gradient as lossFun computes it, before clipping, from " +
    "the state carried in, g_full the gradient through every character before: what the " +
    "characters before a chunk could teach through the state, left out of its update.";
}
const norms = D.gradient_flow.flat().filter(v => v > 0).map(Math.log10);  // one scale for all
const high = Math.ceil(norms.reduce((a, v) => Math.max(a, v), -300));
const lowest = Math.floor(norms.reduce((a, v) => Math.min(a, v), 0));
const low = Math.max(lowest, high - 12);  // 12 powers of ten at most
const every = Math.max(1, Math.round((high - low) / 5));  // powers of ten between labels
function flowHint(i, t) {
  if (!D.gradient_flow[i]) return `Character ${i} has no loss to trace back: the model does ` +
    "not know it, or the next one, or the next one is not shown.";
  const steps = plural(D.reach[i], "step");
  return `Bar k: how much the loss at character ${i} (underlined in red; step t = ${t}), ` +
    `lossFun's \u2212ln p of the next one, \u201c${glyph(chars[i + 1])}\u201d, changes with the ` +
    "hidden state k steps earlier (the norm of d loss / d h, on a log scale). Training reads " +
    `the text in chunks of ${D.seq_length} from its start; this character is ${steps} into ` +
    `its chunk, so lossFun sends its loss's gradient back ${steps}, to the chunk's start (left ` +
    "of the red line), and no further. The pale bars are what truncation drops: those states " +
    "shaped this prediction, but this loss never teaches the weights through them.";
}
function flow(i) {  // how far back the gradient of the loss at character i reaches
  const depth = 2 * D.seq_length;
  const width = 376, height = 190, left = 48, right = 8, top = 10, bottom = 36;
  const bar = (width - left - right) / (depth + 1);
  function y(norm) {
    const below = high - Math.max(Math.log10(norm), low);
    return top + (height - top - bottom) * below / (high - low || 1);
  }
  state.flow = i;
  spans.forEach((s, k) => s.classList.toggle("traced", k === i));
  const t = D.top.slice(0, i).filter(guesses => guesses !== null).length;  // steps before it
  $("flow-hint").textContent = flowHint(i, t);
  $("gradient-flow").replaceChildren();
  if (!D.gradient_flow[i]) return;
  const svg = draw($("gradient-flow"), "svg", {width, height});
  for (let power = low; power <= high; power += every) {
    const sign = power === low && lowest < low ? "\u2264" : "";  // smaller norms drawn as low
    grid(svg, left, width - right, y(10 ** power), `${sign}1e${power}`);
  }
  D.gradient_flow[i].forEach((norm, k) => {
    const rect = draw(svg, "rect", {x: left + k * bar + 0.5, y: y(norm) - 1,
      width: Math.max(bar - 1, 0.5), height: height - bottom - y(norm) + 1});
    if (k > D.reach[i]) rect.classList.add("cut");
    draw(rect, "title", {}, `k = ${k}: ${norm}`);
  });
  const mark = left + (D.reach[i] + 1) * bar;
  draw(svg, "line", {id: "reach-mark", x1: mark, x2: mark, y1: top, y2: height - bottom});
  label(svg, mark + 3, top + 10, `reach: ${D.reach[i]}`, "start");
  for (const k of [0, D.seq_length, depth]) {
    label(svg, left + (k + 0.5) * bar, height - bottom + 13, k);
  }
  label(svg, (left + width - right) / 2, height - 6, "steps back, k");
}
function shade(i, byNeuron) {
  if (D.top[i] === null) return "";
  if (byNeuron) return activation(D.acts[state.neuron][i]);
  return D.surprise[i] === null ? "" : surprise(D.surprise[i]);
}
function drawScale(byNeuron) {
  const bar = make("i");
  if (byNeuron) {
    bar.style.background = `linear-gradient(to right, ${activation(-1)}, #fff, ${activation(1)})`;
    return $("scale").replaceChildren(`neuron ${state.neuron}: \u22121 `, bar, " +1");
  }
  bar.style.background = `linear-gradient(to right, #fff, ${surprise(D.uniform_bits)})`;
  const end = ` \u2265 ${D.uniform_bits.toFixed(1)} bits, a uniform guess`;
  $("scale").replaceChildren("0 bits ", bar, end);
}
function show(change) {
  Object.assign(state, change);
  const byNeuron = state.view === "neuron";
  spans.forEach((s, i) => {
    s.style.backgroundColor = shade(i, byNeuron);
    s.classList.toggle("pinned", i === state.pin);
  });
  document.querySelector(`input[value=${state.view}]`).checked = true;
  buttons.forEach((b, k) => b.classList.toggle("on", D.order[k] === state.neuron));
  drawScale(byNeuron);
  $("legend").textContent = legend(byNeuron);
  let address = `#view=${state.view}&neuron=${state.neuron}`;
  if (state.pin === null) $("tip").style.display = "none";
  else {
    tip(state.pin);
    flow(state.pin);
    address += `&pin=${state.pin}`;
  }
  history.replaceState(null, "", address);
}
function guesses(box, i) {  // a table of the model's guesses for the character after i
  let next = i + 1;
  while (next < chars.length && D.top[next] === null) next++;  // skipped, as the model does
  const table = box.appendChild(make("table")), [ixes, probs] = D.top[i];
  ixes.forEach((ix, k) => {
    const row = table.appendChild(make("tr")), bar = make("div");
    const actual = next < chars.length && D.vocab[ix] === chars[next];
    bar.style.width = `${Math.round(probs[k] * 100)}px`;
    for (const cell of [glyph(D.vocab[ix]), `${(probs[k] * 100).toFixed(1)}%`, bar,
                        actual ? "\u2190 comes next" : ""]) row.insertCell().append(cell);
    if (actual) row.className = "next";
  });
}
function tip(i) {  // the character, its shading, and the model's guesses for the next one
  const box = $("tip"), c = chars[i];
  function line(...parts) { box.appendChild(make("div")).append(...parts); }
  box.textContent = "";
  line(`character ${i}: `, make("b", glyph(c)), ` (U+${hex(c)})`);
  if (D.top[i] === null) line("not in the model's vocabulary: skipped");
  else {
    line(`neuron ${state.neuron}: ${D.acts[state.neuron][i].toFixed(3)}`);
    const bits = D.surprise[i], p = (2 ** -bits).toFixed(3);
    if (bits === null) line("the first character: nothing predicted it");
    else line(`surprise: ${bits.toFixed(2)} bits (p = ${p})`);
    line("the model's five best guesses for the next character, and how likely each is:");
    guesses(box, i);
  }
  const r = spans[i].getBoundingClientRect();
  Object.assign(box.style, {display: "block", left: "0px"});
  const right = $("text").getBoundingClientRect().right - box.offsetWidth;
  const left = Math.max(0, Math.min(r.left, right));  // over the text, not beside it
  let top = r.bottom + 4;
  if (r.bottom + box.offsetHeight + 4 >= innerHeight) top = r.top - box.offsetHeight - 4;
  Object.assign(box.style, {left: `${left + scrollX}px`, top: `${top + scrollY}px`});
}
function at(e) { return "i" in e.target.dataset ? Number(e.target.dataset.i) : null; }
function stepNeuron(by, e) {  // along the list of neurons
  const button = buttons[D.order.indexOf(state.neuron) + by];
  if (!button) return;
  button.click();
  button.scrollIntoView({block: "nearest"});
  e.preventDefault();
}
function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (Object.hasOwn(STEPS, e.key)) stepNeuron(STEPS[e.key], e);
  else if (e.key === "s") show({view: state.view === "neuron" ? "surprise" : "neuron"});
  else if (e.key === "Escape") show({pin: null});
}
function index(text, below) {  // a number from the address, if it is one below `below`
  return /^\d+$/.test(text) && Number(text) < below ? Number(text) : null;
}
document.title = `${D.name} \u2014 min-char-rnn`;
$("name").textContent = D.name;
$("model").textContent = `A vanilla RNN: ${plural(D.vocab.length, "character")}, ` +
  `${plural(D.hidden_size, "hidden neuron")}, trained ${plural(D.n, "iteration")} of ` +
  `${plural(D.seq_length, "character")}; smooth loss ${D.smooth_loss.toFixed(2)} ` +
  `(${bitsOf(D.smooth_loss).toFixed(3)} bits/char). Measured on ${D.summary}.`;
if (D.losses.length) drawLoss();
showSamples();
layOut();
const buttons = listNeurons();
$("truncation").textContent = truncationText();
$("text").onmouseover = e => { if (state.pin === null && at(e) !== null) tip(at(e)); };
$("text").onmouseleave = () => { if (state.pin === null) $("tip").style.display = "none"; };
$("text").onclick = e => show({pin: at(e) === state.pin ? null : at(e)});
for (const r of document.getElementsByName("view")) r.onchange = () => show({view: r.value});
document.onkeydown = onKey;
// to trace first: a character whose gradient reaches furthest back, the last of a chunk
const depths = D.reach.map((r, i) => r === null ? -1 : r * 1e6 + D.gradient_flow[i].length);
if (Math.max(...depths) >= 0) flow(depths.indexOf(Math.max(...depths)));
const asked = new URLSearchParams(location.hash.slice(1));  // #view=surprise&neuron=5&pin=120
show({view: asked.get("view") === "surprise" ? "surprise" : "neuron",
      neuron: index(asked.get("neuron"), D.hidden_size) ?? D.order[0],
      pin: index(asked.get("pin"), chars.length)});
</script></body></html>
"""

if __name__ == "__main__":
    sys.exit(main())
