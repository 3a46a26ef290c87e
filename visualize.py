"""`python visualize.py model.npz text.txt` prints the mean of -ln p(character | the ones before
it) over the text, read from a zero state by a model trained by min_char_rnn.py (characters it
does not know are skipped), and writes model.html: how the loss fell and what the model wrote
while it trained; the first --chars characters shaded by a neuron or by surprise, with its five
best guesses for the next one; how far back the gradient of a character's loss reaches."""
import collections, contextlib, io, itertools, json, math, os, sys, time  # noqa: E401

import numpy as np

import min_char_rnn
from min_char_rnn import (PARAMS, CommandLineError, OneLineErrors, char_maps, describe_chars,
                          forward, is_npz, load_checkpoint, number, one_line, plural, read_text,
                          say, write_whole)

TOP = 5  # guesses shown for the next character
MAX_CHARS = 20_000  # characters on a page: its data grows with them times the hidden size
BLOCK_NUMBERS = 2**20  # states and logits of a block of steps: the steps times (H + V)
MAX_VERTICES = 2000  # of the loss curve: a longer history is thinned to these
SATURATED = 0.95  # beyond ±this on this share of the characters, a neuron is saturated


def known_indices(text, char_to_ix, name):
    """The indices of the characters of text that the model knows; on a terminal, the share read."""
    tty, shown_at = sys.stderr is not None and sys.stderr.isatty(), time.time()
    for i, ch in enumerate(text):
        if ch in char_to_ix:
            yield char_to_ix[ch]
        if tty and i % 4096 == 0 and time.time() - shown_at > 1:
            shown_at = time.time()
            print(f"\r{name}: {i / len(text):.0%} read", end="", file=sys.stderr, flush=True)


def log_softmax(ys):
    """Log-probabilities from logits, one column per step, shifted by the max to stay finite."""
    ys = ys - ys.max(axis=0)
    return ys - np.log(np.exp(ys).sum(axis=0))


def evaluate(ixes, params, shown):
    """Run the model over the indices ixes (an iterator) from a zero state in blocks of steps
    whose states and logits take BLOCK_NUMBERS numbers. Returns the count of indices, the sum
    of -ln p(each index after the first | the ones before), and for the first `shown`: states
    (H, shown), the TOP likeliest next indices and their log-probabilities, and each -ln p."""
    Wxh, Whh, Why, bh, by = params
    h, block = np.zeros((len(bh), 1)), max(1, BLOCK_NUMBERS // (len(bh) + len(by)))
    count, total, prev, k = 0, 0.0, None, min(TOP, len(by))  # prev: the last block's last logp
    kept = dict(hs=[np.empty((len(bh), 0))], top=[np.empty((k, 0), np.intp)],
                logp=[np.empty((k, 0))], nats=[np.empty(0)])
    while len(ix := np.fromiter(itertools.islice(ixes, block), dtype=np.intp)):
        hs = np.hstack(list(forward(h, ix, params)))  # step by step: each needs the one before
        h, logp, nats = hs[:, -1:], log_softmax(Why @ hs + by), np.empty(len(ix))  # all at once
        nats[0] = np.nan if prev is None else -prev[ix[0]]
        nats[1:] = -logp[ix[1:], np.arange(len(ix) - 1)]
        total, prev, cut = total + np.nansum(nats), logp[:, -1].copy(), shown - count
        if cut > 0:  # the best k of each column (of equals, the lower index first)
            logp = logp[:, :cut]
            part = np.argpartition(-logp, k - 1, axis=0)[:k]
            top = np.take_along_axis(part, np.lexsort((part, -np.take_along_axis(logp, part, 0)),
                                                      axis=0), 0)
            for key, v in zip(kept, (hs[:, :cut], top, np.take_along_axis(logp, top, 0), nats)):
                kept[key].append(v[..., :cut].copy())  # copies: none holds on to the block
        count += len(ix)
    return count, total, {key: np.concatenate(v, axis=-1) for key, v in kept.items()}


def gradient_flow(hs, ixes, params, depth):
    """norms[k, t] = ||d loss_t / d h_{t-k}||, k = 0..depth: hs (H, S) are the states after
    each of ixes (S), loss_t = -ln p(ixes[t + 1] | h_t). Shape (depth + 1, S - 1); nan if k > t."""
    Wxh, Whh, Why, bh, by = params
    S, step = max(hs.shape[1] - 1, 0), max(1, BLOCK_NUMBERS // len(by))
    dh = np.empty((len(bh), S))  # d loss_t / d h_t, column t, a block of logits at a time
    for a in range(0, S, step):
        b = min(a + step, S)
        dy = np.exp(log_softmax(Why @ hs[:, a:b] + by))
        dy[ixes[a + 1:b + 1], np.arange(b - a)] -= 1  # p - onehot(target): lossFun's dy
        dh[:, a:b] = Why.T @ dy
    norms = np.full((depth + 1, S), np.nan)
    norms[0] = np.linalg.norm(dh, axis=0)
    for k in range(1, min(depth, S - 1) + 1):  # a step back, for every t >= k at once:
        dhraw = (1 - hs[:, 1:S - k + 1] ** 2) * dh[:, 1:]  # lossFun's dhraw = (1 - hs[t]**2) * dh
        dh = Whh.T @ dhraw  # lossFun's dhnext = np.dot(Whh.T, dhraw): what reaches h_{t-k}
        norms[k, k:] = np.linalg.norm(dh, axis=0)
    return norms


def rank_neurons(hs):
    """Each neuron's lag-one correlation (its activation with the next one), what it does in a
    word, and the order of the list: by correlation, then the saturated, then the constant."""
    hs = hs if hs.shape[1] > 1 else np.zeros((len(hs), 2))
    a, b = (x - x.mean(axis=1, keepdims=True) for x in (hs[:, :-1], hs[:, 1:]))
    scale = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    saturated = (np.abs(hs) > SATURATED).mean(axis=1) >= SATURATED
    constant = ~saturated & (np.ptp(hs, axis=1) < 1e-3)
    r = np.where(constant | (scale == 0), 0, (a * b).sum(axis=1) / np.maximum(scale, 1e-300))
    words = np.select([saturated & (r <= -0.5), saturated, constant, r >= 0.5, r <= -0.5], [
        "saturated, flips sign at every character", "saturated, near -1 or +1", "constant",
        "follows something that lasts", "flips at every character"], "changes with each character")
    return r, words.tolist(), np.lexsort((-r, saturated, constant)).tolist()


def page_data(state, text, kept, flow, bits, summary, name):
    """What the page shows, for the characters of text (the first --chars of the text)."""
    chars, depth, losses = state["chars"], 2 * state["seq_length"], state["losses"]
    known = set(chars)
    where = [i for i, ch in enumerate(text) if ch in known]  # step t reads text[where[t]]
    step = dict(zip(where, itertools.count()))
    spread = lambda values: [values[step[i]] if i in step else None for i in range(len(text))]
    flows = [[float(f"{x:.4g}") for x in flow[:min(t, depth) + 1, t].tolist()]
             if t + 1 < len(where) and where[t + 1] == where[t] + 1 else None  # next one known
             for t in range(len(where))]
    losses = [losses[i] for i in np.linspace(  # all, or the first, the last and evenly between
        0, len(losses) - 1, min(len(losses), MAX_VERTICES)).round().astype(int)]
    r, words, order = rank_neurons(kept["hs"])
    return dict(name=name, vocab=chars, hidden_size=state["hidden_size"], n=state["n"],
                seq_length=state["seq_length"], smooth_loss=float(state["smooth_loss"]),
                bits=bits, uniform_bits=max(math.log2(len(chars)), 1e-9),  # above 0 for one
                summary=summary, text=text, correlation=np.round(r, 3).tolist(), words=words,
                order=order, acts=[spread(row) for row in np.round(kept["hs"], 3).tolist()],
                surprise=spread([None if math.isnan(x) else round(x / math.log(2), 3)
                                 for x in kept["nats"]]),
                top=spread([[t.tolist(), np.round(np.exp(p), 4).tolist()]
                            for t, p in zip(kept["top"].T, kept["logp"].T)]),
                gradient_flow=spread(flows), losses=losses, samples=state["samples"])


def run(argv, stop):
    parser = OneLineErrors(prog="visualize.py", description="Measure how well a min_char_rnn.py "
                           "checkpoint predicts a text, and write a page that shows how it "
                           "learned, and its neurons, guesses and gradients on the text.")
    parser.add_argument("checkpoint", help="a checkpoint saved by min_char_rnn.py (.npz)")
    parser.add_argument("text", help="the UTF-8 text to read")
    parser.add_argument("-o", "--output", metavar="PAGE.html", help="the page to write, "
                        "replacing a file of that name (default: the checkpoint's path, .html)")
    parser.add_argument("--chars", default=2000, metavar="N", help="characters of the text "
                        f"shown on the page, at most {MAX_CHARS} (default: 2000)",
                        type=number(int, 1, MAX_CHARS, f"a whole number from 1 to {MAX_CHARS}"))
    args = parser.parse_args(argv)
    page = args.output or os.path.splitext(args.checkpoint)[0] + ".html"
    folder = os.path.dirname(page) or "."
    if not (os.path.isdir(folder) and os.access(folder, os.W_OK)):  # known now, not at the end
        raise CommandLineError(f"cannot write {page}: {folder} is no folder this user can write")
    with contextlib.suppress(OSError):
        if any(os.path.samefile(page, f) for f in (args.checkpoint, args.text)):
            raise CommandLineError(f"the page {page} would overwrite an input; give another -o")
    state = load_checkpoint(args.checkpoint)
    if is_npz(args.text):
        raise CommandLineError(f"{args.text} is a checkpoint, not a text: give CHECKPOINT TEXT")
    with contextlib.redirect_stdout(io.StringIO()):  # read_data's line is training's
        text = read_text(args.text)[0]
    char_to_ix, params = char_maps(state["chars"])[0], [state[k] for k in PARAMS]
    start, name = text[:args.chars], one_line(args.text)
    shown = [char_to_ix[ch] for ch in start if ch in char_to_ix]
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            count, total, kept = evaluate(known_indices(text, char_to_ix, name), params,
                                          len(shown))
            flow = gradient_flow(kept["hs"], shown, params, 2 * state["seq_length"])
    except FloatingPointError:
        raise CommandLineError(f"the model's numbers overflow on {args.text}") from None
    finally:  # the progress line cleared, however it ends, before a line is said
        if sys.stderr is not None and sys.stderr.isatty():
            print("\r\033[K", end="", file=sys.stderr, flush=True)
    if count < 2:
        raise CommandLineError(f"{args.text} has {plural(count, 'character')} the model knows; "
                               "at least 2 are needed to measure a prediction")
    nats, uniform = total / (count - 1), math.log2(len(state["chars"]))
    summary = (f"{name}: {plural(count, 'character')}, {nats:.4f} nats/char, "
               f"{nats / math.log(2):.4f} bits/char (a uniform guess: {uniform:.4f} bits/char)")
    data = json.dumps(page_data(state, start, kept, flow, nats / math.log(2), summary,
                                one_line(os.path.basename(args.checkpoint))),
                      ensure_ascii=False, separators=(",", ":"))
    data = data.translate({ord(c): f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})  # in <script>
    try:
        write_whole(page, lambda f: f.write(PAGE.replace("__DATA__", data).encode("utf-8")))
    except OSError as e:
        raise CommandLineError(f"cannot write {page}: {e.strerror}; give -o another") from None
    print(summary)
    if stop:  # a write to stdout failed
        raise CommandLineError(f"cannot write to stdout: {stop[0].strerror}; {page} is written")
    unknown = collections.Counter(ch for ch in text if ch not in char_to_ix).most_common()
    if unknown:
        say(f"{args.text}: skipped {plural(sum(n for _, n in unknown), 'character')} the model "
            f"does not know ({len(unknown)} distinct: {describe_chars([c for c, _ in unknown])})")
    say(f"wrote {page}")
    return 0


def main(argv=None):
    return min_char_rnn.main(argv, run, "visualize.py", "--chars")


PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>min-char-rnn</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; } p { margin: 2px 0; }
header, #learning, #controls { padding: 8px 16px; border-bottom: 1px solid #ddd; }
header { background: #f4f4f4; } h1 { font-size: 17px; margin: 0; } h2 { font-size: 15px; }
h2 { margin: 4px 0; } .hint { color: #555; max-width: 62em; } aside .hint { font-size: 12px; }
#learning, #controls { display: flex; flex-wrap: wrap; gap: 6px 32px; align-items: center; }
#learning > div { flex: 1 1 440px; align-self: start; } main { display: flex; }
#samples { max-height: 250px; overflow-y: auto; font: 12px/1.35 ui-monospace, monospace; }
#samples b { display: block; margin-top: 6px; font: bold 12px system-ui, sans-serif; }
#samples span { display: block; white-space: pre-wrap; overflow-wrap: anywhere; direction: ltr;
  unicode-bidi: isolate-override; background: #f6f6f6; padding: 2px 4px; }
svg text { font: 11px system-ui, sans-serif; fill: #444; } .grid { stroke: #eee; }
.axis { stroke: #888; fill: none; } .curve { fill: none; stroke: #333; stroke-width: 1.5; }
.uniform { stroke: #999; stroke-dasharray: 5 4; } .measured { stroke: #e6550d; }
#seq-length-mark { stroke: #c00; stroke-dasharray: 4 3; } #gradient-flow rect { fill: #4a7fb5; }
#scale i { display: inline-block; width: 120px; height: 12px; vertical-align: middle; }
#text { flex: 1; padding: 12px 16px; font: 15px/1.6 ui-monospace, monospace;
  overflow-wrap: anywhere; direction: ltr; }  /* each character isolated: in reading order */
#text span { cursor: pointer; unicode-bidi: isolate-override; } #text .glyph { color: #555; }
#text .unknown { color: #999; text-decoration: line-through; outline: 1px dashed #c33; }
#text .pinned { outline: 2px solid #000; } #text .traced { box-shadow: inset 0 -3px #c00; }
aside { width: 400px; max-height: 100vh; overflow-y: auto; position: sticky; top: 0;
  padding: 8px 12px; border-left: 1px solid #ddd; }
nav button { display: block; width: 100%; text-align: left; border: 0; background: none;
  font: 12px ui-monospace, monospace; cursor: pointer; white-space: pre; color: inherit; }
nav small { font: 11px system-ui, sans-serif; opacity: .75; } #tip td div { height: 9px; }
nav .on { background: #333; color: #fff; } #tip td div { background: #4a7fb5; }
#tip { position: absolute; display: none; background: #fff; border: 1px solid #888;
  padding: 6px 8px; box-shadow: 0 2px 8px #0004; } #tip .next { font-weight: bold; }
#tip table { font-family: ui-monospace, monospace; }
#tip b, #tip td { unicode-bidi: isolate; padding: 0 4px; }  /* a glyph overrides nothing */
</style></head>
<body>
<header><h1 id="name"></h1><p id="model"></p></header>
<section id="learning"><div><h2>How the loss fell</h2><p class="hint" id="loss-hint">This
checkpoint keeps no history of its training (saved by an older version, or before its first
iteration): there is no loss curve, and there are no samples.</p>
<div id="loss"></div></div><div><h2>What it wrote as it learned</h2><p class="hint">Samples
printed while it trained, each drawn from the model as it was then (&#8629; is a newline).</p>
<div id="samples"></div></div></section>
<div id="controls"><span>shade by <label><input type="radio" name="view" value="neuron"> a
neuron</label> <label><input type="radio" name="view" value="surprise"> surprise</label></span>
<span id="scale"></span><p class="hint" id="legend"></p></div>
<main><div id="text"></div><aside><h2>Gradient flow</h2><p class="hint" id="flow-hint">No
character shown is followed by one the model knows: there is no loss to trace back.</p>
<div id="gradient-flow"></div><h2>Neurons</h2><p class="hint">Ranked by how much a neuron's value
carries over to the next character (lag-one correlation): near +1 it follows something that lasts,
such as being inside a word (a small model may have none); near &minus;1 it flips at every
character. Saturated ones, near &minus;1 or +1 almost always, come last: there tanh is flat (1
&minus; h&sup2; near 0), so almost no gradient passes back through them, as the bars above show.
Click one to shade the text by it (j and k step through the list).</p>
<nav id="neurons"></nav></aside></main><div id="tip"></div>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const $ = id => document.getElementById(id);
const make = (tag, text = "") => Object.assign(document.createElement(tag), {textContent: text});
const chars = Array.from(D.text);  // code points, as the model reads them
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const hex = c => c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
const GLYPHS = {"\n": "\u21b5", "\t": "\u2192", "\x7f": "\u2421"};
const glyph = (c, space = "\u00b7") => c === " " ? space : GLYPHS[c] ||  // made visible:
  (c < " " ? String.fromCodePoint(0x2400 + c.codePointAt(0)) :  // control characters
   /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(c) ? `\u27e8${hex(c)}\u27e9` : c);  // and invisible ones
const mix = (rgb, t) => "rgb(" +  // from white at t = 0 to rgb at t = 1
  rgb.map(x => Math.round(255 + (x - 255) * Math.min(Math.max(t, 0), 1))).join(", ") + ")";
const activation = v => v < 0 ? mix([67, 147, 195], -v) : mix([214, 96, 77], v);
const surprise = bits => mix([230, 85, 13], bits / D.uniform_bits);
const bitsOf = loss => loss / D.seq_length / Math.LN2;  // a chunk's loss in nats, per character
function draw(parent, tag, attrs, text) {  // an SVG element
  const e = parent.appendChild(document.createElementNS("http://www.w3.org/2000/svg", tag));
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return Object.assign(e, {textContent: text ?? ""});
}
const across = (s, x1, x2, y, cls) => draw(s, "line", {x1, x2, y1: y, y2: y, class: cls});
const label = (s, x, y, text, anchor = "middle") =>
  draw(s, "text", {x, y, "text-anchor": anchor}, text);
const grid = (s, x1, x2, y, text) => {  // a line across, labelled on the left
  across(s, x1, x2, y, "grid");
  label(s, x1 - 5, y + 4, text, "end");
};
const roundStep = span => [1, 2, 5, 10].map(m => m * 10 ** Math.floor(Math.log10(span / 4)))
  .find(s => span / s <= 6);  // a round step that cuts span into 3 to 6 parts

document.title = `${$("name").textContent = D.name} \u2014 min-char-rnn`;
$("model").textContent = `A vanilla RNN: ${plural(D.vocab.length, "character")}, ` +
  `${plural(D.hidden_size, "hidden neuron")}, trained ${plural(D.n, "iteration")} of ` +
  `${plural(D.seq_length, "character")}; smooth loss ${D.smooth_loss.toFixed(2)} ` +
  `(${bitsOf(D.smooth_loss).toFixed(3)} bits/char). Measured on ${D.summary}.`;
const unknown = D.top.filter(t => t === null).length;
const legend = byNeuron => `The text's first ${plural(chars.length, "character")}, each shaded ` +
  (byNeuron ? "by the chosen neuron's value after reading it (blue \u22121, white 0, red +1)" :
   "by its surprise, \u2212log\u2082 p of it given the ones before: darker, less expected") +
  "; hover or tap one for the model's five best guesses for the next, click to pin it and " +
  "trace its gradient back." + (unknown ? ` Struck through: ${plural(unknown, "character")} ` +
  "the model does not know." : "");

if (D.losses.length) {
  const u = D.uniform_bits, [W, H, L, R, T, B] = [580, 230, 44, 170, 8, 34];
  $("loss-hint").textContent = "The training loss in bits per character, averaged over about " +
    `the last thousand chunks: it starts at a uniform guess (log\u2082 ${D.vocab.length} bits) ` +
    "and falls as the model learns. Orange: the finished model on the text below; on a text " +
    "it never trained on, that measures how well it generalises.";
  const last = Math.max(D.losses.at(-1)[0], 100);
  const top = Math.ceil(Math.max(u, D.bits, ...D.losses.map(p => bitsOf(p[1]))));
  const x = n => L + (W - L - R) * n / last, y = b => T + (H - T - B) * (1 - b / top);
  const s = draw($("loss"), "svg", {id: "loss-curve", width: W, height: H});
  for (let b = 0; b <= top; b += roundStep(top)) grid(s, L, W - R, y(b), +b.toFixed(2));
  for (let n = 0; n <= last; n += roundStep(last)) label(s, x(n), H - B + 14, n);
  label(s, (L + W - R) / 2, H - 4, "iterations");
  label(s, 0, 0, "loss, bits per character").setAttribute("transform",
                                                       `translate(11 ${(H - B) / 2}) rotate(-90)`);
  draw(s, "path", {class: "axis", d: `M${L},${T}V${H - B}H${W - R}`});
  for (const [bits, text, cls] of [[u, "uniform guess", "uniform"], [D.bits, "this text",
                                                                      "measured"]]) {
    across(s, L, W - R, y(bits), cls);
    const apart = cls === "uniform" || Math.abs(y(bits) - y(u)) > 12 ? 0 : bits > u ? -12 : 12;
    label(s, W - R + 4, y(bits) + 4 + apart, `${text}: ${bits.toFixed(2)} bits/char`, "start");
  }
  draw(s, "polyline", {class: "curve", points: D.losses.map(([n, loss]) =>
    `${x(n)},${y(bitsOf(loss))}`).join(" ")});
  if (D.losses.length === 1) draw(s, "circle", {cx: x(0), cy: y(bitsOf(D.losses[0][1])), r: 2});
}
if (!D.samples.length) $("samples").parentNode.hidden = true;
for (const [n, text] of D.samples) $("samples").appendChild(make("div")).append(make("b",
  `iteration ${n}`), make("span", Array.from(text, c => glyph(c, " ") + "\n".repeat(c === "\n"))
  .join("")));

const spans = chars.map((c, i) => {
  const s = $("text").appendChild(make("span", glyph(c)));
  s.className = D.top[i] === null ? "unknown" : glyph(c) !== c ? "glyph" : "";
  s.dataset.i = i;
  if (c === "\n") $("text").append(make("br"));
  return s;
});
const buttons = D.order.map(j => {
  const b = $("neurons").appendChild(make("button"));
  b.append(`${String(j).padStart(3)} ${D.correlation[j].toFixed(2).padStart(5)}  `,
           make("small", D.words[j]));
  b.onclick = () => show({neuron: j, view: "neuron"});
  return b;
});
const norms = D.gradient_flow.flat().filter(v => v > 0).map(Math.log10);  // one scale for all
const high = Math.ceil(norms.reduce((a, v) => Math.max(a, v), -300));
const lowest = Math.floor(norms.reduce((a, v) => Math.min(a, v), 0));
const low = Math.max(lowest, high - 12), clipped = lowest < low;  // 12 decades at most
const every = Math.max(1, Math.round((high - low) / 5));  // decades between labels
function flow(i) {  // how far back the gradient of the loss at character i reaches
  const depth = 2 * D.seq_length, [W, H, L, R, T, B] = [376, 190, 48, 8, 10, 36];
  const bar = (W - L - R) / (depth + 1), mark = L + D.seq_length * bar;
  const y = v => T + (H - T - B) * (high - Math.max(Math.log10(v), low)) / (high - low || 1);
  const t = D.top.slice(0, i).filter(g => g !== null).length;  // the model's steps before it
  state.flow = i;  // the character traced, marked in the text:
  spans.forEach((s, k) => s.classList.toggle("traced", k === i));
  const s = draw($("gradient-flow"), "svg", {width: W, height: H});
  $("gradient-flow").replaceChildren(...D.gradient_flow[i] ? [s] : []);
  $("flow-hint").textContent = !D.gradient_flow[i] ? `Character ${i} has no loss to trace ` +
    "back: the model does not know it, or the next one, or the next one is not shown." :
    `Bar k: how much the loss at character ${i} (underlined in red; step t = ${t}), lossFun's ` +
    `\u2212ln p of the next one, \u201c${glyph(chars[i + 1])}\u201d, changes with the hidden ` +
    "state k steps earlier (the norm of d loss / d h, on a log scale). Training never sends it " +
    "back past the red line; bars that shrink fast mean the model learns little from long ago.";
  for (let p = low; p <= high; p += every)
    grid(s, L, W - R, y(10 ** p), `${p === low && clipped ? "\u2264" : ""}1e${p}`);
  (D.gradient_flow[i] || []).forEach((v, k) => draw(draw(s, "rect", {x: L + k * bar + 0.5,
    y: y(v) - 1, width: Math.max(bar - 1, 0.5), height: H - B - y(v) + 1}), "title", {},
    `k = ${k}: ${v}`));
  draw(s, "line", {id: "seq-length-mark", x1: mark, x2: mark, y1: T, y2: H - B});
  label(s, mark + 3, T + 10, `seq_length = ${D.seq_length}`, "start");
  for (const k of [0, D.seq_length, depth]) label(s, L + (k + 0.5) * bar, H - B + 13, k);
  label(s, (L + W - R) / 2, H - 6, "steps back, k");
}
const state = {flow: null};
function show(change) {
  Object.assign(state, change);
  const j = state.neuron, byNeuron = state.view === "neuron", bar = make("i");
  spans.forEach((s, i) => {
    if (D.top[i] !== null) s.style.backgroundColor = byNeuron ? activation(D.acts[j][i]) :
      D.surprise[i] === null ? "" : surprise(D.surprise[i]);
    s.classList.toggle("pinned", i === state.pin);
  });
  document.querySelector(`input[value=${state.view}]`).checked = true;
  buttons.forEach((b, k) => b.classList.toggle("on", D.order[k] === j));
  bar.style.background = byNeuron ? `linear-gradient(to right, ${activation(-1)}, #fff, ` +
    `${activation(1)})` : `linear-gradient(to right, #fff, ${surprise(D.uniform_bits)})`;
  $("legend").textContent = legend(byNeuron);
  $("scale").replaceChildren(byNeuron ? `neuron ${j}: \u22121 ` : "0 bits ", bar,
    byNeuron ? " +1" : ` \u2265 ${D.uniform_bits.toFixed(1)} bits, a uniform guess`);
  if (state.pin === null) $("tip").style.display = "none";
  else tip(state.pin);
  if (state.pin !== null) flow(state.pin);
  history.replaceState(null, "", `#view=${state.view}&neuron=${j}` +
    (state.pin === null ? "" : `&pin=${state.pin}`));
}

function tip(i) {  // the character, its shading, and the model's guesses for the next one
  const box = $("tip"), c = chars[i];
  const line = (...parts) => box.appendChild(make("div")).append(...parts);
  box.textContent = "";
  line(`character ${i}: `, make("b", glyph(c)), ` (U+${hex(c)})`);
  if (D.top[i] === null) line("not in the model's vocabulary: skipped");
  else {
    line(`neuron ${state.neuron}: ${D.acts[state.neuron][i].toFixed(3)}`);
    line(D.surprise[i] === null ? "the first character: nothing predicted it" :
      `surprise: ${D.surprise[i].toFixed(2)} bits (p = ${(2 ** -D.surprise[i]).toFixed(3)})`);
    line("the model's five best guesses for the next character, and how likely each is:");
    let next = i + 1;
    while (next < chars.length && D.top[next] === null) next++;  // skipped, as the model does
    const table = box.appendChild(make("table")), [ixes, probs] = D.top[i];
    ixes.forEach((ix, k) => {
      const tr = table.appendChild(make("tr")), bar = make("div");
      const actual = next < chars.length && D.vocab[ix] === chars[next];
      bar.style.width = `${Math.round(probs[k] * 100)}px`;
      for (const cell of [glyph(D.vocab[ix]), `${(probs[k] * 100).toFixed(1)}%`, bar,
                          actual ? "\u2190 comes next" : ""]) tr.insertCell().append(cell);
      if (actual) tr.className = "next";
    });
  }
  const r = spans[i].getBoundingClientRect();
  Object.assign(box.style, {display: "block", left: "0px"});
  const left = Math.max(0, Math.min(r.left, $("text").getBoundingClientRect().right -
                                    box.offsetWidth));  // over the text, not beside it
  const top = r.bottom + box.offsetHeight + 4 < innerHeight ? r.bottom + 4 :  // else above
    r.top - box.offsetHeight - 4;
  Object.assign(box.style, {left: `${left + scrollX}px`, top: `${top + scrollY}px`});
}

const at = e => e.target.dataset.i === undefined ? null : Number(e.target.dataset.i);
$("text").onmouseover = e => { if (state.pin === null && at(e) !== null) tip(at(e)); };
$("text").onmouseleave = () => { if (state.pin === null) $("tip").style.display = "none"; };
$("text").onclick = e => show({pin: at(e) === state.pin ? null : at(e)});
for (const r of document.getElementsByName("view")) r.onchange = () => show({view: r.value});
document.onkeydown = e => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const by = {j: 1, ArrowDown: 1, ArrowRight: 1, k: -1, ArrowUp: -1, ArrowLeft: -1}[e.key];
  const b = buttons[D.order.indexOf(state.neuron) + by];  // along the list of neurons
  if (b) { b.click(); b.scrollIntoView({block: "nearest"}); e.preventDefault(); }
  else if (e.key === "s") show({view: state.view === "neuron" ? "surprise" : "neuron"});
  else if (e.key === "Escape") show({pin: null});
};

// where to start: a character whose gradient reaches back furthest, and the address
// (page.html#view=surprise&neuron=5&pin=120)
const lengths = D.gradient_flow.map(f => (f || []).length);
if (Math.max(...lengths) > 0) flow(lengths.indexOf(Math.max(...lengths)));
const asked = new URLSearchParams(location.hash.slice(1));
const index = (text, below) => /^\d+$/.test(text) && text < below ? Number(text) : null;
show({view: asked.get("view") === "surprise" ? "surprise" : "neuron",
      neuron: index(asked.get("neuron"), D.hidden_size) ?? D.order[0],
      pin: index(asked.get("pin"), chars.length)});
</script></body></html>
"""

if __name__ == "__main__":
    sys.exit(main())
