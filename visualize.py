"""
Look inside a model trained by min_char_rnn.py: how well it predicts a text, and what its
hidden neurons do while it reads.

    python visualize.py model.npz text.txt                 # writes model.html
    python visualize.py model.npz text.txt -o page.html --chars 5000

The model reads the whole text from a zero state. stdout gets one line, the mean of
-ln p(character | the characters before it) over every known character after the first;
characters outside the model's vocabulary are skipped, as if absent, and counted on stderr.
The page (one file, no network) shows the first --chars characters shaded by one neuron's
activation or by the model's surprise, with its five best guesses for what comes next.
"""
import signal
import sys

if __name__ == "__main__" and hasattr(signal, "pthread_sigmask"):
    # hold Ctrl-C and SIGTERM, even during `import numpy`, until main() handles them cleanly;
    # once main() is done the program only ends, and they are ignored
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

import collections
import itertools
import json
import math
import os
import time

import numpy as np

from min_char_rnn import (PARAMS, CommandLineError, Interrupted, OneLineErrors, StopRequest,
                          char_maps, hidden_states, load_checkpoint, number_type, read_text, say,
                          signals_held, temporary_path)

BLOCK = 4096  # steps whose outputs are computed by one matrix product
TOP = 5  # guesses shown for the next character
MAX_CHARS = 20_000  # characters on a page: its data grows with them times the hidden size


def known_indices(text, char_to_ix, unknown):
    """The indices of the characters of text that the model knows; the others are counted
    in unknown, a Counter."""
    for ch in text:
        ix = char_to_ix.get(ch)
        if ix is None:
            unknown[ch] += 1
        else:
            yield ix


def log_softmax(ys):
    """Log-probabilities from logits, one column per step, shifted by the max to stay finite."""
    ys = ys - ys.max(axis=0)
    return ys - np.log(np.exp(ys).sum(axis=0))


def evaluate(ixes, params, shown, progress=lambda read: None):
    """Run the model over the indices ixes (an iterator) from a zero state, BLOCK steps at a
    time. Returns the count of indices, the summed -ln p of each index after the first given
    the ones before it, and for the first `shown` indices: the states (H, shown), the
    log-probabilities of the next index (V, shown) and -ln p of each index (nan for the first)."""
    Wxh, Whh, Why, bh, by = params
    h = np.zeros((Whh.shape[0], 1))
    count, total, prev = 0, 0.0, None  # prev: log-probabilities after the previous block
    kept = dict(hs=[np.empty((len(bh), 0))], logp=[np.empty((len(by), 0))], nats=[np.empty(0)])
    while True:
        ix = np.fromiter(itertools.islice(ixes, BLOCK), dtype=np.intp)
        if not len(ix):
            break
        hs = hidden_states(h, ix, params)  # step by step: each state needs the one before
        h = hs[:, -1:]
        logp = log_softmax(Why @ hs + by)  # every step of the block at once
        nats = np.empty(len(ix))
        nats[0] = np.nan if prev is None else -prev[ix[0]]
        nats[1:] = -logp[ix[1:], np.arange(len(ix) - 1)]
        total += np.nansum(nats)
        prev = logp[:, -1]
        if count < shown:
            for name, a in (("hs", hs), ("logp", logp), ("nats", nats)):
                kept[name].append(a[..., :shown - count])
        count += len(ix)
        progress(count)
    return count, total, {k: np.concatenate(v, axis=-1) for k, v in kept.items()}


def spread(values, where, size):
    """A list of size Nones with values put at the positions where."""
    out = [None] * size
    for i, v in zip(where, values):
        out[i] = v
    return out


def page_data(state, text, kept, summary, name):
    """What the page shows, for the characters of text (the first --chars of the text)."""
    chars = state["chars"]
    known = set(chars)
    where = [i for i, ch in enumerate(text) if ch in known]
    hs, logp, nats = kept["hs"], kept["logp"], kept["nats"]
    top = np.argsort(-logp, axis=0, kind="stable")[:TOP]
    guesses = [[t.tolist(), np.round(np.exp(p[t]), 4).tolist()] for t, p in zip(top.T, logp.T)]
    # how much each activation moves with the next one: high for a neuron that swings widely
    # but slowly, following something that lasts; negative for one that flips at every step
    persistence = np.zeros(len(hs))
    if hs.shape[1] > 1:
        centred = hs - hs.mean(axis=1, keepdims=True)
        persistence = (centred[:, :-1] * centred[:, 1:]).mean(axis=1)
    order = np.argsort(-persistence, kind="stable")
    bits = [None if math.isnan(x) else round(x / math.log(2), 3) for x in nats.tolist()]
    return dict(
        name=name, vocab=chars, hidden_size=state["hidden_size"], n=state["n"],
        seq_length=state["seq_length"], smooth_loss=state["smooth_loss"],
        uniform_bits=max(math.log2(len(chars)), 1e-9),  # above 0 for a vocabulary of one
        summary=summary, text=text,
        acts=[spread(row, where, len(text)) for row in np.round(hs, 3).tolist()],
        persistence=np.round(persistence, 3).tolist(), order=order.tolist(),
        surprise=spread(bits, where, len(text)), top=spread(guesses, where, len(text)))


def script_json(data):
    """data as JSON that can sit inside a <script> element: nothing in it can end the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for ch in "<>&\u2028\u2029":
        text = text.replace(ch, "\\u%04x" % ord(ch))
    return text


def parse_args(argv=None):
    parser = OneLineErrors(
        prog="visualize.py",
        description="Measure how well a min_char_rnn.py checkpoint predicts a text, and write "
                    "a page that shows its neurons and guesses over the start of the text.")
    parser.add_argument("checkpoint", help="a checkpoint saved by min_char_rnn.py (.npz)")
    parser.add_argument("text", help="the UTF-8 text to read")
    parser.add_argument("-o", "--output", metavar="PAGE.html",
                        help="the page to write (default: the checkpoint's path, ending .html)")
    parser.add_argument("--chars", default=2000, metavar="N",
                        type=number_type(int, 1, f"a whole number from 1 to {MAX_CHARS}",
                                         MAX_CHARS),
                        help=f"characters of the text shown on the page, at most {MAX_CHARS} "
                             "(default: 2000)")
    return parser, parser.parse_args(argv)


def shown(path):
    """path as text that can be printed and written in UTF-8, whatever bytes its name has."""
    return os.fsencode(path).decode("utf-8", "replace")


def same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def run(args):
    page = args.output or os.path.splitext(args.checkpoint)[0] + ".html"
    state = load_checkpoint(args.checkpoint)
    text = read_text(args.text)
    if any(same_file(page, f) for f in (args.checkpoint, args.text)):
        raise CommandLineError(f"the page {page} would overwrite an input; give another -o")
    folder = os.path.dirname(os.path.abspath(page))
    if os.path.isdir(page) or not os.path.isdir(folder):
        raise CommandLineError(f"cannot write {page}: " + (
            f"{page} is a directory" if os.path.isdir(page) else f"no folder {folder}"))
    try:  # find out now whether the page can be written, not after reading the whole text
        with open(temporary_path(page), "w"):
            os.remove(temporary_path(page))
    except OSError as e:
        raise CommandLineError(f"cannot write {page}: {e.strerror or e}") from None
    char_to_ix = char_maps(state["chars"])[0]
    start = text[:args.chars]
    unknown = collections.Counter()
    ixes = known_indices(text, char_to_ix, unknown)
    progress = Progress(shown(args.text), len(text), unknown)

    params = tuple(state[k] for k in PARAMS)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        try:
            count, total, kept = evaluate(ixes, params,
                                          sum(ch in char_to_ix for ch in start), progress)
        except FloatingPointError:
            raise CommandLineError(f"the model's numbers overflow on {args.text}") from None
    clear_progress()
    if count < 2:
        raise CommandLineError(f"{args.text} has {count or 'no'} character{'s' * (count != 1)} "
                               "the model knows; at least 2 are needed to measure a prediction")
    nats = total / (count - 1)
    summary = (f"{shown(args.text)}: {count} characters, {nats:.4f} nats/char, "
               f"{nats / math.log(2):.4f} bits/char "
               f"(a uniform guess: {math.log2(len(state['chars'])):.4f} bits/char)")
    html = PAGE.replace("__DATA__", script_json(
        page_data(state, start, kept, summary, shown(os.path.basename(args.checkpoint)))))
    write_whole(page, html)
    print(summary, flush=True)
    if unknown:
        some = ", ".join(repr(ch) for ch, _ in unknown.most_common(10))
        total_unknown = sum(unknown.values())
        say(f"{shown(args.text)}: skipped {total_unknown} character{'s' * (total_unknown != 1)} "
            f"the model does not know ({len(unknown)} distinct: {some}"
            f"{', ...' * (len(unknown) > 10)})")
    return 0


def write_whole(path, text):
    """text into the file path, whole or not at all: the old file stands until it is done."""
    tmp = temporary_path(path)
    try:
        with signals_held(), open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        raise CommandLineError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


class Progress:
    """On a terminal, how much of the text has been read, about once a second."""

    def __init__(self, name, length, unknown):
        self.name, self.length, self.unknown = name, length, unknown
        self.shown_at = time.monotonic()

    def __call__(self, read):
        if sys.stderr is not None and sys.stderr.isatty() and time.monotonic() - self.shown_at > 1:
            self.shown_at = time.monotonic()
            done = (read + sum(self.unknown.values())) / self.length
            print(f"\r{self.name}: {done:.0%} read", end="", file=sys.stderr, flush=True)


def clear_progress():
    if sys.stderr is not None and sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)


def main(argv=None):
    parser, args = parse_args(argv)
    stop = StopRequest()
    handlers = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if hasattr(signal, "pthread_sigmask"):  # held since the start (see the top of the file)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        if sys.stdout is None:
            raise CommandLineError("stdout is closed; give it a file or a pipe to print to")
        return run(args)
    except CommandLineError as e:
        say(f"{parser.prog}: error: {e}")
        return 1
    except Interrupted as e:
        clear_progress()
        say(f"{parser.prog}: stopped")
        return 128 + e.signum
    except MemoryError:
        say(f"{parser.prog}: error: out of memory; try a smaller --chars")
        return 1
    except (OSError, UnicodeEncodeError) as e:  # print() could not write the line to stdout
        if sys.stdout is not None:  # nothing more goes there, at exit either
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        why = "it was closed" if isinstance(e, BrokenPipeError) else getattr(e, "strerror", e)
        say(f"{parser.prog}: the page is written, but the line for stdout is not ({why})")
        return 1
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)


PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>min-char-rnn</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
header, #controls { padding: 8px 16px; border-bottom: 1px solid #ddd; }
header { background: #f4f4f4; } h1 { font-size: 17px; margin: 0; } header p { margin: 2px 0; }
#controls { display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: center; }
#neuron { width: 4em; } .hint { color: #666; }
#scale i { display: inline-block; width: 120px; height: 12px; vertical-align: middle; }
main { display: flex; align-items: flex-start; }
#text { flex: 1; padding: 12px 16px; font: 15px/1.6 ui-monospace, monospace;
  overflow-wrap: anywhere; }
#text span { cursor: pointer; } #text .glyph { color: #555; }
#text .unknown { outline: 1px dashed #999; } #text .pinned { outline: 2px solid #000; }
nav { width: 150px; max-height: 90vh; overflow-y: auto; position: sticky; top: 0; padding: 8px;
  border-left: 1px solid #ddd; font-size: 12px; color: #666; }
nav button { display: block; width: 100%; text-align: left; border: 0; background: none;
  font: 12px ui-monospace, monospace; cursor: pointer; } nav .on { background: #333; color: #fff; }
#tip { position: absolute; display: none; background: #fff; border: 1px solid #888;
  padding: 6px 8px; box-shadow: 0 2px 8px #0004; }
#tip table { font-family: ui-monospace, monospace; } #tip td { padding: 0 4px; }
#tip td div { background: #4a7fb5; height: 9px; } #tip .next { font-weight: bold; }
</style></head>
<body>
<header><h1 id="name"></h1><p id="model"></p><p id="summary"></p><p class="hint" id="extent"></p>
</header>
<div id="controls">
<span>shade by <label><input type="radio" name="view" value="neuron"> a neuron</label>
<label><input type="radio" name="view" value="surprise"> surprise</label></span>
<span>neuron <input type="number" id="neuron" min="0"> <button id="prev">&#9664;</button>
<button id="next">&#9654;</button></span> <span id="scale"></span>
<span class="hint">j/k or arrows: next/previous neuron in the list; s: switch the view;
hover or tap a character for the model's guesses</span></div>
<main><div id="text"></div>
<nav>Neurons, most persistent first: the covariance of each activation with the next.</nav></main>
<div id="tip"></div>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const $ = id => document.getElementById(id), make = tag => document.createElement(tag);
const chars = Array.from(D.text);  // code points, as the model reads them
const GLYPHS = {"\n": "\u21b5", "\t": "\u2192", " ": "\u00b7"};
const glyph = c => GLYPHS[c] || (c < " " ? String.fromCodePoint(0x2400 + c.codePointAt(0)) :
  c === "\x7f" ? "\u2421" : c);  // whitespace and control characters made visible
const mix = (rgb, t) => "rgb(" +  // from white at t = 0 to rgb at t = 1
  rgb.map(x => Math.round(255 + (x - 255) * Math.min(Math.max(t, 0), 1))).join(", ") + ")";
const activation = v => v < 0 ? mix([67, 147, 195], -v) : mix([214, 96, 77], v);
const surprise = bits => mix([230, 85, 13], bits / D.uniform_bits);

document.title = `${D.name} \u2014 min-char-rnn`;
$("name").textContent = D.name;
$("model").textContent = `A vanilla RNN: ${D.vocab.length} characters, ${D.hidden_size} hidden ` +
  `neurons, trained ${D.n} iterations of ${D.seq_length} characters, smooth loss ` +
  `${D.smooth_loss.toFixed(2)} (${(D.smooth_loss / D.seq_length).toFixed(3)} nats/char).`;
$("summary").textContent = D.summary;
$("extent").textContent = `The first ${chars.length} characters; dashed: not in the ` +
  "model's vocabulary, skipped.";
const spans = chars.map((c, i) => {
  const s = $("text").appendChild(make("span"));
  s.textContent = glyph(c);
  s.dataset.i = i;
  s.className = D.top[i] === null ? "unknown" : glyph(c) !== c ? "glyph" : "";
  if (c === "\n") $("text").append(make("br"));
  return s;
});
const buttons = D.order.map(j => {
  const b = document.querySelector("nav").appendChild(make("button"));
  b.textContent = `${String(j).padStart(3)}  ${D.persistence[j].toFixed(3)}`;
  b.onclick = () => show({neuron: j, view: "neuron"});
  return b;
});

const state = {view: "neuron", neuron: D.order[0], pin: null};
function show(change) {
  Object.assign(state, change);
  const j = state.neuron, byNeuron = state.view === "neuron";
  spans.forEach((s, i) => {
    if (D.top[i] !== null) s.style.backgroundColor = byNeuron ? activation(D.acts[j][i]) :
      D.surprise[i] === null ? "" : surprise(D.surprise[i]);
  });
  document.querySelector(`input[value=${state.view}]`).checked = true;
  $("neuron").value = j;
  buttons.forEach((b, k) => b.classList.toggle("on", D.order[k] === j));
  buttons[D.order.indexOf(j)].scrollIntoView({block: "nearest"});
  const bar = make("i");
  bar.style.background = byNeuron ? `linear-gradient(to right, ${activation(-1)}, #fff, ` +
    `${activation(1)})` : `linear-gradient(to right, #fff, ${surprise(D.uniform_bits)})`;
  $("scale").replaceChildren(byNeuron ? "-1 " : "0 bits ", bar, byNeuron ? " +1" :
    ` \u2265 ${D.uniform_bits.toFixed(1)} bits, a uniform guess`);
  spans.forEach((s, i) => s.classList.toggle("pinned", i === state.pin));
  if (state.pin === null) $("tip").style.display = "none";
  else tip(state.pin);
  history.replaceState(null, "", `#view=${state.view}&neuron=${j}` +
    (state.pin === null ? "" : `&pin=${state.pin}`));
}

function tip(i) {  // the character, its shading, and the model's guesses for the next one
  const box = $("tip"), c = chars[i], name = make("b");
  const line = (...parts) => box.appendChild(make("div")).append(...parts);
  name.textContent = glyph(c);
  box.textContent = "";
  const code = c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
  line(`character ${i}: `, name, ` (U+${code})`);
  if (D.top[i] === null) line("not in the model's vocabulary: skipped");
  else {
    line(`neuron ${state.neuron}: ${D.acts[state.neuron][i].toFixed(3)}`);
    line(D.surprise[i] === null ? "the first character: nothing predicted it" :
      `surprise: ${D.surprise[i].toFixed(2)} bits (p = ${(2 ** -D.surprise[i]).toFixed(3)})`);
    line("the model's guesses for the next character:");
    let next = i + 1;
    while (next < chars.length && D.top[next] === null) next++;  // skipped, as the model does
    const table = box.appendChild(make("table")), [ixes, probs] = D.top[i];
    ixes.forEach((ix, k) => {
      const tr = table.appendChild(make("tr")), bar = make("div");
      bar.style.width = `${Math.round(probs[k] * 100)}px`;
      const actual = next < chars.length && D.vocab[ix] === chars[next];
      for (const cell of [glyph(D.vocab[ix]), `${(probs[k] * 100).toFixed(1)}%`, bar,
                          actual ? "\u2190 comes next" : ""]) {
        tr.appendChild(make("td")).append(cell);
      }
      if (actual) tr.className = "next";
    });
  }
  const r = spans[i].getBoundingClientRect();
  Object.assign(box.style, {display: "block", left: "0px"});
  const left = Math.max(0, Math.min(r.left, innerWidth - box.offsetWidth - 24));
  const top = r.bottom + box.offsetHeight + 4 < innerHeight ? r.bottom + 4 :  // else above
    r.top - box.offsetHeight - 4;
  Object.assign(box.style, {left: `${left + scrollX}px`, top: `${top + scrollY}px`});
}

const at = e => e.target.dataset.i === undefined ? null : Number(e.target.dataset.i);
$("text").onmouseover = e => { if (state.pin === null && at(e) !== null) tip(at(e)); };
$("text").onmouseleave = () => { if (state.pin === null) $("tip").style.display = "none"; };
$("text").onclick = e => show({pin: at(e) === state.pin ? null : at(e)});
function step(by) {  // along the list of neurons
  const j = D.order[D.order.indexOf(state.neuron) + by];
  if (j !== undefined) show({neuron: j, view: "neuron"});
}
$("prev").onclick = () => step(-1);
$("next").onclick = () => step(1);
$("neuron").onchange = e => {
  const j = Number(e.target.value);
  if (Number.isInteger(j) && j >= 0 && j < D.hidden_size) show({neuron: j, view: "neuron"});
  else e.target.value = state.neuron;
};
for (const r of document.getElementsByName("view")) r.onchange = () => show({view: r.value});
document.onkeydown = e => {
  if (e.target.id === "neuron" || e.ctrlKey || e.metaKey || e.altKey) return;
  const by = {j: 1, ArrowDown: 1, ArrowRight: 1, k: -1, ArrowUp: -1, ArrowLeft: -1}[e.key];
  if (by) { step(by); e.preventDefault(); }
  else if (e.key === "s") show({view: state.view === "neuron" ? "surprise" : "neuron"});
  else if (e.key === "Escape") show({pin: null});
};

// where to start, from the address: page.html#view=surprise&neuron=5&pin=120
const asked = new URLSearchParams(location.hash.slice(1)), start = {};
const number = (key, below) => {
  const v = Number(asked.get(key));
  return asked.has(key) && Number.isInteger(v) && v >= 0 && v < below ? v : null;
};
if (asked.get("view") === "surprise") start.view = "surprise";
if (number("neuron", D.hidden_size) !== null) start.neuron = number("neuron", D.hidden_size);
start.pin = number("pin", chars.length);
show(start);
</script></body></html>
"""

if __name__ == "__main__":
    sys.exit(main())
