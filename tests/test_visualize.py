"""visualize.py: its numbers against independent computations, its page in a browser."""
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unicodedata
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

import min_char_rnn
import visualize
from conftest import (FORMAT_1, INPUT, SHORT_TEXT, FullDisk, Terminal, one_error_line,
                      quietly, run_main, written)
from min_char_rnn import PARAMS, checkpoint_arrays, init_model, init_training, lossFun

TEXT = INPUT.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """16 neurons on input.txt, trained to iteration 150, resumed to 201: (path, state)."""
    path = tmp_path_factory.mktemp("model") / "model.npz"
    for args in (["--max-iters", 150], ["--resume", "--max-iters", 201]):
        assert quietly(min_char_rnn.main, INPUT, "--seed", 1, "--hidden-size", 16,
                       "--checkpoint", path, *args)[0] == 0
    return path, min_char_rnn.load_checkpoint(path)


# A model made by hand, of 6 neurons: 0 saturated, 1 constant, 2 a clock, 3 lasting, 4 and 5
# random; markup in its vocabulary and samples, a history longer than a page draws.
TINY_SAMPLE = "</script><script>alert(1)</script>\n\t&amp;\u2028"
TINY_CHARS = sorted(set(TINY_SAMPLE + "abc "))
T = 3  # the tiny model's seq_length: the gradient flow reaches back 2 * 3 = 6 steps


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    state = init_training(TINY_CHARS, 0, 6, T, sample_length=len(TINY_SAMPLE))
    state["Wxh"] *= 50
    state["Whh"] *= 50
    state["Why"] *= 100
    state["Wxh"][:2] = 0
    state["Wxh"][2] *= 0.1
    state["Whh"][:4] = 0
    state["Whh"][2, 2] = -1.5
    state["Whh"][3, 3] = 0.95
    state["bh"][0] = 4
    losses = [(100 * i, 80 / (1 + i / 50), 70 / (1 + i / 40)) for i in range(5000)]
    losses[:1000] = [(n, smooth, None) for n, smooth, raw in losses[:1000]]  # saved before
    state.update(n=500_000, losses=losses, samples=[(0, TINY_SAMPLE), (100, TINY_SAMPLE[::-1])])
    path = tmp_path_factory.mktemp("tiny") / "tiny.npz"
    np.savez(path, **checkpoint_arrays(state))
    return path, state


def page_data(page):
    return json.loads(re.search(r'id="data">(.*?)</script>', page.read_text("utf-8"), re.S)[1])


def visualized(capsys, model, tmp_path, text, *args):
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    status, out, err = run_main(capsys, model[0], tmp_path / "text.txt", "-o",
                                tmp_path / "page.html", *args, main=visualize.main)
    assert status == 0, err
    return out, err, page_data(tmp_path / "page.html")


def states(state, text, h):
    """h and the hidden state after each character of text (all known), read from h."""
    hs = [h]
    for ch in text:
        x = state["Wxh"][:, [state["chars"].index(ch)]]
        hs.append(np.tanh(x + state["Whh"] @ hs[-1] + state["bh"]))
    return hs


@pytest.mark.parametrize("block", [3, 4096], ids=["blocks of 3", "blocks of 4096"])
def test_the_measure_and_each_character_are_the_forward_pass(capsys, model, tmp_path,
                                                             monkeypatch, block):
    """The measure: lossFun's loss as one chunk, per prediction. Unknown characters are skipped
    as if absent. The reach: t mod seq_length, t counting the known characters."""
    text = TEXT[:20] + "€" + TEXT[20:40] + "☃" + TEXT[40:1000] + "€"
    state = model[1]
    monkeypatch.setattr(visualize, "BLOCK_NUMBERS", block * (16 + len(state["chars"])))
    out, err, data = visualized(capsys, model, tmp_path, text, "--chars", 70)
    ixes = [state["chars"].index(ch) for ch in TEXT[:1000]]
    loss = lossFun(ixes[:-1], ixes[1:], np.zeros((16, 1)), [state[k] for k in PARAMS])[0]
    nats = loss / 999
    bits = nats / math.log(2)
    assert out == (f"{tmp_path}/text.txt: 1000 characters, {nats:.4f} nats/char, {bits:.4f} "
                   f"bits/char (a uniform guess: {math.log2(len(state['chars'])):.4f} bits/char)\n")
    assert err == (f"{tmp_path}/text.txt: skipped 3 characters the model does not know "
                   f"(2 distinct: '€', '☃')\nwrote {tmp_path}/page.html\n")
    assert data["bits"] == pytest.approx(bits)  # marked on the loss curve
    assert data["text"] == text[:70] and data["surprise"][0] is None  # nothing predicted it
    for row in [*data["acts"], data["top"], data["surprise"], data["gradient_flow"], data["reach"]]:
        assert [row[20], row[41]] == [None, None]  # € and ☃
    where = [i for i, ch in enumerate(text[:70]) if ch not in "€☃"]
    hs = states(state, TEXT[:len(where)], np.zeros((16, 1)))
    for t, h in enumerate(np.hstack(hs[1:]).T):
        i = where[t]
        y = state["Why"] @ h + state["by"][:, 0]
        p = np.exp(y) / np.exp(y).sum()  # the softmax of lossFun
        np.testing.assert_allclose([row[i] for row in data["acts"]], h, atol=5.1e-4)
        assert data["top"][i][0] == list(np.argsort(-p, kind="stable")[:5])
        np.testing.assert_allclose(data["top"][i][1], p[data["top"][i][0]], atol=5.1e-5)
        if t + 1 == len(where) or where[t + 1] != i + 1:
            assert data["gradient_flow"][i] is None and data["reach"][i] is None, i
        else:
            assert (len(data["gradient_flow"][i]), data["reach"][i]) == (min(t, 50) + 1, t % 25)
        if t + 1 < len(where):  # the surprise of the next character
            surprise = -math.log2(p[ixes[t + 1]])
            assert data["surprise"][where[t + 1]] == pytest.approx(surprise, abs=5.1e-4)


def test_the_history_is_the_gist_loops_and_the_samples_the_command_lines(capsys, model, tmp_path):
    """The gist's loop, one run: the smoothed loss and the mean chunk loss since the point
    before, as the resumed model kept them; samples at three temperatures as --sample-only."""
    chars = model[1]["chars"]
    params = init_model(len(chars), 16, np.random.RandomState(1))
    memories = [np.zeros_like(param) for param in params]
    smooth_loss = -np.log(1.0 / len(chars)) * 25
    ixes = [chars.index(ch) for ch in TEXT[:25 * 201 + 1]]  # 201 chunks: no wrap
    hprev = np.zeros((16, 1))
    chunk_losses, smooth, raw = [], [], []
    for n in range(201):
        inputs, targets = ixes[25 * n:25 * n + 25], ixes[25 * n + 1:25 * n + 26]
        loss, *grads, hprev = lossFun(inputs, targets, hprev, params)
        for param, grad, memory in zip(params, grads, memories):
            memory += grad * grad
            param += -0.1 * grad / np.sqrt(memory + 1e-8)
        smooth_loss = smooth_loss * 0.999 + loss * 0.001
        chunk_losses.append(loss)
        if n % 100 == 0:
            smooth.append(smooth_loss)
            raw.append(np.mean(chunk_losses[max(n - 99, 0):]))
    data = visualized(capsys, model, tmp_path, "The tower.")[2]
    assert [n for n, _ in data["losses"]] == [0, 100, 200] and data["n"] == 201
    assert [loss for _, loss in data["losses"]] == pytest.approx(smooth, rel=1e-12)
    assert data["raw_losses"] == pytest.approx(raw, rel=1e-12)
    assert data["samples"] == [list(sample) for sample in model[1]["samples"]]
    temperatures = [t for t, seed, text in data["temperature_samples"]]
    assert len(set(temperatures)) >= 3 and min(temperatures) < 1 < max(temperatures)
    for temperature, seed, text in data["temperature_samples"]:
        status, out, err = run_main(capsys, "--checkpoint", model[0], "--sample-only", "--seed",
                                    seed, "--temperature", temperature, "--sample-length",
                                    data["sample_length"])
        assert (status, out) == (0, text + "\n") and len(text) == data["sample_length"]


def test_a_hostile_text_stays_text_and_each_neuron_is_described_by_what_it_responds_to(
        capsys, tiny, tmp_path):
    """A neuron: the 3 characters read 5 times or more after which its mean is highest, and
    lowest; the list by spread, the clock last. Of 5000 points 2000 are drawn, in order."""
    text = TINY_SAMPLE + "".join(np.random.RandomState(1).choice(TINY_CHARS[3:], 300))
    text += "".join(TINY_CHARS[:3]) * 3  # these three are read 4 times or fewer
    data = visualized(capsys, tiny, tmp_path, text)[2]
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    elements = ("html head meta title style body header h1 p section div h2 span label input "
                "main aside nav script")
    assert page.count("<script") == 2
    assert set(re.findall(r"<([a-z0-9]+)", page)) == set(elements.split())
    for ch in "<>&\u2028\u2029":
        assert ch not in page[page.index('id="data">') + 10:page.index("</script>")]
    assert (data["text"], data["vocab"]) == (text, TINY_CHARS)  # every character given back
    assert data["samples"] == [[0, TINY_SAMPLE], [100, TINY_SAMPLE[::-1]]]
    hs = np.hstack(states(tiny[1], text, np.zeros((6, 1)))[1:])
    often = sorted(ch for ch in set(text) if text.count(ch) >= 5)
    assert len(often) == len(TINY_CHARS) - 3
    for j, responds in enumerate(data["responds"]):
        means = {ch: hs[j, [i for i, c in enumerate(text) if c == ch]].mean() for ch in often}
        ranked = sorted(means.values())  # of equal means, any character
        for key, expected in (("high", ranked[::-1][:3]), ("low", ranked[:3])):
            assert [mean for _, mean, _ in responds[key]] == pytest.approx(expected, abs=5e-4)
            for ch, mean, count in responds[key]:
                assert mean == pytest.approx(means[ch], abs=5e-4) and count == text.count(ch)
    spread = np.abs(hs - np.median(hs, axis=1, keepdims=True)).mean(axis=1)
    flips = (hs[:, 1:] * hs[:, :-1] < 0).mean(axis=1)
    np.testing.assert_allclose([data["spread"], data["flips"]], [spread, flips], atol=5e-4)
    assert data["clock"] == [False, False, True, False, False, False] and flips[2] > 0.99
    assert data["order"] == sorted([0, 1, 3, 4, 5], key=lambda j: -spread[j]) + [2]
    points = [(n, smooth, raw) for (n, smooth), raw in zip(data["losses"], data["raw_losses"])]
    assert len(points) == visualize.MAX_VERTICES == 2000 and points == sorted(points)
    assert points[0] == tiny[1]["losses"][0] and points[-1] == tiny[1]["losses"][-1]
    assert set(points) <= set(tiny[1]["losses"])
    data = visualized(capsys, (FORMAT_1,), tmp_path, SHORT_TEXT)[2]
    assert data["losses"] == data["raw_losses"] == data["samples"] == []


def losses_of(state, text, h, start, end, first):
    """-ln p(text[s + 1] | h_s) summed over s = first..end-1, text[start:end] read from h."""
    hs = states(state, text[start:end], h)
    loss = 0
    for s in range(first, end):
        y = state["Why"] @ hs[s - start + 1] + state["by"]
        loss -= y[TINY_CHARS.index(text[s + 1]), 0] - np.log(np.exp(y).sum())
    return loss


def test_the_gradient_flow_and_truncation_are_central_differences(capsys, tiny, tmp_path):
    """||d loss_t / d h_{t-k}||; for chunk c (steps 3c..3c+2), ||g_full - g|| / ||g_full||, g
    from the state carried into it (lossFun's), g_full from the text's start; far from 0."""
    text = "".join(np.random.RandomState(2).choice(TINY_CHARS, 40))
    data = visualized(capsys, tiny, tmp_path, text)[2]
    hs = np.hstack(states(tiny[1], text, np.zeros((6, 1)))[1:])
    for t, k in [(0, 0), (5, 0), (5, 2), (5, 5), (20, 1), (20, 6), (38, 6)]:
        grad = []
        for step in np.eye(6)[:, :, None] * 1e-6:
            above = losses_of(tiny[1], text, hs[:, [t - k]] + step, t - k + 1, t + 1, t)
            below = losses_of(tiny[1], text, hs[:, [t - k]] - step, t - k + 1, t + 1, t)
            grad.append((above - below) / 2e-6)
        assert data["gradient_flow"][t][k] == pytest.approx(np.linalg.norm(grad), rel=1e-3)
        assert data["gradient_flow"][t][k] > 1e-4, (t, k)
    assert len(data["truncation"]["Whh"]) == len(data["truncation"]["Wxh"]) == 12  # 39 // 3 - 1
    for c, name in [(1, "Whh"), (1, "Wxh"), (12, "Whh"), (12, "Wxh")]:
        state = dict(tiny[1], **{name: tiny[1][name].copy()})
        full, own = np.zeros_like(state[name]), np.zeros_like(state[name])
        for i in np.ndindex(state[name].shape):
            for grad, start, h in ((full, 0, np.zeros((6, 1))), (own, c * T, hs[:, [c * T - 1]])):
                state[name][i] += 1e-6
                above = losses_of(state, text, h, start, c * T + T, c * T)
                state[name][i] -= 2e-6
                below = losses_of(state, text, h, start, c * T + T, c * T)
                state[name][i] += 1e-6
                grad[i] = (above - below) / 2e-6
        share = np.linalg.norm(full - own) / np.linalg.norm(full)
        assert data["truncation"][name][c - 1] == pytest.approx(share, rel=1e-3)
        assert share > 1e-3, (c, name)


def test_the_page_is_written_into_a_device_or_a_fifo(capsys, monkeypatch, model, tmp_path):
    """Into /dev/null, which stays a device; into a FIFO, read whole even when stdout is full."""
    monkeypatch.chdir(tmp_path)
    Path("m.npz").write_bytes(model[0].read_bytes())
    Path("first.txt").write_text(TEXT[:500], encoding="utf-8")
    status, out, err = run_main(capsys, "m.npz", "first.txt", "-o", os.devnull,
                                main=visualize.main)
    assert status == 0 and Path(os.devnull).is_char_device(), err
    os.mkfifo("fifo")
    read = []
    reader = threading.Thread(target=lambda: read.append(Path("fifo").read_bytes()))
    reader.start()
    status, out, err = run_main(capsys, "m.npz", "first.txt", "-o", "fifo", stdout=FullDisk(),
                                main=visualize.main)
    reader.join(10)
    one_error_line(status, err, "No space left on device", prog="visualize.py")
    assert Path("fifo").is_fifo() and read[0].endswith(b"</html>\n")
    assert b"THE LIGHTHOUSE AT" in read[0]
    assert sorted(os.listdir()) == ["fifo", "first.txt", "m.npz"]


@pytest.mark.parametrize("ticks,status,said", [
    (range(0, 100, 2), 0, "\rtext.txt: 0% read\rtext.txt: 82% read\r\033[Kwrote page.html\n"),
    ([0, 2, 4, KeyboardInterrupt], 130, "\rtext.txt: 0% read\r\033[Kvisualize.py: interrupted\n"),
], ids=["to the end", "by Ctrl-C"])
def test_on_a_terminal_the_share_read_is_shown_and_cleared_before_anything_is_said(
        capsys, monkeypatch, model, tmp_path, ticks, status, said):
    """A clock moving two seconds a call: a line at each 4096th character, or Ctrl-C at the 2nd."""
    monkeypatch.setattr(time, "time", mock.Mock(side_effect=ticks))
    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.chdir(tmp_path)
    Path("text.txt").write_text(TEXT[:5000], encoding="utf-8")
    result = run_main(capsys, model[0], "text.txt", "-o", "page.html", "--chars", 10,
                      main=visualize.main)
    assert (result[0], written(sys.stderr)) == (status, said)
    assert Path("page.html").exists() == (status == 0)


# The page in a browser: one run of headless Chromium on a text of markup, tabs, bidirectional
# controls and Hebrew; a script added to the page drives it and writes what it measured.
HOSTILE = ('</script><script>alert(1)</script> <img src=x onerror=alert(1)> <!-- &amp; '
           '\u2028\u2029 "quoted" \\u003c')
BIDI = ("Left \u202eright-to-left override\u202c, \u05e9\u05dc\u05d5\u05dd and "
        "\u2067isolate\u2069 end.")
MARKUP_SAMPLE = "the \"script\", 'alert'\n\nand more"  # as input.txt's characters allow
START = "#view=surprise&neuron=5&pin=3"  # the address the page is opened at
MEASURE = """<script>
const initial = Object.assign({}, state);  // as the address asked
const bars = () => Array.from(document.querySelectorAll("#gradient-flow svg rect"),
  r => [+r.getAttribute("x"), +r.getAttribute("height"), r.classList.contains("cut")]);
const flowNow = () => [state.flow, bars(), $("flow-hint").textContent,
  spans.findIndex(s => s.classList.contains("traced")), +$("reach-mark")?.getAttribute("x1")];
const views = {}, flows = {initial: flowNow()}, legends = {};
for (const [name, change] of [["neuron0", {neuron: 0, view: "neuron"}], ["neuron5", {neuron: 5}],
                              ["surprise", {view: "surprise"}]]) {
  show(change);
  views[name] = spans.map(s => s.style.backgroundColor || null);
  legends[name] = $("legend").textContent;
}
spans.at(-1).click();
flows.none = flowNow();
spans[CLICK].click();
flows.clicked = flowNow();
const out = document.body.appendChild(document.createElement("pre"));
out.id = "measured";
out.textContent = JSON.stringify({views, flows, initial, legends,
  texts: ["loss-hint", "truncation", "keys"].map(id => $(id).textContent),
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


@pytest.fixture(scope="module", autouse=True)
def browser(tmp_path_factory, model):
    """Chromium, started as the module begins to run beside the other tests."""
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
    if browser is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    text, data, process = browser
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    measured = re.search(r'<pre id="measured">(.*?)</pre>', out, re.S)[1]
    return text, data, json.loads(html.unescape(measured))


def visible(c, space="·"):
    if c in " \t\n\x7f":
        return {" ": space, "\t": "→", "\n": "↵", "\x7f": "␡"}[c]
    if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp"):
        return f"⟨{ord(c):04X}⟩"
    return c


def test_in_a_browser_the_text_is_shown_whole_in_reading_order_and_shaded_by_the_view(rendered):
    """Each character right of the one before on its line, whatever bidirectional controls or
    Hebrew the text holds; a line ends after a blank. Blue to red by neuron, darker surprise."""
    text, data, measured = rendered
    assert "".join(measured["glyphs"]) == "".join(map(visible, text))
    assert measured["images"] == 0 and measured["scripts"] == 3  # the page's two, and MEASURE
    boxes, start = measured["boxes"], text.index(BIDI)
    pairs = [(boxes[i], boxes[i + 1]) for i in range(start, start + len(BIDI) - 1)]
    assert all(a[1] != b[1] or a[0] <= b[0] for a, b in pairs)
    assert sum(a[1] == b[1] for a, b in pairs) > len(BIDI) // 2  # mostly on one line
    breaks = [i for i in range(len(text) - 1) if boxes[i][1] != boxes[i + 1][1]]
    assert len(breaks) > text.count("\n") + 2  # lines wrapped, not only at newlines
    assert all(text[i] in " \t\n" for i in breaks), [text[i - 5:i + 5] for i in breaks]
    views = {name: [bg and [int(v) for v in re.findall(r"\d+", bg)] for bg in backgrounds]
             for name, backgrounds in measured["views"].items()}
    for neuron in (0, 5):
        for i, rgb in enumerate(views[f"neuron{neuron}"]):
            activation = data["acts"][neuron][i]
            if activation is None:  # not in the model's vocabulary: not shaded
                assert rgb is None
            elif abs(activation) >= 0.01:
                assert (rgb[0] > rgb[2]) == (activation > 0), (i, rgb)
    assert views["neuron0"] != views["neuron5"]
    shaded = [(data["surprise"][i], sum(rgb)) for i, rgb in enumerate(views["surprise"])
              if data["surprise"][i] is not None]
    whiteness = [w for _, w in sorted(shaded)]  # the surprising ones are darker
    assert len(shaded) > 100 and all(a >= b - 1 for a, b in zip(whiteness, whiteness[1:]))
    assert views["surprise"][0] is None  # the first character: nothing predicted it
    by_neuron, by_surprise = measured["legends"]["neuron5"], measured["legends"]["surprise"]
    assert "blue" in by_neuron and "surprise" not in by_neuron and "blue" not in by_surprise
    unknown = sum(top is None for top in data["top"])
    assert f"Struck through: {unknown} characters the model does not know" in by_surprise
    assert measured["struck"] == "line-through" and unknown > 0
    for key in ("j,", "k,", "↓", "↑", "s switches", "Escape unpins"):
        assert key in measured["texts"][2]


def test_in_a_browser_the_curve_samples_neurons_and_gradient_flow_follow_the_data(rendered):
    text, data, measured = rendered
    assert [cls for cls, _ in measured["polylines"]] == ["raw", "curve"]
    smooth = [loss for _, loss in data["losses"]]
    for (cls, vertices), losses in zip(measured["polylines"], (data["raw_losses"], smooth)):
        assert len(vertices) == len(losses) == 3
        assert all(a[0] < b[0] for a, b in zip(vertices, vertices[1:]))  # in the order of n
        for (_, y1), (_, y2), l1, l2 in zip(vertices, vertices[1:], losses, losses[1:]):
            assert (y1 < y2) == (l1 > l2)
    hint = measured["texts"][0]
    assert "0.999^1000 = 37%" in hint and "raw loss" in hint and "Adagrad" in hint
    assert f"whole of text.txt from a zero state (the text below is its first {len(text)} " in hint
    shown = iter(["".join(visible(c, " ") for c in sample).replace("↵", "↵\n")  # and a break
                  for *_, sample in data["samples"] + data["temperature_samples"]])
    command = f"python min_char_rnn.py --checkpoint {data['checkpoint']} --sample-only"
    expected = [[f"iteration {n}", next(shown)] for n, _ in data["samples"]]
    for t, seed, _ in data["temperature_samples"]:
        flags = f"--temperature {t:g} --seed {seed} --sample-length 200"
        expected.append([f"temperature {t:g}", f"{command} {flags}", next(shown)])
    assert measured["samples"] == expected
    assert len(measured["neurons"]) == data["hidden_size"] == 16
    for j, line in zip(data["order"], measured["neurons"]):
        assert line.startswith(f"{j:3d} {data['spread'][j]:.2f} ")
        high, low = data["responds"][j]["high"], data["responds"][j]["low"]
        if data["clock"][j]:
            assert "a clock" in line
        else:
            assert f"↑ {visible(high[0][0])} " in line and f"↓ {visible(low[0][0])} " in line
    assert not data["clock"][data["order"][0]]  # the neuron shown first is no clock
    # The gradient flow: of the pinned character, 3 steps in; of one clicked 12 steps in.
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
    heights = np.array([h for _, h, _ in bars])
    logs = np.log10(data["gradient_flow"][clicked])
    drawn = heights > 1.01  # the scale spans 12 powers of ten: the smallest norms, a 1 px stub
    fit = np.polyfit(logs[drawn], heights[drawn], 1)
    assert fit[0] > 0 and np.abs(np.polyval(fit, logs[drawn]) - heights[drawn]).max() < 0.5
    assert drawn.sum() > 10 and all(logs[~drawn] < logs[drawn].min())
    assert np.allclose(heights[~drawn], 1)
    assert any(label.startswith("\u22641e") for label in measured["labels"])
    first = measured["first"]  # traced when the address pins nothing: a chunk's last
    assert data["reach"][first] == 24 and len(data["gradient_flow"][first]) == 51
    shares = [round(100 * float(np.median(data["truncation"][name]))) for name in ("Whh", "Wxh")]
    assert f"median of {shares[0]}% of the gradient of Whh and {shares[1]}% of that of Wxh" \
        in measured["texts"][1]


@pytest.mark.parametrize("args,status,words", [
    ("nowhere.npz good.txt", 1, "no checkpoint at nowhere.npz"),
    ("good.txt good.txt", 1, "good.txt is not a min-char-rnn"),
    ("model.npz model.npz -o page.html", 1, "model.npz is a checkpoint, not a text"),
    ("model.npz nowhere.txt", 1, "cannot read nowhere.txt"),
    ("model.npz latin1.txt", 1, "latin1.txt is not UTF-8"),
    ("model.npz /dev/null", 1, "/dev/null has 0 characters the model"),
    ("model.npz unknown.txt", 1, "has 0 characters the model knows"),
    ("model.npz one_known.txt", 1, "has 1 character the model"),
    ("model.npz good.txt -o nowhere/page.html", 1, "cannot write nowhere/page.html"),
    ("model.npz good.txt -o .", 1, "cannot write '.': it is no file's name"),
    ("model.npz good.txt -o good.txt", 1, "would overwrite an input"),
    ("model.npz good.txt -o link.html", 1, "link.html is a checkpoint"),  # a link to the model
    ("", 2, "required: checkpoint, text"),
    ("model.npz good.txt --chars 0", 2, "--chars"),
    ("model.npz good.txt --chars ten", 2, "--chars"),
    ("model.npz good.txt --chars 20001", 2, "--chars"),
])
def test_a_mistake_gets_one_line(capsys, model, tmp_path, monkeypatch, args, status, words):
    monkeypatch.chdir(tmp_path)
    Path("good.txt").write_text("The tower went up.", encoding="utf-8")
    Path("latin1.txt").write_bytes("na\xefve".encode("latin-1"))
    Path("unknown.txt").write_text("€☃€", encoding="utf-8")
    Path("one_known.txt").write_text("€a☃", encoding="utf-8")
    Path("model.npz").write_bytes(model[0].read_bytes())
    Path("link.html").symlink_to(tmp_path / "model.npz")
    status_given, out, err = run_main(capsys, *args.split(), main=visualize.main)
    assert out == ""
    one_error_line(status_given, err, words, code=status, prog="visualize.py")
    assert Path("model.npz").read_bytes() == model[0].read_bytes()
    pages = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".html", ".tmp"))
    assert pages == ["link.html"]
