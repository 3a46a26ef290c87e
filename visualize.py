"""
Look inside a model trained by min_char_rnn.py: `python visualize.py model.npz text.txt`
prints the mean of -ln p(character | the characters before it) over the text, read from a zero
state (characters the model does not know are skipped and counted on stderr), and writes
model.html: the first --chars characters shaded by a neuron or by surprise, with the model's
five best guesses for what comes next.
"""
import collections
import contextlib
import itertools
import json
import math
import os
import signal
import sys
import time

import numpy as np

from min_char_rnn import (PARAMS, SIGNALS, CommandLineError, OneLineErrors, char_maps,
                          describe_chars, guarded, load_checkpoint, number, one_line, read_text,
                          regular_or_absent, say, write_whole)

TOP = 5  # guesses shown for the next character
MAX_CHARS = 20_000  # characters on a page: its data grows with them times the hidden size
BLOCK_NUMBERS = 2**20  # states and logits of a block of steps: the steps times (H + V)


def hidden_states(h, ixes, params):
    """The states after reading each index of ixes from state h, as the columns of an
    (H, len(ixes)) array; h is not changed. The forward pass of lossFun, without the output."""
    Wxh, Whh, Why, bh, by = params
    hs = np.empty((Whh.shape[0], len(ixes)))
    for t, ix in enumerate(ixes):
        h = np.tanh(Wxh[:, ix:ix + 1] + np.dot(Whh, h) + bh)
        hs[:, t:t + 1] = h
    return hs


def known_indices(text, char_to_ix, unknown, name):
    """The indices of the characters of text that the model knows, the others counted in
    unknown (a Counter). On a terminal, how much of the text is read, about once a second."""
    tty, shown_at = sys.stderr is not None and sys.stderr.isatty(), time.time()
    for i, ch in enumerate(text):
        if ch in char_to_ix:
            yield char_to_ix[ch]
        else:
            unknown[ch] += 1
        if tty and i % 4096 == 0 and time.time() - shown_at > 1:
            shown_at = time.time()
            print(f"\r{name}: {i / len(text):.0%} read", end="", file=sys.stderr, flush=True)
    if tty:
        print("\r\033[K", end="", file=sys.stderr, flush=True)  # the line cleared


def log_softmax(ys):
    """Log-probabilities from logits, one column per step, shifted by the max to stay finite."""
    ys = ys - ys.max(axis=0)
    return ys - np.log(np.exp(ys).sum(axis=0))


def evaluate(ixes, params, shown):
    """Run the model over the indices ixes (an iterator) from a zero state, a block of steps
    at a time, sized so that the block's logits take BLOCK_NUMBERS numbers. Returns the count
    of indices, the summed -ln p of each index after the first given the ones before it, and
    for the first `shown` indices: the states (H, shown), the TOP likeliest next indices and
    their log-probabilities (TOP, shown) each, and -ln p of each index (nan for the first)."""
    Wxh, Whh, Why, bh, by = params
    h, block = np.zeros((Whh.shape[0], 1)), max(1, BLOCK_NUMBERS // (len(bh) + len(by)))
    count, total, prev = 0, 0.0, None  # prev: log-probabilities after the previous block
    K = min(TOP, len(by))
    kept = dict(hs=[np.empty((len(bh), 0))], top=[np.empty((K, 0), np.intp)],
                top_logp=[np.empty((K, 0))], nats=[np.empty(0)])
    while True:
        ix = np.fromiter(itertools.islice(ixes, block), dtype=np.intp)
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
            logp = logp[:, :shown - count]
            top = np.argsort(-logp, axis=0, kind="stable")[:TOP]
            kept["top"].append(top)
            kept["top_logp"].append(np.take_along_axis(logp, top, axis=0))
            kept["hs"].append(hs[:, :shown - count].copy())  # not a view holding the block
            kept["nats"].append(nats[:shown - count])
        count += len(ix)
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
    hs, nats = kept["hs"], kept["nats"]
    guesses = [[t.tolist(), np.round(np.exp(p), 4).tolist()]
               for t, p in zip(kept["top"].T, kept["top_logp"].T)]
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
                        help="the page to write, replacing a file of that name (default: the "
                             "checkpoint's path, ending .html)")
    parser.add_argument("--chars", default=2000, metavar="N",
                        type=number(int, 1, MAX_CHARS, f"a whole number from 1 to {MAX_CHARS}"),
                        help=f"characters of the text shown on the page, at most {MAX_CHARS} "
                             "(default: 2000)")
    return parser.parse_args(argv)


def run(argv, stop):
    args = parse_args(argv)
    page = args.output or os.path.splitext(args.checkpoint)[0] + ".html"
    folder = os.path.dirname(page) or "."
    if not (os.path.isdir(folder) and os.access(folder, os.W_OK)):  # known now, not at the end
        raise CommandLineError(f"cannot write {page}: {folder} is no folder this user can write")
    regular_or_absent(page)  # and its temporary, known now, not at the end
    regular_or_absent(page + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        if any(os.path.samefile(page, f) for f in (args.checkpoint, args.text)):
            raise CommandLineError(f"the page {page} would overwrite an input; give another -o")
    state = load_checkpoint(args.checkpoint)
    text = read_text(args.text)
    char_to_ix = char_maps(state["chars"])[0]
    start = text[:args.chars]
    unknown = collections.Counter()
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        try:
            count, total, kept = evaluate(known_indices(text, char_to_ix, unknown,
                                                        one_line(args.text)),
                                          [state[k] for k in PARAMS],
                                          sum(ch in char_to_ix for ch in start))
        except FloatingPointError:
            raise CommandLineError(f"the model's numbers overflow on {args.text}") from None
    if count < 2:
        raise CommandLineError(f"{args.text} has {count or 'no'} character{'s' * (count != 1)} "
                               "the model knows; at least 2 are needed to measure a prediction")
    nats = total / (count - 1)
    summary = (f"{one_line(args.text)}: {count} characters, {nats:.4f} nats/char, "
               f"{nats / math.log(2):.4f} bits/char "
               f"(a uniform guess: {math.log2(len(state['chars'])):.4f} bits/char)")
    html = PAGE.replace("__DATA__", script_json(
        page_data(state, start, kept, summary, one_line(os.path.basename(args.checkpoint)))))
    try:
        write_whole(page, lambda f: f.write(html.encode("utf-8")))
    except OSError as e:
        raise CommandLineError(f"cannot write {page}: {e.strerror}") from None
    print(summary)
    if unknown:
        skipped, distinct = sum(unknown.values()), [ch for ch, _ in unknown.most_common()]
        say(f"{args.text}: skipped {skipped} character{'s' * (skipped != 1)} the model does not "
            f"know ({len(distinct)} distinct: {describe_chars(distinct)})")
    return 0


def main(argv=None):
    return guarded("visualize.py", run, argv, "the page holds hidden_size times --chars "
                   "activations: a smaller --chars takes less")


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
  overflow-wrap: anywhere; direction: ltr; }  /* each character isolated: in reading order */
#text span { cursor: pointer; unicode-bidi: isolate-override; } #text .glyph { color: #555; }
#text .unknown { outline: 1px dashed #999; } #text .pinned { outline: 2px solid #000; }
nav { width: 150px; max-height: 90vh; overflow-y: auto; position: sticky; top: 0; padding: 8px;
  border-left: 1px solid #ddd; font-size: 12px; color: #666; }
nav button { display: block; width: 100%; text-align: left; border: 0; background: none;
  font: 12px ui-monospace, monospace; cursor: pointer; } nav .on { background: #333; color: #fff; }
#tip { position: absolute; display: none; background: #fff; border: 1px solid #888;
  padding: 6px 8px; box-shadow: 0 2px 8px #0004; }
#tip table { font-family: ui-monospace, monospace; } #tip td { padding: 0 4px; }
#tip b, #tip td { unicode-bidi: isolate; }  /* a glyph overrides nothing around it */
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

const state = {};
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
const index = (text, below) => /^\d+$/.test(text) && text < below ? Number(text) : null;
$("neuron").onchange = e => {
  const j = index(e.target.value, D.hidden_size);
  if (j === null) e.target.value = state.neuron;
  else show({neuron: j, view: "neuron"});
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
const asked = new URLSearchParams(location.hash.slice(1));
show({view: asked.get("view") === "surprise" ? "surprise" : "neuron",
      neuron: index(asked.get("neuron"), D.hidden_size) ?? D.order[0],
      pin: index(asked.get("pin"), chars.length)});
</script></body></html>
"""

if __name__ == "__main__":
    for s in SIGNALS:  # what main() leaves in place as it returns: no traceback at the end
        signal.signal(s, signal.SIG_IGN)
    sys.exit(main())
