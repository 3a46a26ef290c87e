"""visualize.py: the measure it prints, the page it writes, and one line for every mistake."""
import html.parser
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import min_char_rnn
import visualize
from conftest import ROOT, run_script, run_with_signals_at, script_env
from min_char_rnn import PARAMS, char_maps, lossFun

HOSTILE = ('</script><script>alert(1)</script> <img src=x onerror=alert(1)> <!-- &amp; '
           '\u2028\u2029 "quoted" \\u003c')


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small model trained on input.txt, and its state as loaded."""
    path = tmp_path_factory.mktemp("model") / "model.npz"
    result = run_script(ROOT / "input.txt", "--seed", 1, "--max-iters", 200, "--hidden-size", 16,
                        "--checkpoint", path)
    assert result.returncode == 0, result.stderr
    return path, min_char_rnn.load_checkpoint(path)


def run_visualize(capsys, *args):
    """visualize.main(args) in this process: (exit status, stdout, stderr)."""
    try:
        status = visualize.main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        status = e.code
    out, err = capsys.readouterr()
    return status, out, err


class Page(html.parser.HTMLParser):
    """The elements of a page, and the JSON of its data element."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.data, self.in_data = [], None, False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.in_data = dict(attrs).get("id") == "data"

    def handle_data(self, data):
        if self.in_data:
            self.data = json.loads(data)

    def handle_endtag(self, tag):
        self.in_data = False


def visualized(capsys, model, tmp_path, text, *args):
    """Run visualize.py on text: (stdout, stderr, the page's data)."""
    (tmp_path / "text.txt").write_text(text, encoding="utf-8")
    status, out, err = run_visualize(capsys, model[0], tmp_path / "text.txt",
                                     "-o", tmp_path / "page.html", *args)
    assert status == 0, err
    return out, err, Page((tmp_path / "page.html").read_text(encoding="utf-8")).data


def summary(out):
    match = re.fullmatch(r"(.*): (\d+) characters, (\d+\.\d{4}) nats/char, (\d+\.\d{4}) bits/char "
                         r"\(a uniform guess: (\d+\.\d{4}) bits/char\)\n", out)
    assert match, out
    return match[1], int(match[2]), float(match[3]), float(match[4]), float(match[5])


@pytest.mark.parametrize("block", [7, 4096], ids=["blocks of 7", "blocks of 4096"])
def test_the_measure_is_the_mean_loss_of_the_forward_pass(capsys, model, tmp_path, monkeypatch,
                                                          block):
    """The mean of -ln p over every character after the first: lossFun's loss over the whole
    text as one chunk from a zero state, divided by the number of predictions."""
    text = (ROOT / "input.txt").read_text(encoding="utf-8")[:3000]
    monkeypatch.setattr(visualize, "BLOCK", block)
    out, err, data = visualized(capsys, model, tmp_path, text)
    name, count, nats, bits, uniform = summary(out)
    assert err == "" and name == str(tmp_path / "text.txt") and count == 3000
    state = model[1]
    ixes = [char_maps(state["chars"])[0][ch] for ch in text]
    loss = lossFun(ixes[:-1], ixes[1:], np.zeros((16, 1)), [state[k] for k in PARAMS])[0]
    assert nats == pytest.approx(loss / 2999, abs=5e-5)
    assert bits == pytest.approx(loss / 2999 / math.log(2), abs=5e-5)
    assert uniform == pytest.approx(math.log2(len(state["chars"])), abs=5e-5)


def test_the_page_holds_the_states_and_guesses_of_the_forward_pass(capsys, model, tmp_path):
    text = "The lighthouse stood\n  on its rock. "
    data = visualized(capsys, model, tmp_path, text + "Not shown.", "--chars", len(text))[2]
    state = model[1]
    params = [state[k] for k in PARAMS]
    ixes = [char_maps(state["chars"])[0][ch] for ch in text]
    assert data["text"] == text and data["vocab"] == state["chars"]
    h = np.zeros((16, 1))  # the state before character t
    for t, ix in enumerate(ixes):
        # one step of lossFun per possible next character: its probability, and the new state
        steps = [lossFun([ix], [k], h, params) for k in range(len(state["chars"]))]
        p, h = np.exp([-step[0] for step in steps]), steps[0][-1]
        np.testing.assert_allclose([row[t] for row in data["acts"]], h[:, 0], atol=5.1e-4)
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
    assert err == ""
    assert messy_err == f"{tmp_path / 'text.txt'}: skipped 4 characters the model does not " \
                        "know (2 distinct: '€', '☃')\n"
    assert messy_data["text"] == messy
    known = [i for i, ch in enumerate(messy) if ch not in "€☃"]
    for key in ("surprise", "top"):
        assert [messy_data[key][i] for i in known] == data[key]
        assert [messy_data[key][i] for i in range(len(messy)) if i not in known] == [None] * 4
    assert [[row[i] for i in known] for row in messy_data["acts"]] == data["acts"]


def test_the_page_shows_the_first_chars_and_orders_the_neurons(capsys, model, tmp_path):
    text = (ROOT / "input.txt").read_text(encoding="utf-8")[:500]
    out, err, data = visualized(capsys, model, tmp_path, text, "--chars", 300)
    assert data["text"] == text[:300]
    assert len(data["acts"]) == 16 and all(len(row) == 300 for row in data["acts"])
    acts = np.array(data["acts"])
    centred = acts - acts.mean(axis=1, keepdims=True)
    persistence = (centred[:, 1:] * centred[:, :-1]).mean(axis=1)  # of neighbouring activations
    assert sorted(data["order"]) == list(range(16))
    assert list(np.diff(persistence[data["order"]]) <= 1e-5) == [True] * 15
    np.testing.assert_allclose(data["persistence"], persistence, atol=1e-3)
    assert data["n"] == 200 and data["hidden_size"] == 16 and data["seq_length"] == 25
    assert data["summary"] + "\n" == out and summary(out)[1] == 500


def test_the_page_is_written_beside_the_checkpoint_by_default(capsys, model, tmp_path):
    copy = tmp_path / "my.model.npz"
    copy.write_bytes(model[0].read_bytes())
    status, out, err = run_visualize(capsys, copy, ROOT / "input.txt", "--chars", 50)
    assert status == 0 and (tmp_path / "my.model.html").exists()
    assert Page((tmp_path / "my.model.html").read_text(encoding="utf-8")).data["summary"] \
        == out.rstrip("\n")


def test_a_hostile_text_stays_text(capsys, model, tmp_path):
    text = "The light " + HOSTILE + " went on."
    data = visualized(capsys, model, tmp_path, text)[2]
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    tags = Page(page).tags
    assert [tag for tag, attrs in tags if tag == "script"] == ["script", "script"]
    assert not any(tag == "img" or "onerror" in attrs or "src" in attrs for tag, attrs in tags)
    assert data["text"] == text  # the JSON gives back every character
    for ch in "<>&\u2028\u2029":
        assert ch not in page[page.index('id="data">') + 10:page.index("</script>")]


class Rendered(html.parser.HTMLParser):
    """From a page as the browser left it: the spans of the text, as (glyph, background)."""

    def __init__(self, dom):
        super().__init__()
        self.spans, self.inside, self.tags = [], False, []
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if attrs.get("id") == "text":
            self.inside = True
        elif self.inside and tag == "span":
            style = re.search(r"background-color: (rgb\([^)]*\))", attrs.get("style") or "")
            self.spans.append(["", style and style[1]])

    def handle_data(self, data):
        if self.inside and self.spans:
            self.spans[-1][0] += data

    def handle_endtag(self, tag):
        if tag == "div":
            self.inside = False


@pytest.fixture(scope="module")
def browse(tmp_path_factory):
    """browse(page, fragment): the DOM of page after headless Chromium has run its script."""
    if shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium")

    def browse(page, fragment):
        result = subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=2000",
             "--dump-dom", page.as_uri() + fragment],
            capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return Rendered(result.stdout)
    return browse


def test_in_a_browser_the_text_is_shaded_by_the_neuron_picked(capsys, model, tmp_path, browse):
    text = "The keeper\twrote:\n" + HOSTILE + "\n"
    data = visualized(capsys, model, tmp_path, text)[2]
    shown = text.replace(" ", "·").replace("\t", "→").replace("\n", "↵")
    views = {fragment: browse(tmp_path / "page.html", fragment)
             for fragment in ("#neuron=0", "#neuron=5")}
    for fragment, dom in views.items():
        assert "".join(glyph for glyph, _ in dom.spans) == shown
        assert "img" not in dom.tags and dom.tags.count("script") == 2  # nothing ran
        for i, (glyph, background) in enumerate(dom.spans):
            if data["top"][i] is None:  # not in the model's vocabulary: not shaded
                continue
            r, g, b = map(int, re.findall(r"\d+", background))
            activation = data["acts"][int(fragment[-1])][i]
            assert (r > b) == (activation > 0) or abs(activation) < 0.01, (glyph, background)
    assert [bg for _, bg in views["#neuron=0"].spans] != [bg for _, bg in views["#neuron=5"].spans]


def test_in_a_browser_the_surprise_view_shades_each_character_by_its_surprise(
        capsys, model, tmp_path, browse):
    text = (ROOT / "input.txt").read_text(encoding="utf-8")[:200]
    data = visualized(capsys, model, tmp_path, text)[2]
    backgrounds = [bg for _, bg in browse(tmp_path / "page.html", "#view=surprise").spans]
    assert backgrounds[0] is None  # the first character: nothing predicted it
    whiteness = [sum(map(int, re.findall(r"\d+", bg))) for bg in backgrounds[1:]]
    order = np.argsort(data["surprise"][1:], kind="stable")
    assert list(np.diff(np.array(whiteness)[order]) <= 1) == [True] * (len(text) - 2)


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
    return folder


MISTAKES = {  # the arguments, the exit status, and what the error line says
    "no checkpoint": dict(args=["nowhere.npz", "good.txt"], status=1,
                          message="no checkpoint at nowhere.npz"),
    "a text for a checkpoint": dict(args=["good.txt", "good.txt"], status=1,
                                    message="good.txt is not a usable min-char-rnn checkpoint"),
    "a folder for a checkpoint": dict(args=["folder", "good.txt"], status=1,
                                      message="folder is a "),
    "no text": dict(args=["model.npz", "nowhere.txt"], status=1,
                    message="nowhere.txt: no such file"),
    "a folder for a text": dict(args=["model.npz", "folder"], status=1, message="folder is a "),
    "a text not in UTF-8": dict(args=["model.npz", "latin1.txt"], status=1,
                                message="latin1.txt is not UTF-8 text"),
    "an empty text": dict(args=["model.npz", "empty.txt"], status=1, message="empty.txt is empty"),
    "no known character": dict(args=["model.npz", "unknown.txt"], status=1,
                               message="unknown.txt has no characters the model knows; at least 2"),
    "one known character": dict(args=["model.npz", "one known.txt"], status=1,
                                message="one known.txt has 1 character the model knows; at least 2"),
    "a page in no folder": dict(args=["model.npz", "good.txt", "-o", "nowhere/page.html"], status=1,
                                message="cannot write nowhere/page.html: no folder"),
    "a page under a file": dict(args=["model.npz", "good.txt", "-o", "good.txt/page.html"],
                                status=1, message="cannot write good.txt/page.html: no folder"),
    "a folder for a page": dict(args=["model.npz", "good.txt", "-o", "folder"], status=1,
                                message="cannot write folder: folder is a directory"),
    "the page over the checkpoint": dict(args=["model.npz", "good.txt", "-o", "model.npz"],
                                         status=1,
                                         message="the page model.npz would overwrite an input"),
    "the page through a link to the checkpoint": dict(
        args=["model.npz", "good.txt", "-o", "link.html"], status=1,
        message="the page link.html would overwrite an input"),
    "nothing given": dict(args=[], status=2,
                          message="the following arguments are required: checkpoint, text"),
    **{f"--chars {value}": dict(args=["model.npz", "good.txt", "--chars", value], status=2,
                                message=f"argument --chars: '{value}' is not a whole number from "
                                        "1 to 20000")
       for value in ["0", "-3", "1.5", "ten", "", "20001"]},
}


@pytest.mark.parametrize("case", MISTAKES.values(), ids=MISTAKES.keys())
def test_a_mistake_gets_one_line(capsys, inputs, monkeypatch, case):
    monkeypatch.chdir(inputs)
    if not (inputs / "link.html").exists():
        (inputs / "link.html").symlink_to(inputs / "model.npz")
    before = (inputs / "model.npz").read_bytes()
    result = run_visualize(capsys, *case["args"])
    lines = result[2].splitlines()
    assert result[:2] == (case["status"], "")
    assert len(lines) == 1
    assert lines[0].startswith("visualize.py: error: ") and case["message"] in lines[0]
    assert (inputs / "model.npz").read_bytes() == before
    assert not (inputs / "model.html").exists()
    assert "Traceback" not in result[2] and "Warning" not in result[2]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_signal_gets_one_line(capsys, model, monkeypatch, signum):
    def interrupted(*args):
        os.kill(os.getpid(), signum)
    monkeypatch.setattr(visualize, "hidden_states", interrupted)
    assert run_visualize(capsys, model[0], ROOT / "input.txt") == (128 + signum, "",
                                                                   "visualize.py: stopped\n")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_signal_while_it_starts_gets_one_line(model, tmp_path, signum):
    result = run_with_signals_at(ROOT / "visualize.py", "numpy", [signum],
                                 model[0], ROOT / "input.txt", "-o", tmp_path / "page.html")
    assert (result.returncode, result.stdout, result.stderr) == (128 + signum, "",
                                                                 "visualize.py: stopped\n")
    assert list(tmp_path.iterdir()) == []


STDOUTS = {
    "a full disk": dict(stdout="/dev/full", message="visualize.py: the page is written, but the "
                                                    "line for stdout is not (No space left on "
                                                    "device)"),
    "closed": dict(stdout="closed", message="visualize.py: error: stdout is closed; give it a "
                                            "file or a pipe to print to"),
}


@pytest.mark.parametrize("case", STDOUTS.values(), ids=STDOUTS.keys())
def test_a_stdout_that_cannot_be_written_gets_one_line(model, tmp_path, case):
    where = dict(stdout=None, preexec_fn=lambda: os.close(1)) if case["stdout"] == "closed" \
        else dict(stdout=open(case["stdout"], "w"))
    try:
        result = subprocess.run([sys.executable, str(ROOT / "visualize.py"), str(model[0]),
                                 str(ROOT / "input.txt"), "-o", str(tmp_path / "page.html")],
                                stderr=subprocess.PIPE, text=True, timeout=60, env=script_env(),
                                **where)
    finally:
        if where["stdout"] is not None:
            where["stdout"].close()
    assert (result.returncode, result.stderr) == (1, case["message"] + "\n")
    assert (tmp_path / "page.html").exists() == (case["stdout"] != "closed")


def test_the_script_runs_as_a_user_runs_it(model, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "visualize.py"), str(model[0]),
                             "input.txt", "-o", str(tmp_path / "page.html")],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0 and result.stderr == ""
    assert summary(result.stdout)[:2] == ("input.txt", 37809)


def test_the_log_softmax_stays_finite_where_exp_overflows():
    logits = np.array([[1000.0, -1000.0], [999.0, -1001.0], [0.0, -2000.0]])
    expected = np.array([[-math.log1p(math.exp(-1)), -math.log1p(math.exp(-1))],
                         [-1 - math.log1p(math.exp(-1)), -1 - math.log1p(math.exp(-1))],
                         [-1000 - math.log1p(math.exp(-1)), -1000 - math.log1p(math.exp(-1))]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(visualize.log_softmax(logits), expected, rtol=1e-12)
