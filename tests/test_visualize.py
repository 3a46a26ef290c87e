"""visualize.py: the measure it prints; the page it writes, each view's numbers checked against
the model (the gradient flow against finite differences) and the page run in a browser; and one
line for every mistake."""
import contextlib
import html.parser
import io
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tracemalloc
import unicodedata

import numpy as np
import pytest

import min_char_rnn
import visualize
from conftest import ROOT, SHORT_TEXT, run_main
from min_char_rnn import PARAMS, char_maps, checkpoint_arrays, init_training, lossFun

FORMAT_1 = ROOT / "tests" / "data" / "format1.npz"  # saved by version 1.0.0, on SHORT_TEXT
HOSTILE = ('</script><script>alert(1)</script> <img src=x onerror=alert(1)> <!-- &amp; '
           '\u2028\u2029 "quoted" \\u003c')


def quietly(main, *args):
    """main(args) with stdout and stderr of its own, for fixtures: (status, stdout, stderr)."""
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in args])
    out.flush()
    return status, out.buffer.getvalue().decode("utf-8"), err.getvalue()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small model trained on input.txt for 201 iterations, so that it kept the loss and a
    sample at iterations 0, 100 and 200; and its state as loaded."""
    path = tmp_path_factory.mktemp("model") / "model.npz"
    assert quietly(min_char_rnn.main, ROOT / "input.txt", "--seed", 1, "--max-iters", 201,
                   "--hidden-size", 16, "--checkpoint", path)[0] == 0
    return path, min_char_rnn.load_checkpoint(path)


# A model made by hand, of 6 neurons: 0 saturated, 1 constant, 2 flipping sign at every
# character, 3 following something that lasts, 4 and 5 random; its vocabulary and its history
# hold markup, and its history is longer than a page draws.
TINY_SAMPLE = "</script><script>alert(1)</script>\n\t&amp;\u2028"
TINY_CHARS = sorted(set(TINY_SAMPLE + "abc "))
TINY_SEQ_LENGTH = 3  # the gradient flow reaches back 2 * 3 = 6 steps


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    rng = np.random.RandomState(0)
    state = init_training(TINY_CHARS, 0, hidden_size=6, seq_length=TINY_SEQ_LENGTH,
                          sample_length=len(TINY_SAMPLE))
    V = len(TINY_CHARS)
    Wxh, Whh, Why, bh = rng.randn(6, V) * 0.5, rng.randn(6, 6) * 0.5, rng.randn(V, 6), \
        np.zeros((6, 1))
    Whh[:4], Wxh[:2] = 0, 0
    bh[0], Whh[2, 2], Wxh[2] = 4, -1.5, 0.05 * rng.randn(V)
    Whh[3, 3] = 0.95
    state.update(Wxh=Wxh, Whh=Whh, Why=Why, bh=bh, by=rng.randn(V, 1), n=500_000,
                 losses=[(100 * i, 80 / (1 + i / 50)) for i in range(5000)],
                 samples=[(0, TINY_SAMPLE), (100, TINY_SAMPLE[::-1])])
    path = tmp_path_factory.mktemp("tiny") / "tiny.npz"
    np.savez(path, **checkpoint_arrays(state))
    return path, state


class Page(html.parser.HTMLParser):
    """The elements of a page, the text of those with an id, and the JSON of its data."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.text, self.id = [], {}, None
        self.feed(text)
        self.data = json.loads(self.text["data"])

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.id = dict(attrs).get("id", self.id)

    def handle_data(self, data):
        if self.id:
            self.text[self.id] = self.text.get(self.id, "") + data

    def handle_endtag(self, tag):
        self.id = None


def visualized(capsys, model, tmp_path, text, *args):
    """Run visualize.py on text: (stdout, stderr, the page's data)."""
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    status, out, err = run_main(capsys, model[0], tmp_path / "text.txt", "-o",
                                tmp_path / "page.html", *args, main=visualize.main)
    assert status == 0, err
    return out, err, Page((tmp_path / "page.html").read_text(encoding="utf-8")).data


def summary(out):
    match = re.fullmatch(r"(.*): (\d+) characters?, (\d+\.\d{4}) nats/char, (\d+\.\d{4}) "
                         r"bits/char \(a uniform guess: (\d+\.\d{4}) bits/char\)\n", out)
    assert match, out
    return match[1], int(match[2]), float(match[3]), float(match[4]), float(match[5])


def states(state, text):
    """The hidden state after each character of text (all known), from a zero state."""
    char_to_ix, h, hs = char_maps(state["chars"])[0], np.zeros((state["hidden_size"], 1)), []
    for ch in text:
        h = np.tanh(state["Wxh"][:, [char_to_ix[ch]]] + state["Whh"] @ h + state["bh"])
        hs.append(h[:, 0])
    return np.array(hs).T


@pytest.mark.parametrize("block", [7, 4096], ids=["blocks of 7", "blocks of 4096"])
def test_the_measure_is_the_mean_loss_of_the_forward_pass(capsys, model, tmp_path, monkeypatch,
                                                          block):
    """The mean of -ln p over every character after the first: lossFun's loss over the whole
    text as one chunk from a zero state, divided by the number of predictions."""
    text = (ROOT / "input.txt").read_text(encoding="utf-8")[:1000]
    monkeypatch.setattr(visualize, "BLOCK_NUMBERS", block * (16 + len(model[1]["chars"])))
    out, err, data = visualized(capsys, model, tmp_path, text, "--chars", 10)
    name, count, nats, bits, uniform = summary(out)
    assert err == f"wrote {tmp_path / 'page.html'}\n"
    assert name == str(tmp_path / "text.txt") and count == 1000
    state = model[1]
    ixes = [char_maps(state["chars"])[0][ch] for ch in text]
    loss = lossFun(ixes[:-1], ixes[1:], np.zeros((16, 1)), [state[k] for k in PARAMS])[0]
    assert nats == pytest.approx(loss / 999, abs=5e-5)
    assert bits == pytest.approx(loss / 999 / math.log(2), abs=5e-5)
    assert uniform == pytest.approx(math.log2(len(state["chars"])), abs=5e-5)
    assert data["bits"] == pytest.approx(loss / 999 / math.log(2))  # marked on the loss curve


@pytest.mark.parametrize("block", [3, 4096], ids=["blocks of 3", "blocks of 4096"])
def test_the_page_holds_the_states_and_guesses_of_the_forward_pass(capsys, model, tmp_path,
                                                                   monkeypatch, block):
    text = "The lighthouse stood\n  on its rock. "
    monkeypatch.setattr(visualize, "BLOCK_NUMBERS", block * (16 + len(model[1]["chars"])))
    data = visualized(capsys, model, tmp_path, text + "Not shown.", "--chars", len(text))[2]
    state = model[1]
    ixes = [char_maps(state["chars"])[0][ch] for ch in text]
    assert data["text"] == text and data["vocab"] == state["chars"]
    for t, h in enumerate(states(state, text).T):
        y = state["Why"] @ h + state["by"][:, 0]
        p = np.exp(y) / np.exp(y).sum()  # the softmax of lossFun
        np.testing.assert_allclose([row[t] for row in data["acts"]], h, atol=5.1e-4)
        top, probs = data["top"][t]
        assert top == list(np.argsort(-p, kind="stable")[:5])
        np.testing.assert_allclose(probs, p[top], atol=5.1e-5)
        if t + 1 < len(ixes):
            assert data["surprise"][t + 1] == pytest.approx(-math.log2(p[ixes[t + 1]]),
                                                            abs=5.1e-4)
    assert data["surprise"][0] is None  # nothing came before it to predict it


def test_unknown_characters_are_skipped_as_if_absent(capsys, model, tmp_path):
    clean = "The tower went up, and the old men who mended nets said nothing."
    out, err, data = visualized(capsys, model, tmp_path, clean)
    messy = "€" + clean[:9] + "☃☃" + clean[9:30] + "€" + clean[30:]
    messy_out, messy_err, messy_data = visualized(capsys, model, tmp_path, messy)
    assert summary(messy_out)[1:] == summary(out)[1:] and summary(out)[1] == len(clean)
    assert err == f"wrote {tmp_path / 'page.html'}\n"
    assert messy_err == f"{tmp_path / 'text.txt'}: skipped 4 characters the model does not " \
                        f"know (2 distinct: '€', '☃')\nwrote {tmp_path / 'page.html'}\n"
    assert messy_data["text"] == messy
    known = [i for i, ch in enumerate(messy) if ch not in "€☃"]
    for key in ("surprise", "top"):
        assert [messy_data[key][i] for i in known] == data[key]
        assert [messy_data[key][i] for i in range(len(messy)) if i not in known] == [None] * 4
    assert [[row[i] for i in known] for row in messy_data["acts"]] == data["acts"]
    one = visualized(capsys, model, tmp_path, "€" + clean)[1]
    assert "skipped 1 character the model" in one and "(1 distinct: '€')" in one


def test_the_page_carries_the_history_of_training(capsys, model, tmp_path):
    """The loss at every hundredth iteration and the samples kept at 0, 100, 200, as saved."""
    data = visualized(capsys, model, tmp_path, "The tower went up.")[2]
    losses, samples = model[1]["losses"], model[1]["samples"]
    assert [n for n, _ in losses] == [0, 100, 200] and [n for n, _ in samples] == [0, 100, 200]
    assert data["losses"] == [list(point) for point in losses]
    assert data["samples"] == [list(sample) for sample in samples]
    assert data["seq_length"] == 25 and data["n"] == 201


def test_a_long_history_is_thinned_to_max_vertices(capsys, tiny, tmp_path):
    """5000 points: 2000 of them drawn, the first and the last among them, in order."""
    data = visualized(capsys, tiny, tmp_path, "abc")[2]
    points = [tuple(point) for point in data["losses"]]
    assert len(points) == visualize.MAX_VERTICES == 2000
    assert points[0] == tiny[1]["losses"][0] and points[-1] == tiny[1]["losses"][-1]
    assert set(points) <= set(tiny[1]["losses"]) and points == sorted(points)


def test_an_old_checkpoint_has_no_history_and_the_page_says_so(capsys, tmp_path):
    data = visualized(capsys, (FORMAT_1,), tmp_path, SHORT_TEXT)[2]
    assert data["losses"] == [] and data["samples"] == []
    page = Page((tmp_path / "page.html").read_text(encoding="utf-8"))
    assert "no history" in page.text["loss-hint"]  # what the page shows unless it has one


def test_the_neurons_are_ranked_by_lag_one_correlation_saturated_and_constant_last(
        capsys, tiny, tmp_path):
    text = "".join(np.random.RandomState(1).choice(TINY_CHARS, 300))
    data = visualized(capsys, tiny, tmp_path, text)[2]
    hs = states(tiny[1], text)
    r = {j: np.corrcoef(hs[j, :-1], hs[j, 1:])[0, 1] for j in range(2, 6)}  # 0, 1: constant
    np.testing.assert_allclose(data["correlation"][2:], list(r.values()), atol=1e-3)
    assert data["words"] == ["saturated, near -1 or +1", "constant",
                             "flips at every character", "follows something that lasts",
                             data["words"][4], data["words"][5]]
    assert data["order"][-2:] == [0, 1]  # the saturated, then the constant
    assert data["order"][:-2] == sorted(range(2, 6), key=lambda j: -r[j])
    assert data["correlation"][2] < -0.9 and data["correlation"][3] > 0.5


def loss_at(state, ixes, t, k, h):
    """-ln p(ixes[t + 1]) when the state k steps before h_t is h: the forward pass from there."""
    for ix in ixes[t - k + 1:t + 1]:
        h = np.tanh(state["Wxh"][:, [ix]] + state["Whh"] @ h + state["bh"])
        # nothing else: h_t depends on h_{t-k} through these steps alone
    y = state["Why"] @ h + state["by"]
    return -(y[ixes[t + 1], 0] - np.log(np.exp(y).sum()))


@pytest.fixture(scope="module")
def tiny_page(tiny, tmp_path_factory):
    """The tiny model's page of 40 random characters: (the text, the page's data)."""
    text, folder = "".join(np.random.RandomState(2).choice(TINY_CHARS, 40)), \
        tmp_path_factory.mktemp("tiny_page")
    (folder / "text.txt").write_text(text, encoding="utf-8")
    assert quietly(visualize.main, tiny[0], folder / "text.txt", "-o", folder / "page.html")[0] == 0
    return text, Page((folder / "page.html").read_text(encoding="utf-8")).data


@pytest.mark.parametrize("t,k", [(0, 0), (5, 0), (5, 2), (5, 5), (20, 1), (20, 6), (38, 6)])
def test_the_gradient_flow_is_the_gradient_of_the_loss(tiny, tiny_page, t, k):
    """||d loss_t / d h_{t-k}||, to 4 significant digits, against central differences: each
    coordinate of h_{t-k} moved by ±eps, and the forward pass run on from there to loss_t."""
    text, data = tiny_page
    ixes = [char_maps(TINY_CHARS)[0][ch] for ch in text]
    h = states(tiny[1], text)[:, [t - k]]
    eps, grad = 1e-6, []
    for i in range(6):
        step = np.zeros((6, 1))
        step[i] = eps
        grad.append((loss_at(tiny[1], ixes, t, k, h + step) -
                     loss_at(tiny[1], ixes, t, k, h - step)) / (2 * eps))
    norms = data["gradient_flow"][t]
    assert len(norms) == min(t, 2 * TINY_SEQ_LENGTH) + 1
    assert norms[k] == pytest.approx(np.linalg.norm(grad), rel=1e-3)
    assert norms[k] > 1e-4  # far from 0: a real test of the digits


def test_the_gradient_flow_is_null_where_there_is_no_loss_to_trace(capsys, tiny, tmp_path):
    """A character the model does not know, one followed by such a character, and the last
    one shown have none; t counts the characters the model knows."""
    text = "ab€cab c☃abcab acb"
    data = visualized(capsys, tiny, tmp_path, text + "abc", "--chars", len(text))[2]
    flow, t = data["gradient_flow"], 0
    for i, ch in enumerate(text):
        if ch in "€☃" or i + 1 == len(text) or text[i + 1] in "€☃":
            assert flow[i] is None, i
        else:
            assert len(flow[i]) == min(t, 2 * TINY_SEQ_LENGTH) + 1, i
        t += ch not in "€☃"
    assert [i for i, f in enumerate(flow) if f is None] == [1, 2, 7, 8, len(text) - 1]


def test_the_page_is_written_beside_the_checkpoint_by_default(capsys, model, tmp_path):
    copy = tmp_path / "my.model.npz"
    copy.write_bytes(model[0].read_bytes())
    (tmp_path / "text.txt").write_text("The tower went up.", encoding="utf-8")
    status, out, err = run_main(capsys, copy, tmp_path / "text.txt", "--chars", 5,
                                main=visualize.main)
    assert status == 0 and (tmp_path / "my.model.html").exists()
    assert Page((tmp_path / "my.model.html").read_text(encoding="utf-8")).data["summary"] \
        == out.rstrip("\n")


def test_two_runs_writing_one_page_at_once_leave_one_whole_page(capsys, model, tmp_path,
                                                                monkeypatch):
    """A second run that writes the page while the first is halfway through writing it:
    the page is then the first run's, whole, and no temporary file is left."""
    for name, text in [("first.txt", "The tower went up."), ("second.txt", "The light.")]:
        (tmp_path / name).write_text(text, encoding="utf-8")
    page, write_whole, second = tmp_path / "page.html", visualize.write_whole, []

    class HalfThenTheSecondRun:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[:len(data) // 2])
            monkeypatch.setattr(visualize, "write_whole", write_whole)
            second.append(visualize.run([str(model[0]), str(tmp_path / "second.txt"), "-o",
                                         str(page)], []))
            assert Page(page.read_text(encoding="utf-8")).data["text"] == "The light."
            self.f.write(data[len(data) // 2:])

    monkeypatch.setattr(visualize, "write_whole", lambda path, write: write_whole(
        path, lambda f: write(HalfThenTheSecondRun(f))))
    status, out, err = run_main(capsys, model[0], tmp_path / "first.txt", "-o", page,
                                main=visualize.main)
    assert (status, second) == (0, [0])
    assert Page(page.read_text(encoding="utf-8")).data["text"] == "The tower went up."
    assert page.read_text(encoding="utf-8").endswith("</html>\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.txt", "page.html",
                                                          "second.txt"]


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("interrupted", [False, True], ids=["to the end", "by Ctrl-C"])
def test_on_a_terminal_how_much_is_read_is_shown_and_cleared_before_anything_is_said(
        capsys, monkeypatch, model, tmp_path, interrupted):
    clock = itertools.count(step=2)  # two seconds a call: a line at each 4096th character
    monkeypatch.setattr(visualize.time, "time", lambda: next(clock))
    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.setattr(visualize, "BLOCK_NUMBERS", 2500 * (16 + len(model[1]["chars"])))
    forward, blocks = visualize.forward, []

    def second_block_interrupted(h, ixes, params):  # Ctrl-C as the second block is read
        blocks.append(len(ixes))
        if interrupted and len(blocks) == 2:
            raise KeyboardInterrupt
        return forward(h, ixes, params)

    monkeypatch.setattr(visualize, "forward", second_block_interrupted)
    text = tmp_path / "text.txt"
    text.write_text((ROOT / "input.txt").read_text(encoding="utf-8")[:5000], encoding="utf-8")
    status = run_main(capsys, model[0], text, "-o", tmp_path / "page.html", "--chars", 10,
                      main=visualize.main)[0]
    read = "".join(f"\r{text}: {done} read" for done in ("0%", "82%"))
    said = "visualize.py: interrupted\n" if interrupted else f"wrote {tmp_path / 'page.html'}\n"
    assert sys.stderr.getvalue() == read + "\r\033[K" + said
    assert status == (130 if interrupted else 0)
    assert (tmp_path / "page.html").exists() != interrupted


def test_a_hostile_text_stays_text(capsys, tiny, tmp_path):
    """Markup in the text, the vocabulary and the samples is data: the page has its own two
    scripts and no other element that markup could make."""
    text = "abc " + TINY_SAMPLE + " cab"
    data = visualized(capsys, tiny, tmp_path, text)[2]
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    tags = Page(page).tags
    assert [tag for tag, attrs in tags if tag == "script"] == ["script", "script"]
    assert not any(tag == "img" or "onerror" in attrs or "src" in attrs for tag, attrs in tags)
    assert data["text"] == text and data["vocab"] == TINY_CHARS  # every character given back
    assert data["samples"] == [[0, TINY_SAMPLE], [100, TINY_SAMPLE[::-1]]]
    for ch in "<>&\u2028\u2029":
        assert ch not in page[page.index('id="data">') + 10:page.index("</script>")]


def test_memory_is_bounded_by_the_model_not_by_the_vocabulary_times_the_characters(monkeypatch):
    """5000 characters in the vocabulary, 400 shown, read 8 at a time: a block's logits take
    320 kB, all the logits 16 MB. What is kept of each block is its TOP guesses, not views of
    arrays as wide as the vocabulary, so that the reading peaks at a few blocks."""
    rng, V = np.random.RandomState(0), 5000
    params = (rng.randn(2, V), rng.randn(2, 2), rng.randn(V, 2), rng.randn(2, 1), rng.randn(V, 1))
    monkeypatch.setattr(visualize, "BLOCK_NUMBERS", 8 * (2 + V))
    ixes = rng.randint(V, size=400)
    tracemalloc.start()
    try:
        count, total, kept = visualize.evaluate(iter(ixes), params, 400)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 400 and kept["top"].shape == kept["logp"].shape == (5, 400)
    assert peak < 4e6, f"{peak:,} bytes"


@pytest.mark.parametrize("hidden_size,vocab_size", [(2, 20_000), (100, 2000)])
def test_a_block_of_steps_takes_at_most_block_numbers(monkeypatch, hidden_size, vocab_size):
    """Its states (H a step) and logits (V a step) take at most BLOCK_NUMBERS numbers, so that
    memory is bounded by the model, whatever its vocabulary, and the text's length."""
    rng, blocks = np.random.RandomState(0), []
    monkeypatch.setattr(visualize, "BLOCK_NUMBERS", 2**16)
    params = (rng.randn(hidden_size, vocab_size) * 0.1, rng.randn(hidden_size, hidden_size) * 0.1,
              rng.randn(vocab_size, hidden_size) * 0.1, np.zeros((hidden_size, 1)),
              np.zeros((vocab_size, 1)))
    forward = visualize.forward
    monkeypatch.setattr(visualize, "forward", lambda h, ixes, params: blocks.append(len(ixes))
                        or forward(h, ixes, params))
    steps = 2**16 // (hidden_size + vocab_size)  # 3, and 31
    count = visualize.evaluate(iter(rng.randint(vocab_size, size=2 * steps + 3)), params, 1)[0]
    assert blocks == [steps, steps, 3] and count == 2 * steps + 3


def test_the_log_softmax_stays_finite_where_exp_overflows():
    logits = np.array([[1000.0, -1000.0], [999.0, -1001.0], [0.0, -2000.0]])
    expected = np.array([[-math.log1p(math.exp(-1)), -math.log1p(math.exp(-1))],
                         [-1 - math.log1p(math.exp(-1)), -1 - math.log1p(math.exp(-1))],
                         [-1000 - math.log1p(math.exp(-1)), -1000 - math.log1p(math.exp(-1))]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(visualize.log_softmax(logits), expected, rtol=1e-12)


# The page in a browser: one run of headless Chromium, on a page whose text holds markup, tabs,
# bidirectional controls and Hebrew, and whose history holds a sample of markup. A script
# appended to a copy of the page drives it with its own functions and writes what it measured.
MEASURE = """<script>
const initial = Object.assign({}, state);  // as the address asked
const record = () => spans.map(s => s.style.backgroundColor || null);
const bars = () => Array.from(document.querySelectorAll("#gradient-flow svg rect"),
                              r => [+r.getAttribute("x"), +r.getAttribute("height")]);
const traced = () => spans.findIndex(s => s.classList.contains("traced"));
const views = {}, flows = {initial: [state.flow, bars(), $("flow-hint").textContent, traced()]};
show({neuron: 0, view: "neuron"}); views.neuron0 = record();
views.legends = [$("legend").textContent];
show({neuron: 5}); views.neuron5 = record();
show({view: "surprise"}); views.surprise = record();
views.legends.push($("legend").textContent);
spans.at(-1).click();
flows.none = [state.flow, bars(), $("flow-hint").textContent, traced()];
spans[CLICK].click();
flows.clicked = [state.flow, bars(), $("flow-hint").textContent, traced()];
const lowest_label = Array.from(document.querySelectorAll("#gradient-flow text"),
                                t => t.textContent).find(t => t.includes("1e"));
const mark = document.getElementById("seq-length-mark");
const out = document.body.appendChild(document.createElement("pre"));
out.id = "measured";
out.textContent = JSON.stringify({views, flows, initial, lowest_label,
  glyphs: spans.map(s => s.textContent),
  boxes: spans.map(s => [s.getBoundingClientRect().left, s.getBoundingClientRect().top]),
  mark: mark && +mark.getAttribute("x1"), lossHint: $("loss-hint").textContent,
  polylines: Array.from(document.querySelectorAll("#loss-curve polyline"),
                        p => Array.from(p.points, q => [q.x, q.y])),
  samples: Array.from($("samples").children, c => c.textContent),
  legend: $("legend").textContent, struck: getComputedStyle(
    document.querySelector("#text .unknown")).textDecorationLine,
  scripts: document.scripts.length, images: document.images.length});
</script></body>"""
START = "#view=surprise&neuron=5&pin=3"  # the address the page is opened at
BIDI = ("Left \u202eright-to-left override\u202c, \u05e9\u05dc\u05d5\u05dd and "
        "\u2067isolate\u2069 end.")
MARKUP_SAMPLE = "the \"script\", 'alert'\n\nand more"  # as input.txt's characters allow


@pytest.fixture(scope="module", autouse=True)
def browser(tmp_path_factory, model):
    """Chromium, started on the page as the module begins, to run beside the other tests:
    (the text, the page's data, the process); None where Chromium is not installed."""
    if shutil.which("chromium") is None:
        yield None
        return
    folder = tmp_path_factory.mktemp("browser")
    state = dict(model[1], samples=model[1]["samples"] + [(400, MARKUP_SAMPLE.ljust(200))])
    np.savez(folder / "model.npz", **checkpoint_arrays(state))
    text = "The keeper\twrote:\n" + HOSTILE + "\n" + BIDI + "\n" + \
        (ROOT / "input.txt").read_text(encoding="utf-8")[:150]
    (folder / "text.txt").write_text(text, encoding="utf-8")
    assert quietly(visualize.main, folder / "model.npz", folder / "text.txt", "-o",
                   folder / "page.html")[0] == 0
    page = (folder / "page.html").read_text(encoding="utf-8")
    click = len(text) - 5  # a character more than 2 * seq_length steps in
    (folder / "measured.html").write_text(
        page.replace("</body>", MEASURE.replace("CLICK", str(click))), encoding="utf-8")
    with subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1000,2000",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={folder / 'profile'}",
             "--virtual-time-budget=2000", "--dump-dom",
             (folder / "measured.html").as_uri() + START],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        yield text, Page(page).data, process
        process.kill()


@pytest.fixture(scope="module")
def rendered(browser):
    """(the text, the page's data, what the script measured)."""
    if browser is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    text, data, process = browser
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    measured = re.search(r'<pre id="measured">(.*?)</pre>', out, re.S)
    assert measured, err[-2000:]
    return text, data, json.loads(html.unescape(measured[1]))


def rgb(background):
    return tuple(map(int, re.findall(r"\d+", background)))


def visible(c, space="·"):
    """A character as the page shows it: whitespace, control and invisible characters as signs."""
    if c in " \t\n\x7f":
        return {" ": space, "\t": "→", "\n": "↵", "\x7f": "␡"}[c]
    if c < " ":
        return chr(0x2400 + ord(c))
    return f"⟨{ord(c):04X}⟩" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c


def test_in_a_browser_the_text_is_shaded_by_the_neuron_picked(rendered):
    text, data, measured = rendered
    assert "".join(measured["glyphs"]) == "".join(map(visible, text))
    assert measured["images"] == 0 and measured["scripts"] == 3  # the page's two, and MEASURE
    for neuron in (0, 5):
        for i, background in enumerate(measured["views"][f"neuron{neuron}"]):
            if data["top"][i] is None:  # not in the model's vocabulary: not shaded
                assert background is None
                continue
            r, g, b = rgb(background)
            activation = data["acts"][neuron][i]
            assert (r > b) == (activation > 0) or abs(activation) < 0.01, (i, background)
    assert measured["views"]["neuron0"] != measured["views"]["neuron5"]
    by_neuron, by_surprise = measured["views"]["legends"]  # each says what its colours mean
    assert "blue" in by_neuron and "surprise" not in by_neuron
    assert "surprise" in by_surprise and "blue" not in by_surprise


def test_in_a_browser_unknown_characters_are_struck_through_and_counted(rendered):
    text, data, measured = rendered
    unknown = sum(top is None for top in data["top"])
    assert measured["struck"] == "line-through" and unknown > 0
    assert f"Struck through: {unknown} characters the model does not know" in measured["legend"]


def test_in_a_browser_the_page_starts_where_its_address_says(rendered):
    assert rendered[2]["initial"] == {"view": "surprise", "neuron": 5, "pin": 3, "flow": 3}


def test_in_a_browser_the_surprise_view_shades_each_character_by_its_surprise(rendered):
    text, data, measured = rendered
    shaded = [(data["surprise"][i], sum(rgb(bg))) for i, bg in
              enumerate(measured["views"]["surprise"]) if data["surprise"][i] is not None]
    assert measured["views"]["surprise"][0] is None  # the first character: nothing predicted it
    whiteness = [w for _, w in sorted(shaded, key=lambda pair: pair[0])]
    assert len(shaded) > 100 and all(a >= b - 1 for a, b in zip(whiteness, whiteness[1:]))


def test_in_a_browser_the_text_is_laid_out_in_the_order_it_was_read(rendered):
    """Whatever bidirectional controls or right-to-left letters the text holds: each
    character stands to the right of the one before it on its line."""
    text, data, measured = rendered
    boxes = measured["boxes"]
    start = text.index(BIDI)
    pairs = [(boxes[i], boxes[i + 1]) for i in range(start, start + len(BIDI) - 1)]
    assert all(a[1] != b[1] or a[0] <= b[0] for a, b in pairs)
    assert sum(a[1] == b[1] for a, b in pairs) > len(BIDI) // 2  # mostly on one line


def test_in_a_browser_the_loss_curve_has_a_vertex_per_point_higher_for_a_higher_loss(rendered):
    text, data, measured = rendered
    assert len(measured["polylines"]) == 1 and "no history" not in measured["lossHint"]
    vertices, losses = measured["polylines"][0], [loss for _, loss in data["losses"]]
    assert len(vertices) == len(data["losses"]) == 3
    assert all(a[0] < b[0] for a, b in zip(vertices, vertices[1:]))  # in the order of n
    for (_, y1), (_, y2), l1, l2 in zip(vertices, vertices[1:], losses, losses[1:]):
        assert (y1 < y2) == (l1 > l2)


def test_in_a_browser_the_samples_are_shown_as_text_each_with_its_iteration(rendered):
    text, data, measured = rendered
    assert [n for n, _ in data["samples"]] == [0, 100, 200, 400]
    assert measured["samples"] == [
        f"iteration {n}" + "".join(visible(c, " ") + "\n" * (c == "\n") for c in sample)
        for n, sample in data["samples"]]


def test_in_a_browser_the_gradient_flow_has_a_bar_per_step_back_on_a_log_scale(rendered):
    """At first the character pinned by the address, three steps in: bars for k = 0..3. A click
    on a character further in: bars for k = 0..50, the mark of seq_length = 25 between bars 24
    and 25, and the heights a linear function of log10 of the norms, down to the scale's end."""
    text, data, measured = rendered
    pinned, bars, hint, traced = measured["flows"]["initial"]
    assert pinned == 3 == traced and len(bars) == 4 and "step t = 3" in hint
    last, bars, hint, traced = measured["flows"]["none"]  # the last character: nothing follows
    assert last == len(text) - 1 == traced and bars == [] and "no loss" in hint
    clicked, bars, hint, traced = measured["flows"]["clicked"]
    assert traced == clicked
    t = sum(top is not None for top in data["top"][:clicked])
    assert clicked == len(text) - 5 and t > 50 and f"step t = {t}" in hint
    assert len(bars) == 51 and bars[24][0] < measured["mark"] < bars[25][0]
    heights, logs = np.array([h for _, h in bars]), np.log10(data["gradient_flow"][clicked])
    drawn = heights > 1.01  # the scale spans 12 powers of ten: the smallest norms, a 1 px stub
    fit = np.polyfit(logs[drawn], heights[drawn], 1)
    assert fit[0] > 0 and np.abs(np.polyval(fit, logs[drawn]) - heights[drawn]).max() < 0.5
    assert drawn.sum() > 10 and all(logs[~drawn] < logs[drawn].min())
    assert np.allclose(heights[~drawn], 1) and "\u2264" in measured["lowest_label"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, model):
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "good.txt").write_text("The tower went up.", encoding="utf-8")
    (folder / "latin1.txt").write_bytes("na\xefve".encode("latin-1"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "unknown.txt").write_text("€☃€", encoding="utf-8")
    (folder / "one known.txt").write_text("€a☃", encoding="utf-8")
    (folder / "model.npz").write_bytes(model[0].read_bytes())
    (folder / "folder").mkdir()
    (folder / "link.html").symlink_to(folder / "model.npz")
    return folder


MISTAKES = {  # the arguments, the exit status, and words the error line holds
    "no checkpoint": (["nowhere.npz", "good.txt"], 1, "no checkpoint at nowhere.npz"),
    "a text for a checkpoint": (["good.txt", "good.txt"], 1, "good.txt is not a usable"),
    "a folder for a checkpoint": (["folder", "good.txt"], 1, "folder is not a usable"),
    "a checkpoint for a text": (["model.npz", "model.npz", "-o", "page.html"], 1,
                                "model.npz is a checkpoint, not a text"),
    "no text": (["model.npz", "nowhere.txt"], 1, "cannot read nowhere.txt"),
    "a folder for a text": (["model.npz", "folder"], 1, "cannot read folder"),
    "a text not in UTF-8": (["model.npz", "latin1.txt"], 1, "latin1.txt is not UTF-8"),
    "an empty text": (["model.npz", "empty.txt"], 1, "empty.txt has 0 characters the model"),
    "no known character": (["model.npz", "unknown.txt"], 1, "has 0 characters the model knows"),
    "one known character": (["model.npz", "one known.txt"], 1, "has 1 character the model"),
    "a page in no folder": (["model.npz", "good.txt", "-o", "nowhere/page.html"], 1,
                            "cannot write nowhere/page.html"),
    "a page under a file": (["model.npz", "good.txt", "-o", "good.txt/page.html"], 1,
                            "cannot write good.txt/page.html"),
    "a folder for a page": (["model.npz", "good.txt", "-o", "folder"], 1, "cannot write folder"),
    "the page over the checkpoint": (["model.npz", "good.txt", "-o", "model.npz"], 1,
                                     "would overwrite an input"),
    "the page through a link to the checkpoint": (["model.npz", "good.txt", "-o", "link.html"],
                                                  1, "would overwrite an input"),
    "nothing given": ([], 2, "required: checkpoint, text"),
    **{f"--chars {value}": (["model.npz", "good.txt", "--chars", value], 2, "--chars")
       for value in ["0", "-3", "1.5", "ten", "", "20001"]},
}


@pytest.mark.parametrize("args,status,words", MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistake_gets_one_line(capsys, inputs, monkeypatch, args, status, words):
    monkeypatch.chdir(inputs)
    before = (inputs / "model.npz").read_bytes()
    result = run_main(capsys, *args, main=visualize.main)
    lines = result[2].splitlines()
    assert result[:2] == (status, "") and len(lines) == 1, result
    assert lines[0].startswith("visualize.py: error: ") and words in lines[0]
    assert "Traceback" not in result[2] and "Warning" not in result[2]
    assert (inputs / "model.npz").read_bytes() == before
    assert sorted(p.name for p in inputs.iterdir() if p.suffix in (".html", ".tmp")) == \
        ["link.html"]


STDOUTS = {"a full disk": ("/dev/full", "No space left on device"),
           "closed": (None, "stdout is closed")}  # None: what Python makes of a closed fd 1


@pytest.mark.parametrize("path,words", STDOUTS.values(), ids=STDOUTS.keys())
def test_a_stdout_that_cannot_be_written_gets_one_line(capsys, monkeypatch, model, tmp_path,
                                                       path, words):
    (tmp_path / "text.txt").write_text("The tower went up.", encoding="utf-8")
    with open(path or os.devnull, "w") as stdout:
        monkeypatch.setattr(sys, "stdout", path and stdout)
        status, _, err = run_main(capsys, model[0], tmp_path / "text.txt", "-o",
                                  tmp_path / "page.html", main=visualize.main)
    assert status == 1 and len(err.splitlines()) == 1 and words in err
    assert err.startswith("visualize.py: error: ")
    assert (tmp_path / "page.html").exists() == (path is not None)


def test_the_script_runs_as_a_user_runs_it(model, tmp_path):
    """From the folder of its files, with the environment as it is: the measure on stdout,
    on stderr where the page went: beside the checkpoint."""
    (tmp_path / "text.txt").write_text("The tower went up.", encoding="utf-8")
    (tmp_path / "m.npz").write_bytes(model[0].read_bytes())
    result = subprocess.run([sys.executable, str(ROOT / "visualize.py"), "m.npz", "text.txt"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "wrote m.html\n"
    assert summary(result.stdout)[:2] == ("text.txt", 18) and (tmp_path / "m.html").exists()
