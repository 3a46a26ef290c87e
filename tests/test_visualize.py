"""visualize.py: the measure it prints, the page it writes, and one line for every mistake."""
import html.parser
import io
import itertools
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
from conftest import ROOT, limit_memory, run_main, run_script, script_env, small_model
from min_char_rnn import PARAMS, Checkpoint, char_maps, init_training, lossFun

HOSTILE = ('</script><script>alert(1)</script> <img src=x onerror=alert(1)> <!-- &amp; '
           '\u2028\u2029 "quoted" \\u003c')


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small model trained on input.txt, and its state as loaded."""
    path = tmp_path_factory.mktemp("model") / "model.npz"
    assert min_char_rnn.main([str(ROOT / "input.txt"), "--seed", "1", "--max-iters", "200",
                              "--hidden-size", "16", "--checkpoint", str(path)]) == 0
    return path, min_char_rnn.load_checkpoint(path)


def run_visualize(capsys, *args):
    """visualize.main(args) in this process: (exit status, stdout, stderr)."""
    return run_main(capsys, *args, main=visualize.main)


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
    text = (ROOT / "input.txt").read_text(encoding="utf-8")[:1000]
    monkeypatch.setattr(visualize, "BLOCK_NUMBERS", block * len(model[1]["chars"]))
    out, err, data = visualized(capsys, model, tmp_path, text)
    name, count, nats, bits, uniform = summary(out)
    assert err == "" and name == str(tmp_path / "text.txt") and count == 1000
    state = model[1]
    ixes = [char_maps(state["chars"])[0][ch] for ch in text]
    loss = lossFun(ixes[:-1], ixes[1:], np.zeros((16, 1)), [state[k] for k in PARAMS])[0]
    assert nats == pytest.approx(loss / 999, abs=5e-5)
    assert bits == pytest.approx(loss / 999 / math.log(2), abs=5e-5)
    assert uniform == pytest.approx(math.log2(len(state["chars"])), abs=5e-5)


@pytest.mark.parametrize("block", [3, 4096], ids=["blocks of 3", "blocks of 4096"])
def test_the_page_holds_the_states_and_guesses_of_the_forward_pass(capsys, model, tmp_path,
                                                                   monkeypatch, block):
    text = "The lighthouse stood\n  on its rock. "
    monkeypatch.setattr(visualize, "BLOCK_NUMBERS", block * len(model[1]["chars"]))
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
    (tmp_path / "text.txt").write_text("The tower went up.", encoding="utf-8")
    status, out, err = run_visualize(capsys, copy, tmp_path / "text.txt", "--chars", 5)
    assert status == 0 and (tmp_path / "my.model.html").exists()
    assert Page((tmp_path / "my.model.html").read_text(encoding="utf-8")).data["summary"] \
        == out.rstrip("\n")


def test_on_a_terminal_how_much_is_read_is_shown_and_then_cleared(monkeypatch, model, tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    clock = itertools.count(step=2)  # two seconds a call: a line at each 4096th character
    monkeypatch.setattr(visualize.time, "time", lambda: next(clock))
    monkeypatch.setattr(sys, "stderr", Terminal())
    text = tmp_path / "text.txt"
    text.write_text((ROOT / "input.txt").read_text(encoding="utf-8")[:10_000], encoding="utf-8")
    assert visualize.main([str(model[0]), str(text), "-o", str(tmp_path / "page.html")]) == 0
    assert sys.stderr.getvalue() == "".join(f"\r{text}: {done} read" for done in
                                            ("0%", "41%", "82%")) + "\r\033[K"


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


MEASURE = """<script>
const initial = Object.assign({}, state);  // as the address asked
const record = () => spans.map(s => s.style.backgroundColor || null);
const views = {};
show({neuron: 0, view: "neuron"}); views.neuron0 = record();
show({neuron: 5}); views.neuron5 = record();
show({view: "surprise"}); views.surprise = record();
const out = document.body.appendChild(document.createElement("pre"));
out.id = "measured";
out.textContent = JSON.stringify({views, glyphs: spans.map(s => s.textContent),
  boxes: spans.map(s => [s.getBoundingClientRect().left, s.getBoundingClientRect().top]), initial,
  scripts: document.scripts.length, images: document.images.length});
</script></body>"""
START = "#view=surprise&neuron=5&pin=3"  # the address the page is opened at
BIDI = "Left \u202eright-to-left override\u202c, \u05e9\u05dc\u05d5\u05dd and \u2067isolate\u2069 end."


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, model):
    """The page of a text with markup, tabs, bidirectional controls and Hebrew, as headless
    Chromium runs it, measured by a script appended to a copy of it: the background of each
    character in three views (drawn by the page's own show()) and where each is laid out."""
    if shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    folder = tmp_path_factory.mktemp("browser")
    text = "The keeper\twrote:\n" + HOSTILE + "\n" + BIDI + "\n" + \
        (ROOT / "input.txt").read_text(encoding="utf-8")[:150]
    (folder / "text.txt").write_text(text, encoding="utf-8")
    assert visualize.main([str(model[0]), str(folder / "text.txt"), "-o",
                           str(folder / "page.html")]) == 0
    page = (folder / "page.html").read_text(encoding="utf-8")
    (folder / "measured.html").write_text(page.replace("</body>", MEASURE), encoding="utf-8")
    result = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=800,2000",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={folder / 'profile'}", "--virtual-time-budget=2000",
         "--dump-dom", (folder / "measured.html").as_uri() + START],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    measured = re.search(r'<pre id="measured">(.*?)</pre>', result.stdout, re.S)[1]
    return text, Page(page).data, json.loads(html.unescape(measured))


def rgb(background):
    return tuple(map(int, re.findall(r"\d+", background)))


def test_in_a_browser_the_text_is_shaded_by_the_neuron_picked(capsys, rendered):
    text, data, measured = rendered
    glyphs = {" ": "·", "\t": "→", "\n": "↵"}
    assert "".join(measured["glyphs"]) == "".join(glyphs.get(c, c) for c in text)
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


def test_in_a_browser_the_page_starts_where_its_address_says(rendered):
    assert rendered[2]["initial"] == {"view": "surprise", "neuron": 5, "pin": 3}


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
    assert all(a[1] != b[1] or a[0] <= b[0] for a, b in pairs)  # controls take no width
    assert sum(a[1] == b[1] for a, b in pairs) > len(BIDI) // 2  # mostly on one line


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
    os.mkfifo(folder / "page.html.tmp")
    return folder


MISTAKES = {  # the arguments, the exit status, and what the error line says
    "no checkpoint": dict(args=["nowhere.npz", "good.txt"], status=1,
                          message="no checkpoint at nowhere.npz"),
    "a text for a checkpoint": dict(args=["good.txt", "good.txt"], status=1,
                                    message="good.txt is not a usable min-char-rnn checkpoint"),
    "a folder for a checkpoint": dict(args=["folder", "good.txt"], status=1,
                                      message="folder is not a usable min-char-rnn checkpoint: it is not a regular file"),
    "no text": dict(args=["model.npz", "nowhere.txt"], status=1,
                    message="cannot read nowhere.txt: No such file or directory"),
    "a folder for a text": dict(args=["model.npz", "folder"], status=1,
                                message="cannot read folder: Is a directory"),
    "a text not in UTF-8": dict(args=["model.npz", "latin1.txt"], status=1,
                                message="latin1.txt is not UTF-8 text"),
    "an empty text": dict(args=["model.npz", "empty.txt"], status=1, message="empty.txt is empty"),
    "no known character": dict(args=["model.npz", "unknown.txt"], status=1,
                               message="unknown.txt has no characters the model knows; at least 2"),
    "one known character": dict(args=["model.npz", "one known.txt"], status=1,
                                message="one known.txt has 1 character the model knows; at least 2"),
    "a page in no folder": dict(args=["model.npz", "good.txt", "-o", "nowhere/page.html"], status=1,
                                message="cannot write nowhere/page.html: nowhere is no folder this"),
    "a page under a file": dict(args=["model.npz", "good.txt", "-o", "good.txt/page.html"],
                                status=1, message="cannot write good.txt/page.html: good.txt is no folder"),
    "a folder for a page": dict(args=["model.npz", "good.txt", "-o", "folder"], status=1,
                                message="folder is not a regular file (a link, a folder, a device?)"),
    "the page over the checkpoint": dict(args=["model.npz", "good.txt", "-o", "model.npz"],
                                         status=1,
                                         message="the page model.npz would overwrite an input"),
    "the page through a link to the checkpoint": dict(
        args=["model.npz", "good.txt", "-o", "link.html"], status=1,
        message="link.html is not a regular file (a link, a folder, a device?)"),
    "a FIFO where the page's temporary goes": dict(
        args=["model.npz", "good.txt", "-o", "page.html"], status=1,
        message="page.html.tmp is not a regular file (a link, a folder, a device?)"),
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


def test_a_signal_stops_it_at_once_in_one_line(model, tmp_path, signum=signal.SIGTERM):
    """While it reads its text (a FIFO that nothing is written to), and no page is left."""
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, str(ROOT / "visualize.py"), str(model[0]), str(fifo),
                             "-o", str(tmp_path / "page.html")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=script_env())
    with open(fifo, "w"):  # returns once it has opened the FIFO for reading
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out, err) == (128 + signum, b"", b"visualize.py: stopped at once\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.txt"]


STDOUTS = {
    "a full disk": ("/dev/full", "visualize.py: cannot write to stdout (No space left on "
                                 "device); stopped"),
    "closed": (None, "visualize.py: error: stdout is closed; give it a file or a pipe to print "
                     "to"),  # None: what Python makes of a closed fd 1
}


@pytest.mark.parametrize("path,message", STDOUTS.values(), ids=STDOUTS.keys())
def test_a_stdout_that_cannot_be_written_gets_one_line(capsys, monkeypatch, model, tmp_path,
                                                       path, message):
    (tmp_path / "text.txt").write_text("The tower went up.", encoding="utf-8")
    with open(path or os.devnull, "w") as stdout:
        monkeypatch.setattr(sys, "stdout", path and stdout)
        status, _, err = run_visualize(capsys, model[0], tmp_path / "text.txt", "-o",
                                       tmp_path / "page.html")
    assert (status, err) == (1, message + "\n")
    assert (tmp_path / "page.html").exists() == (path is not None)


def test_the_script_runs_as_a_user_runs_it(model, tmp_path):
    """From the folder of its files, with the environment as it is."""
    (tmp_path / "text.txt").write_text("The tower went up.", encoding="utf-8")
    (tmp_path / "m.npz").write_bytes(model[0].read_bytes())
    result = subprocess.run([sys.executable, str(ROOT / "visualize.py"), "m.npz", "text.txt"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert summary(result.stdout)[:2] == ("text.txt", 18) and (tmp_path / "m.html").exists()


def test_the_log_softmax_stays_finite_where_exp_overflows():
    logits = np.array([[1000.0, -1000.0], [999.0, -1001.0], [0.0, -2000.0]])
    expected = np.array([[-math.log1p(math.exp(-1)), -math.log1p(math.exp(-1))],
                         [-1 - math.log1p(math.exp(-1)), -1 - math.log1p(math.exp(-1))],
                         [-1000 - math.log1p(math.exp(-1)), -1000 - math.log1p(math.exp(-1))]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(visualize.log_softmax(logits), expected, rtol=1e-12)


def test_memory_is_bounded_by_the_model_not_by_its_vocabulary(tmp_path):
    """A model of 100,000 characters is read in blocks of 10 steps, its logits taking 8 MB
    a block, and only the five best guesses of each shown character are kept: within 2 GB."""
    chars = [chr(c) for c in range(0x20000, 0x20000 + 100_000)]
    state = init_training(chars, 0, hidden_size=2)
    with Checkpoint(str(tmp_path / "wide.npz"), fresh=True) as checkpoint:
        checkpoint.save(state)
    (tmp_path / "text.txt").write_text("".join(chars[::2000]), encoding="utf-8")
    result = run_script(tmp_path / "wide.npz", tmp_path / "text.txt", "--chars", 1,
                        script=ROOT / "visualize.py", preexec_fn=limit_memory(2000))
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout)[1] == 50


@pytest.mark.parametrize("hidden_size,vocab_size", [(2, 20_000), (100, 2000)])
def test_a_block_of_steps_takes_at_most_block_numbers(monkeypatch, hidden_size, vocab_size):
    """Its states (H a step) and logits (V a step) take at most BLOCK_NUMBERS numbers, so that
    memory is bounded by the model, whatever its vocabulary, and the text's length."""
    rng = np.random.RandomState(0)
    params, blocks = small_model(rng, hidden_size, vocab_size, 0.1), []
    read = visualize.hidden_states
    monkeypatch.setattr(visualize, "hidden_states",
                        lambda h, ixes, params: blocks.append(len(ixes)) or read(h, ixes, params))
    steps = visualize.BLOCK_NUMBERS // (hidden_size + vocab_size)  # 52, and 499
    count = visualize.evaluate(iter(rng.randint(vocab_size, size=2 * steps + 3)), params, 1)[0]
    assert blocks == [steps, steps, 3] and count == 2 * steps + 3
