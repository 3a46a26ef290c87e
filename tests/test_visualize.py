"""visualize.py: the measure it prints; the page's numbers against independent computations
(finite differences, the gist's loop, the command line); the page run in a browser; the page
written whole, wherever it goes; one line for every mistake."""
import html
import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
import unicodedata

import numpy as np
import pytest

import min_char_rnn
import visualize
from conftest import FORMAT_1, INPUT, SHORT_TEXT, Terminal, one_error_line, quietly, run_main
from min_char_rnn import PARAMS, char_maps, checkpoint_arrays, init_model, init_training, lossFun

TEXT = INPUT.read_text(encoding="utf-8")
TRAINING = [INPUT, "--seed", 1, "--hidden-size", 16]  # `model`'s run, for 201 iterations
HOSTILE = ('</script><script>alert(1)</script> <img src=x onerror=alert(1)> <!-- &amp; '
           '\u2028\u2029 "quoted" \\u003c')


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small model that kept the loss and a sample at iterations 0, 100 and 200; its state."""
    path = tmp_path_factory.mktemp("model") / "model.npz"
    assert quietly(min_char_rnn.main, *TRAINING, "--max-iters", 201, "--checkpoint", path)[0] == 0
    return path, min_char_rnn.load_checkpoint(path)


# A model made by hand, of 6 neurons: 0 saturated, 1 constant, 2 changing sign at every step (a
# clock), 3 following something that lasts, 4 and 5 random; its vocabulary and its history hold
# markup, and its history is longer than a page draws, its first points without a raw loss.
TINY_SAMPLE = "</script><script>alert(1)</script>\n\t&amp;\u2028"
TINY_CHARS = sorted(set(TINY_SAMPLE + "abc "))
T = 3  # the tiny model's seq_length: the gradient flow reaches back 2 * 3 = 6 steps


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    rng, V = np.random.RandomState(0), len(TINY_CHARS)
    state = init_training(TINY_CHARS, 0, 6, T, sample_length=len(TINY_SAMPLE))
    Wxh, Whh, Why, bh = rng.randn(6, V) * 0.5, rng.randn(6, 6) * 0.5, rng.randn(V, 6), \
        np.zeros((6, 1))
    Whh[:4], Wxh[:2] = 0, 0
    bh[0], Whh[2, 2], Wxh[2], Whh[3, 3] = 4, -1.5, 0.05 * rng.randn(V), 0.95
    losses = [(100 * i, 80 / (1 + i / 50), None if i < 1000 else 70 / (1 + i / 40))
              for i in range(5000)]
    state.update(Wxh=Wxh, Whh=Whh, Why=Why, bh=bh, by=rng.randn(V, 1), n=500_000,
                 losses=losses, samples=[(0, TINY_SAMPLE), (100, TINY_SAMPLE[::-1])])
    path = tmp_path_factory.mktemp("tiny") / "tiny.npz"
    np.savez(path, **checkpoint_arrays(state))
    return path, state


def page_data(page):
    """The data of the page at the path page."""
    return json.loads(re.search(r'id="data">(.*?)</script>', page.read_text(encoding="utf-8"),
                                re.S)[1])


def visualized(capsys, model, tmp_path, text, *args):
    """Run visualize.py on text: (stdout, stderr, the page's data)."""
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    status, out, err = run_main(capsys, model[0], tmp_path / "text.txt", "-o",
                                tmp_path / "page.html", *args, main=visualize.main)
    assert status == 0, err
    return out, err, page_data(tmp_path / "page.html")


def summary(out):
    match = re.fullmatch(r"(.*): (\d+) characters?, (\d+\.\d{4}) nats/char, (\d+\.\d{4}) "
                         r"bits/char \(a uniform guess: (\d+\.\d{4}) bits/char\)\n", out)
    assert match, out
    return match[1], int(match[2]), float(match[3]), float(match[4]), float(match[5])


def states(state, text, h=None):
    """The hidden state after each character of text (all known), from h or a zero state."""
    char_to_ix = char_maps(state["chars"])[0]
    h, hs = np.zeros((state["hidden_size"], 1)) if h is None else h, []
    for ch in text:
        h = np.tanh(state["Wxh"][:, [char_to_ix[ch]]] + state["Whh"] @ h + state["bh"])
        hs.append(h[:, 0])
    return np.array(hs).T


@pytest.mark.parametrize("block", [3, 4096], ids=["blocks of 3", "blocks of 4096"])
def test_the_measure_states_and_guesses_are_those_of_the_forward_pass(capsys, model, tmp_path,
                                                                      monkeypatch, block):
    """The mean of -ln p over every character after the first: lossFun's loss over the whole
    text as one chunk from a zero state, divided by the number of predictions; the states, the
    five likeliest next characters and the surprise of the characters shown."""
    text, state = TEXT[:1000], model[1]
    monkeypatch.setattr(visualize, "BLOCK_NUMBERS", block * (16 + len(state["chars"])))
    out, err, data = visualized(capsys, model, tmp_path, text, "--chars", 40)
    name, count, nats, bits, uniform = summary(out)
    assert (name, count, err) == (str(tmp_path / "text.txt"), 1000, f"wrote {tmp_path}/page.html\n")
    ixes = [char_maps(state["chars"])[0][ch] for ch in text]
    loss = lossFun(ixes[:-1], ixes[1:], np.zeros((16, 1)), [state[k] for k in PARAMS])[0]
    assert (nats, bits) == pytest.approx((loss / 999, loss / 999 / math.log(2)), abs=5e-5)
    assert uniform == pytest.approx(math.log2(len(state["chars"])), abs=5e-5)
    assert data["bits"] == pytest.approx(loss / 999 / math.log(2))  # marked on the loss curve
    assert data["text"] == text[:40] and data["surprise"][0] is None  # nothing predicted it
    for t, h in enumerate(states(state, text[:40]).T):
        y = state["Why"] @ h + state["by"][:, 0]
        p = np.exp(y) / np.exp(y).sum()  # the softmax of lossFun
        np.testing.assert_allclose([row[t] for row in data["acts"]], h, atol=5.1e-4)
        assert data["top"][t][0] == list(np.argsort(-p, kind="stable")[:5])
        np.testing.assert_allclose(data["top"][t][1], p[data["top"][t][0]], atol=5.1e-5)
        if t + 1 < 40:  # the surprise of the next character
            surprise = -math.log2(p[ixes[t + 1]])
            assert data["surprise"][t + 1] == pytest.approx(surprise, abs=5.1e-4)


def test_unknown_characters_are_skipped_as_if_absent_and_have_no_gradient_to_trace(
        capsys, tiny, tmp_path):
    """A character the model does not know, one followed by such a character, and the last one
    shown have no loss to trace; t counts the characters the model knows, and training's
    backward pass reaches t mod seq_length steps back, to the start of its chunk."""
    text = "ab€cab c☃abcab acb"
    clean = visualized(capsys, tiny, tmp_path, text.replace("€", "").replace("☃", ""))[2]
    out, err, data = visualized(capsys, tiny, tmp_path, text + "abc€", "--chars", len(text))
    assert summary(out)[1] == len(text) - 2 + 3 and err == (
        f"{tmp_path}/text.txt: skipped 3 characters the model does not know (2 distinct: '€', "
        f"'☃')\nwrote {tmp_path}/page.html\n")
    known = [i for i, ch in enumerate(text) if ch not in "€☃"]
    assert [[row[i] for i in known] for row in data["acts"]] == clean["acts"]
    for key in ("surprise", "top"):
        assert [data[key][i] for i in known] == clean[key]
        assert [data[key][i] for i in (2, 8)] == [None, None]  # € and ☃
    flow, reach, t = data["gradient_flow"], data["reach"], 0
    for i, ch in enumerate(text):
        if ch in "€☃" or i + 1 == len(text) or text[i + 1] in "€☃":
            assert flow[i] is None and reach[i] is None, i
        else:
            assert len(flow[i]) == min(t, 2 * T) + 1 and reach[i] == t % T, i
        t += ch not in "€☃"
    assert [i for i, f in enumerate(flow) if f is None] == [1, 2, 7, 8, len(text) - 1]


def gist_raw_losses(data, seed, iters, hidden_size, seq_length=25, learning_rate=0.1):
    """The gist's loop written out: the loss of iteration 0's chunk, then the mean chunk loss of
    the 100 iterations up to each n % 100 == 0."""
    chars = sorted(set(data))
    char_to_ix = char_maps(chars)[0]
    params = init_model(len(chars), hidden_size, np.random.RandomState(seed))
    memories = [np.zeros_like(param) for param in params]
    p, losses = 0, []
    for n in range(iters):
        if p + seq_length + 1 >= len(data) or n == 0:
            hprev, p = np.zeros((hidden_size, 1)), 0
        ixes = [char_to_ix[ch] for ch in data[p:p + seq_length + 1]]
        loss, *grads, hprev = lossFun(ixes[:-1], ixes[1:], hprev, params)
        for param, grad, memory in zip(params, grads, memories):
            memory += grad * grad
            param += -learning_rate * grad / np.sqrt(memory + 1e-8)
        losses.append(loss)
        p += seq_length
    return [losses[0]] + [np.mean(losses[n - 99:n + 1]) for n in range(100, iters, 100)]


def test_the_history_is_the_gist_loops_and_the_samples_the_command_lines(capsys, model, tmp_path):
    """The smoothed loss at every hundredth iteration as saved; beside it the mean raw chunk
    loss since the point before, as the gist's loop computes it; the samples as saved. A run
    stopped at 150 and resumed has the same history. The samples at three temperatures."""
    data = visualized(capsys, model, tmp_path, "The tower.")[2]
    losses, samples = model[1]["losses"], model[1]["samples"]
    assert [n for n, _, _ in losses] == [0, 100, 200] and [n for n, _ in samples] == [0, 100, 200]
    assert data["losses"] == [[n, smooth] for n, smooth, raw in losses]
    assert data["raw_losses"] == pytest.approx(gist_raw_losses(TEXT, 1, 201, 16), rel=1e-12)
    assert data["samples"] == [list(sample) for sample in samples] and data["n"] == 201
    path = tmp_path / "resumed.npz"
    for args in (["--max-iters", 150], ["--resume", "--max-iters", 201]):
        status, _, err = run_main(capsys, *TRAINING, "--checkpoint", path, *args)
        assert status == 0, err
    resumed = visualized(capsys, (path,), tmp_path, "The tower.")[2]
    assert (resumed["losses"], resumed["raw_losses"]) == (data["losses"], data["raw_losses"])
    temperatures = [t for t, seed, text in data["temperature_samples"]]
    assert len(set(temperatures)) >= 3 and min(temperatures) < 1 < max(temperatures)
    for temperature, seed, text in data["temperature_samples"]:  # what the command line prints
        status, out, err = run_main(capsys, "--checkpoint", model[0], "--sample-only", "--seed",
                                    seed, "--temperature", temperature, "--sample-length",
                                    data["sample_length"])
        assert (status, out) == (0, text + "\n") and len(text) == data["sample_length"]


def test_a_hostile_text_stays_text_and_a_long_history_is_thinned(capsys, tiny, tmp_path):
    """Markup in the text, the vocabulary and the samples is data: the page has no element but
    its own. Of 5000 points 2000 are drawn, the first and the last among them, in order; a
    point saved without its raw loss has none. A checkpoint of version 1 kept no history."""
    text = "abc " + TINY_SAMPLE + " cab"
    data = visualized(capsys, tiny, tmp_path, text)[2]
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert page.count("<script") == 2 and set(re.findall(r"<([a-z0-9]+)", page)) == set(
        "html head meta title style body header h1 p section div h2 span label input main aside "
        "nav script".split())  # the page's own elements, and none that markup could make
    assert (data["text"], data["vocab"]) == (text, TINY_CHARS)  # every character given back
    assert data["samples"] == [[0, TINY_SAMPLE], [100, TINY_SAMPLE[::-1]]]
    for ch in "<>&\u2028\u2029":
        assert ch not in page[page.index('id="data">') + 10:page.index("</script>")]
    points = [(n, smooth, raw) for (n, smooth), raw in zip(data["losses"], data["raw_losses"])]
    assert len(points) == visualize.MAX_VERTICES == 2000 and points == sorted(points)
    assert points[0] == tiny[1]["losses"][0] and points[-1] == tiny[1]["losses"][-1]
    assert set(points) <= set(tiny[1]["losses"])
    data = visualized(capsys, (FORMAT_1,), tmp_path, SHORT_TEXT)[2]
    assert data["losses"] == data["raw_losses"] == data["samples"] == []


def test_each_neuron_is_described_by_the_characters_it_responds_to(capsys, tiny, tmp_path):
    """Among the characters read at least 5 times, the 3 after which the neuron's mean value is
    highest and the 3 lowest; the list ranked by spread, the clock last."""
    text = "".join(np.random.RandomState(1).choice(TINY_CHARS[3:], 300)) + "".join(
        TINY_CHARS[:3]) * 4  # these three are read 4 times
    data = visualized(capsys, tiny, tmp_path, text)[2]
    hs = states(tiny[1], text)
    often = sorted(ch for ch in set(text) if text.count(ch) >= 5)
    assert len(often) == len(TINY_CHARS) - 3
    for j, responds in enumerate(data["responds"]):
        means = {ch: hs[j, [i for i, c in enumerate(text) if c == ch]].mean() for ch in often}
        ranked = sorted(often, key=lambda ch: -means[ch])
        for key, chars in (("high", ranked[:3]), ("low", ranked[::-1][:3])):
            if j > 1:  # neurons 0 and 1 hold one value: their ranks are ties
                assert [ch for ch, _, _ in responds[key]] == chars
            for ch, mean, count in responds[key]:
                assert mean == pytest.approx(means[ch], abs=5e-4) and count == text.count(ch)
    spread = np.abs(hs - np.median(hs, axis=1, keepdims=True)).mean(axis=1)
    flips = (hs[:, 1:] * hs[:, :-1] < 0).mean(axis=1)
    np.testing.assert_allclose([data["spread"], data["flips"]], [spread, flips], atol=5e-4)
    assert data["clock"] == [False, False, True, False, False, False] and flips[2] > 0.99
    assert data["order"] == sorted([0, 1, 3, 4, 5], key=lambda j: -spread[j]) + [2]


@pytest.fixture(scope="module")
def tiny_page(tiny, tmp_path_factory):
    """The tiny model's page of 40 random characters: (the text, the page's data)."""
    text, folder = "".join(np.random.RandomState(2).choice(TINY_CHARS, 40)), \
        tmp_path_factory.mktemp("tiny_page")
    (folder / "text.txt").write_text(text, encoding="utf-8")
    assert quietly(visualize.main, tiny[0], folder / "text.txt", "-o", folder / "page.html")[0] == 0
    return text, page_data(folder / "page.html")


def losses_of(state, text, h, start, end, first):
    """The summed -ln p(text[s + 1] | h_s) over the steps s from first to end - 1: text[start:end]
    read from h, the state of step start - 1."""
    hs = [h]
    for ch in text[start:end]:
        hs.append(np.tanh(state["Wxh"][:, [TINY_CHARS.index(ch)]] + state["Whh"] @ hs[-1] +
                          state["bh"]))
    loss = 0
    for s in range(first, end):
        y = state["Why"] @ hs[s - start + 1] + state["by"]
        loss -= y[TINY_CHARS.index(text[s + 1]), 0] - np.log(np.exp(y).sum())
    return loss


@pytest.mark.parametrize("t,k", [(0, 0), (5, 0), (5, 2), (5, 5), (20, 1), (20, 6), (38, 6)])
def test_the_gradient_flow_is_the_gradient_of_the_loss(tiny, tiny_page, t, k):
    """||d loss_t / d h_{t-k}||, to 4 significant digits, against central differences: each
    coordinate of h_{t-k} moved by ±eps, and the forward pass run on from there to loss_t."""
    text, data = tiny_page
    h, grad = states(tiny[1], text)[:, [t - k]], []
    for step in np.eye(6)[:, :, None] * 1e-6:
        grad.append((losses_of(tiny[1], text, h + step, t - k + 1, t + 1, t) -
                     losses_of(tiny[1], text, h - step, t - k + 1, t + 1, t)) / 2e-6)
    assert len(data["gradient_flow"][t]) == min(t, 2 * T) + 1
    assert data["gradient_flow"][t][k] == pytest.approx(np.linalg.norm(grad), rel=1e-3)
    assert data["gradient_flow"][t][k] > 1e-4  # far from 0: a real test of the digits


@pytest.mark.parametrize("c", [1, 12])
def test_truncation_is_what_lossfun_drops_of_the_full_gradient(tiny, tiny_page, c):
    """Chunk c, steps 3c..3c+2: ||g_full - g|| / ||g_full||, central differences of its loss
    from the state carried into it (g, lossFun's) and from the start of the text (g_full)."""
    text, data = tiny_page
    assert len(data["truncation"]["Whh"]) == len(data["truncation"]["Wxh"]) == 12  # 39 // 3 - 1
    carried, zero = states(tiny[1], text[:c * T])[:, -1:], np.zeros((6, 1))
    for name in ("Whh", "Wxh"):
        state = dict(tiny[1], **{name: tiny[1][name].copy()})
        full, own = np.zeros_like(state[name]), np.zeros_like(state[name])
        for i in np.ndindex(state[name].shape):
            for grad, start, h in ((full, 0, zero), (own, c * T, carried)):
                state[name][i] += 1e-6
                above = losses_of(state, text, h, start, c * T + T, c * T)
                state[name][i] -= 2e-6
                grad[i] = (above - losses_of(state, text, h, start, c * T + T, c * T)) / 2e-6
                state[name][i] += 1e-6
        share = np.linalg.norm(full - own) / np.linalg.norm(full)
        assert data["truncation"][name][c - 1] == pytest.approx(share, rel=1e-3)
        assert share > 1e-3  # not 0: a real test


def test_a_page_that_is_no_regular_file_is_written_into(capsys, model, tmp_path):
    """/dev/null stays a device; a FIFO stays a FIFO, and its reader gets the whole page."""
    (tmp_path / "text.txt").write_text("The tower went up.", encoding="utf-8")
    status, out, err = run_main(capsys, model[0], tmp_path / "text.txt", "-o", os.devnull,
                                main=visualize.main)
    assert status == 0 and stat.S_ISCHR(os.stat(os.devnull).st_mode), err
    os.mkfifo(tmp_path / "fifo")
    read = []
    reader = threading.Thread(target=lambda: read.append((tmp_path / "fifo").read_bytes()))
    reader.start()
    status, out, err = run_main(capsys, model[0], tmp_path / "text.txt", "-o",
                                tmp_path / "fifo", main=visualize.main)
    reader.join(10)
    assert status == 0 and stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode), err
    assert read[0].decode("utf-8").endswith("</html>\n") and b"The tower went up." in read[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "text.txt"]


def test_two_runs_writing_one_page_at_once_each_end_with_a_whole_page(model, tmp_path):
    """As a user runs it, from the folder of its files, twice at once, writing the page beside
    the checkpoint: each says what it measured and where the page went; the page is whole."""
    (tmp_path / "m.npz").write_bytes(model[0].read_bytes())
    texts = {"first.txt": TEXT[:3000], "second.txt": TEXT[3000:6000]}
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    runs = [subprocess.Popen([sys.executable, str(INPUT.parent / "visualize.py"), "m.npz", name,
                              "--chars", "3000"], cwd=tmp_path, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in texts]
    for run, name in zip(runs, texts):
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0 and err == "wrote m.html\n", err
        assert summary(out)[:2] == (name, 3000)
    assert page_data(tmp_path / "m.html")["text"] in texts.values()
    assert (tmp_path / "m.html").read_text(encoding="utf-8").endswith("</html>\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.txt", "m.html", "m.npz",
                                                          "second.txt"]


@pytest.mark.parametrize("interrupted", [False, True], ids=["to the end", "by Ctrl-C"])
def test_on_a_terminal_how_much_is_read_is_shown_and_cleared_before_anything_is_said(
        capsys, monkeypatch, model, tmp_path, interrupted):
    """A clock that moves two seconds a call: a line at each 4096th character; Ctrl-C comes as
    the 4097th character is read."""
    ticks = iter(range(0, 100, 2))

    def clock():
        now = next(ticks)
        if interrupted and now == 6:
            raise KeyboardInterrupt
        return now

    monkeypatch.setattr(time, "time", clock)
    monkeypatch.setattr(sys, "stderr", Terminal())
    text = tmp_path / "text.txt"
    text.write_text(TEXT[:5000], encoding="utf-8")
    status = run_main(capsys, model[0], text, "-o", tmp_path / "page.html", "--chars", 10,
                      main=visualize.main)[0]
    read, said = f"\r{text}: 0% read\r{text}: 82% read", f"wrote {tmp_path}/page.html\n"
    if interrupted:
        read, said = f"\r{text}: 0% read", "visualize.py: interrupted\n"
    sys.stderr.flush()
    assert sys.stderr.buffer.getvalue().decode("utf-8") == read + "\r\033[K" + said
    assert status == (130 if interrupted else 0)
    assert (tmp_path / "page.html").exists() != interrupted


# The page in a browser: one run of headless Chromium, on a page whose text holds markup, tabs,
# bidirectional controls and Hebrew, and whose history holds a sample of markup. A script
# appended to a copy of the page drives it with its own functions and writes what it measured.
MEASURE = """<script>
const initial = Object.assign({}, state);  // as the address asked
const record = () => spans.map(s => s.style.backgroundColor || null);
const bars = () => Array.from(document.querySelectorAll("#gradient-flow svg rect"),
  r => [+r.getAttribute("x"), +r.getAttribute("height"), r.classList.contains("cut")]);
const traced = () => spans.findIndex(s => s.classList.contains("traced"));
const mark = () => +document.getElementById("reach-mark")?.getAttribute("x1");
const flowNow = () => [state.flow, bars(), $("flow-hint").textContent, traced(), mark()];
const views = {}, flows = {initial: flowNow()}, legends = [];
show({neuron: 0, view: "neuron"}); views.neuron0 = record(); legends.push($("legend").textContent);
show({neuron: 5}); views.neuron5 = record();
show({view: "surprise"}); views.surprise = record(); legends.push($("legend").textContent);
spans.at(-1).click(); flows.none = flowNow();
spans[CLICK].click(); flows.clicked = flowNow();
const texts = ["loss-hint", "truncation", "keys"].map(id => $(id).textContent);
const out = document.body.appendChild(document.createElement("pre"));
out.id = "measured";
out.textContent = JSON.stringify({views, flows, initial, legends, texts,
  labels: Array.from(document.querySelectorAll("#gradient-flow text"), t => t.textContent),
  glyphs: spans.map(s => s.textContent), first: depths.indexOf(Math.max(...depths)),
  boxes: spans.map(s => [s.getBoundingClientRect().left, s.getBoundingClientRect().top]),
  polylines: Array.from(document.querySelectorAll("#loss-curve polyline"),
                        p => [p.getAttribute("class"), Array.from(p.points, q => [q.x, q.y])]),
  samples: Array.from(document.querySelectorAll(".samples > div"),
                      c => Array.from(c.children, e => e.textContent)),
  neurons: buttons.map(b => b.textContent),
  struck: getComputedStyle(document.querySelector("#text .unknown")).textDecorationLine,
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
    text = "The keeper\twrote:\n" + HOSTILE + "\n" + BIDI + "\n" + TEXT[:250]
    (folder / "text.txt").write_text(text, encoding="utf-8")
    assert quietly(visualize.main, folder / "model.npz", folder / "text.txt", "-o",
                   folder / "page.html")[0] == 0
    data = page_data(folder / "page.html")  # click a character 12 steps into its chunk
    click = max(i for i, reach in enumerate(data["reach"]) if reach == 12)
    page = (folder / "page.html").read_text(encoding="utf-8")
    (folder / "measured.html").write_text(
        page.replace("</body>", MEASURE.replace("CLICK", str(click))), encoding="utf-8")
    with subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1000,2000",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={folder / 'profile'}",
             "--virtual-time-budget=2000", "--dump-dom",
             (folder / "measured.html").as_uri() + START],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        yield text, data, process
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


def test_in_a_browser_the_text_is_shaded_by_the_neuron_picked_or_by_surprise(rendered):
    """The keys that change the view are listed."""
    text, data, measured = rendered
    assert all(key in measured["texts"][2] for key in ("j,", "k,", "↓", "↑", "s switches",
                                                        "Escape unpins"))
    assert "".join(measured["glyphs"]) == "".join(map(visible, text))
    assert measured["images"] == 0 and measured["scripts"] == 3  # the page's two, and MEASURE
    for neuron in (0, 5):
        for i, background in enumerate(measured["views"][f"neuron{neuron}"]):
            activation = data["acts"][neuron][i]
            if activation is None:  # not in the model's vocabulary: not shaded
                assert background is None
            else:
                assert (rgb(background)[0] > rgb(background)[2]) == (activation > 0) or \
                    abs(activation) < 0.01, (i, background)
    assert measured["views"]["neuron0"] != measured["views"]["neuron5"]
    shaded = [(data["surprise"][i], sum(rgb(bg))) for i, bg in
              enumerate(measured["views"]["surprise"]) if data["surprise"][i] is not None]
    whiteness = [w for _, w in sorted(shaded)]  # the surprising ones are darker
    assert len(shaded) > 100 and all(a >= b - 1 for a, b in zip(whiteness, whiteness[1:]))
    assert measured["views"]["surprise"][0] is None  # the first character: nothing predicted it
    by_neuron, by_surprise = measured["legends"]  # each says what its colours mean
    assert "blue" in by_neuron and "surprise" not in by_neuron and "blue" not in by_surprise
    unknown = sum(top is None for top in data["top"])
    assert f"Struck through: {unknown} characters the model does not know" in by_surprise
    assert measured["struck"] == "line-through" and unknown > 0


def test_in_a_browser_the_text_is_laid_out_in_reading_order_and_wraps_between_words(rendered):
    """Whatever bidirectional controls or right-to-left letters the text holds: each character
    stands to the right of the one before it on its line; a line ends only after a blank."""
    text, data, measured = rendered
    boxes, start = measured["boxes"], text.index(BIDI)
    pairs = [(boxes[i], boxes[i + 1]) for i in range(start, start + len(BIDI) - 1)]
    assert all(a[1] != b[1] or a[0] <= b[0] for a, b in pairs)
    assert sum(a[1] == b[1] for a, b in pairs) > len(BIDI) // 2  # mostly on one line
    breaks = [i for i in range(len(text) - 1) if boxes[i][1] != boxes[i + 1][1]]
    assert len(breaks) > text.count("\n") + 2  # lines wrapped, not only at newlines
    assert all(text[i] in " \t\n" for i in breaks), [text[i - 5:i + 5] for i in breaks]


def test_in_a_browser_the_loss_curve_draws_the_raw_loss_beside_and_samples_below(rendered):
    """A vertex per point, higher for a higher loss; the hint says why the two differ. The
    samples as training went, and now at each temperature with the command that prints it."""
    text, data, measured = rendered
    assert [cls for cls, _ in measured["polylines"]] == ["raw", "curve"]
    for (cls, vertices), losses in zip(measured["polylines"],
                                       (data["raw_losses"], [loss for _, loss in data["losses"]])):
        assert len(vertices) == len(losses) == 3
        assert all(a[0] < b[0] for a, b in zip(vertices, vertices[1:]))  # in the order of n
        for (_, y1), (_, y2), l1, l2 in zip(vertices, vertices[1:], losses, losses[1:]):
            assert (y1 < y2) == (l1 > l2)
    hint = measured["texts"][0]
    assert "0.999^1000 = 37%" in hint and "raw loss" in hint and "Adagrad" in hint
    assert f"the whole of text.txt from a zero state (the text below is its first {len(text)} " \
        "characters)" in hint
    assert [n for n, _ in data["samples"]] == [0, 100, 200, 400]  # each with its iteration
    shown = ["".join(visible(c, " ") for c in sample).replace("↵", "↵\n")  # a sign, and a break
             for *_, sample in data["samples"] + data["temperature_samples"]]
    command = f"python min_char_rnn.py --checkpoint {data['checkpoint']} --sample-only"
    assert measured["samples"] == [[f"iteration {n}", shown[k]]
                                   for k, (n, _) in enumerate(data["samples"])] + [
        [f"temperature {t:g}", f"{command} --temperature {t:g} --seed {seed} --sample-length "
         "200", shown[4 + k]] for k, (t, seed, _) in enumerate(data["temperature_samples"])]


def test_in_a_browser_the_neurons_are_listed_by_what_they_respond_to(rendered):
    text, data, measured = rendered
    assert len(measured["neurons"]) == data["hidden_size"] == 16
    for j, line in zip(data["order"], measured["neurons"]):
        assert line.startswith(f"{j:3d} {data['spread'][j]:.2f} ")
        high, low = data["responds"][j]["high"], data["responds"][j]["low"]
        if data["clock"][j]:
            assert "a clock" in line
        else:
            assert f"↑ {visible(high[0][0])} " in line and f"↓ {visible(low[0][0])} " in line
    assert not data["clock"][data["order"][0]]  # the neuron shown first is no clock


def test_in_a_browser_the_gradient_flow_shows_what_truncation_cuts(rendered):
    """At first the character the address pins, three steps in: bars for k = 0..3. A click
    on a character further in: bars for k = 0..50, those beyond its reach cut, the mark after
    the last one not cut, and the heights a linear function of log10 of the norms, down to the
    scale's end. The median shares truncation drops, in words."""
    text, data, measured = rendered
    assert measured["initial"] == {"view": "surprise", "neuron": 5, "pin": 3, "flow": 3}
    pinned, bars, hint, traced, mark = measured["flows"]["initial"]
    assert pinned == 3 == traced and len(bars) == 4 and "step t = 3" in hint
    assert "3 steps into its chunk" in hint and [cut for _, _, cut in bars] == [False] * 4
    last, bars, hint, traced, mark = measured["flows"]["none"]  # the last: nothing follows it
    assert last == len(text) - 1 == traced and bars == [] and "no loss" in hint
    clicked, bars, hint, traced, mark = measured["flows"]["clicked"]
    t, reach = sum(top is not None for top in data["top"][:clicked]), data["reach"][clicked]
    assert traced == clicked and t > 50 and f"step t = {t}" in hint and reach == t % 25 == 12
    assert "back 12 steps, to the chunk's start" in hint and bars[12][0] < mark < bars[13][0]
    assert len(bars) == 51 and [cut for _, _, cut in bars] == [k > 12 for k in range(51)]
    heights, logs = np.array([h for _, h, _ in bars]), np.log10(data["gradient_flow"][clicked])
    drawn = heights > 1.01  # the scale spans 12 powers of ten: the smallest norms, a 1 px stub
    fit = np.polyfit(logs[drawn], heights[drawn], 1)
    assert fit[0] > 0 and np.abs(np.polyval(fit, logs[drawn]) - heights[drawn]).max() < 0.5
    assert drawn.sum() > 10 and all(logs[~drawn] < logs[drawn].min())
    assert np.allclose(heights[~drawn], 1) and any(label.startswith("\u22641e")
                                                   for label in measured["labels"])
    first = measured["first"]  # traced when the address pins nothing: a chunk's last
    assert data["reach"][first] == 24 and len(data["gradient_flow"][first]) == 51
    steps = sum(top is not None for top in data["top"])
    assert len(data["truncation"]["Whh"]) == (steps - 1) // 25 - 1
    shares = [round(100 * float(np.median(data["truncation"][name]))) for name in ("Whh", "Wxh")]
    assert f"median of {shares[0]}% of the gradient of Whh and {shares[1]}% of that of Wxh" \
        in measured["texts"][1]


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
    "a text for a checkpoint": (["good.txt", "good.txt"], 1, "good.txt is not a min-char-rnn"),
    "a checkpoint for a text": (["model.npz", "model.npz", "-o", "page.html"], 1,
                                "model.npz is a checkpoint, not a text"),
    "no text": (["model.npz", "nowhere.txt"], 1, "cannot read nowhere.txt"),
    "a text not in UTF-8": (["model.npz", "latin1.txt"], 1, "latin1.txt is not UTF-8"),
    "an empty text": (["model.npz", "empty.txt"], 1, "empty.txt has 0 characters the model"),
    "no known character": (["model.npz", "unknown.txt"], 1, "has 0 characters the model knows"),
    "one known character": (["model.npz", "one known.txt"], 1, "has 1 character the model"),
    "a page in no folder": (["model.npz", "good.txt", "-o", "nowhere/page.html"], 1,
                            "cannot write nowhere/page.html"),
    "a folder for a page": (["model.npz", "good.txt", "-o", "folder"], 1, "cannot write folder"),
    "the page over the checkpoint": (["model.npz", "good.txt", "-o", "model.npz"], 1,
                                     "would overwrite an input"),
    "the page through a link to the checkpoint": (["model.npz", "good.txt", "-o", "link.html"],
                                                  1, "would overwrite an input"),
    "nothing given": ([], 2, "required: checkpoint, text"),
    **{f"--chars {value}": (["model.npz", "good.txt", "--chars", value], 2, "--chars")
       for value in ["0", "ten", "20001"]},
}


@pytest.mark.parametrize("args,status,words", MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistake_gets_one_line(capsys, inputs, monkeypatch, args, status, words):
    monkeypatch.chdir(inputs)
    before = (inputs / "model.npz").read_bytes()
    status_given, out, err = run_main(capsys, *args, main=visualize.main)
    assert out == ""
    one_error_line(status_given, err, words, code=status, prog="visualize.py")
    assert (inputs / "model.npz").read_bytes() == before
    assert sorted(p.name for p in inputs.iterdir() if p.suffix in (".html", ".tmp")) == \
        ["link.html"]


@pytest.mark.parametrize("path,words", [("/dev/full", "No space left on device"),
                                        (None, "stdout is closed")], ids=["full", "closed"])
def test_a_stdout_that_cannot_be_written_gets_one_line(capsys, monkeypatch, model, tmp_path,
                                                       path, words):
    """A full disk: the page is written all the same. None: Python's stdout on a closed fd 1."""
    (tmp_path / "text.txt").write_text("The tower went up.", encoding="utf-8")
    with open(path or os.devnull, "w") as stdout:
        monkeypatch.setattr(sys, "stdout", path and stdout)
        status, _, err = run_main(capsys, model[0], tmp_path / "text.txt", "-o",
                                  tmp_path / "page.html", main=visualize.main)
    one_error_line(status, err, words, prog="visualize.py")
    assert (tmp_path / "page.html").exists() == (path is not None)
