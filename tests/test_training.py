"""The training loop: the gist's output digit for digit, its data pointer, state and update,
and the history it keeps."""
import re

import numpy as np
import pytest

import min_char_rnn
from conftest import INPUT, SHORT_TEXT, run_main, train_to
from min_char_rnn import PARAMS, char_maps, init_training, lossFun
from reference import gist_stdout


def many_scripts_text(length=4000):
    """A text of several hundred distinct characters, nearly all outside ASCII."""
    rng = np.random.RandomState(5)
    alphabet = ([chr(c) for c in range(0x391, 0x3CA)] + [chr(c) for c in range(0x410, 0x450)]
                + [chr(c) for c in range(0x4E00, 0x4F00)] + list(" \n,."))
    weights = 1 / np.arange(1, len(alphabet) + 1)  # a few common characters, many rare ones
    picks = rng.choice(len(alphabet), size=length, p=weights / weights.sum())
    text = "".join(alphabet[i] for i in picks)
    assert len(set(text)) > 300
    return text


AGAINST_THE_GIST = {
    "input.txt, the gist's sizes": dict(text=lambda: INPUT.read_text(encoding="utf-8"), seed=1,
                                        iters=201),
    "a short text, wrapping every 7 iterations, short samples": dict(
        text=lambda: SHORT_TEXT, seed=11, iters=201, hidden_size=16, seq_length=7,
        learning_rate=0.05, sample_length=37),
    "hundreds of non-ASCII characters": dict(text=many_scripts_text, seed=2, iters=101,
                                             hidden_size=30, seq_length=12, learning_rate=0.1),
}


@pytest.mark.parametrize("case", AGAINST_THE_GIST.values(), ids=AGAINST_THE_GIST.keys())
def test_stdout_is_the_gists_on_this_machine(capsys, tmp_path, case):
    """What the script prints is what the gist's arithmetic prints, computed here: other CPUs
    and numpy builds round the last bit differently, and the loop grows that into digits."""
    settings = {k: v for k, v in case.items() if k != "text"}
    data = case["text"]()
    path = tmp_path / "text.txt"
    path.write_text(data, encoding="utf-8")
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in settings.items() if k != "iters"]
    status, out, err = run_main(capsys, path, f"--max-iters={case['iters']}", *flags)
    assert status == 0
    assert out == gist_stdout(data, **settings)


def test_the_vocabulary_is_sorted(capsys, input_text):
    """A set's order changes from process to process (strings hash with a random seed): the
    characters are sorted so that a seed draws the same run everywhere."""
    data, chars = min_char_rnn.read_data(INPUT)
    assert data == input_text and chars == sorted(set(input_text))
    assert capsys.readouterr().out == f"data has {len(data)} characters, {len(chars)} unique.\n"


def one_iteration_at_a_time(data, state, iterations):
    """Yield the state before and after each of the first iterations of training."""
    for k in range(iterations):
        before = {key: (v.copy() if isinstance(v, np.ndarray) else v) for key, v in state.items()}
        train_to(data, state, k + 1)
        yield before, state


@pytest.mark.parametrize("length,expected_p", [
    (12, [5, 10, 5, 10, 5, 10]),  # room for the chunk at 5: 5 + 5 + 1 < 12
    (11, [5, 5, 5, 5, 5, 5]),  # 5 + 5 + 1 = 11: the gist skips it, though it would just fit
    (6, [5, 5, 5, 5, 5, 5]),  # the shortest text there can be: seq_length + 1
])
def test_data_pointer_and_reset(capsys, length, expected_p):
    data = "abcdefghijklmnop"[:length]
    state = init_training(sorted(set(data)), 0, hidden_size=4, seq_length=5)
    seen = [after["p"] for before, after in one_iteration_at_a_time(data, state, 6)]
    assert seen == expected_p


def test_the_state_is_carried_from_chunk_to_chunk_and_forgotten_at_a_reset(capsys):
    """Each iteration starts from the state the previous one returned, except at the start of a
    pass over the text, where it starts from zeros: checked against lossFun itself."""
    data = "a short text to go round and round."
    seq = 6
    state = init_training(sorted(set(data)), 0, hidden_size=8, seq_length=seq)
    char_to_ix, ix_to_char = char_maps(state["chars"])
    resets = 0
    for before, after in one_iteration_at_a_time(data, state, 14):
        p = before["p"]
        if p + seq + 1 >= len(data) or before["n"] == 0:
            p, hprev = 0, np.zeros((8, 1))
            resets += 1
        else:
            hprev = before["hprev"]
            assert np.abs(hprev).max() > 0
        inputs = [char_to_ix[ch] for ch in data[p:p + seq]]
        targets = [char_to_ix[ch] for ch in data[p + 1:p + seq + 1]]
        params = tuple(before[k] for k in PARAMS)
        loss, *grads, hlast = lossFun(inputs, targets, hprev, params)
        np.testing.assert_array_equal(after["hprev"], hlast)
        assert after["smooth_loss"] == before["smooth_loss"] * 0.999 + loss * 0.001
        assert after["p"] == p + seq and after["n"] == before["n"] + 1
    assert resets == 3  # 35 characters: chunks at 0, 6, 12, 18, 24, then back to 0


def test_adagrad_updates_the_arrays_in_place(capsys):
    data = "in place, in place, in place."
    state = init_training(sorted(set(data)), 0, hidden_size=6, seq_length=5)
    names = [k for k in PARAMS] + ["m" + k for k in PARAMS]
    arrays = {k: state[k] for k in names}
    values = {k: state[k].copy() for k in names}
    train_to(data, state, 3)
    for k in names:
        assert state[k] is arrays[k], k
        assert not np.array_equal(arrays[k], values[k]), k


def test_one_adagrad_step_by_hand(capsys):
    """Iteration 0, worked out from lossFun: mem = g*g, param -= 0.1 * g / sqrt(g*g + 1e-8)."""
    data = "adagrad by hand."
    state = init_training(sorted(set(data)), 3, hidden_size=5, seq_length=4)
    params = [state[k].copy() for k in PARAMS]
    char_to_ix, ix_to_char = char_maps(state["chars"])
    ixes = [char_to_ix[ch] for ch in data[:5]]
    grads = lossFun(ixes[:-1], ixes[1:], np.zeros((5, 1)), params)[1:6]
    train_to(data, state, 1)
    for k, param, g in zip(PARAMS, params, grads):
        np.testing.assert_array_equal(state["m" + k], g * g)
        np.testing.assert_array_equal(state[k], param + -0.1 * g / np.sqrt(g * g + 1e-8))


def test_a_blow_up_raises_where_it_happens(capsys):
    data = "a learning rate of a million goes nowhere good."
    state = init_training(sorted(set(data)), 0, hidden_size=10, seq_length=8,
                          learning_rate=1e6)
    with pytest.raises(FloatingPointError):
        train_to(data, state, 100)
    assert 0 < state["n"] < 100


def test_the_first_sample_is_drawn_from_the_first_input(capsys):
    """Iteration 0 samples sample_length characters from a zero state, seeded by the first
    character of the text, with the generator right after the parameters were drawn."""
    data = "sampling starts here, and here it starts sampling."
    state = init_training(sorted(set(data)), 6, hidden_size=9, seq_length=10, sample_length=33)
    rng = np.random.RandomState(6)
    rng.randn(9 * state["Wxh"].shape[1] + 81 + state["Why"].size)  # what init_model drew
    params = tuple(state[k].copy() for k in PARAMS)
    char_to_ix, ix_to_char = char_maps(state["chars"])
    expected = min_char_rnn.sample(np.zeros((9, 1)), char_to_ix["s"], 33, params, rng)
    train_to(data, state, 1)
    sample_line = capsys.readouterr().out.split("\n")[1]
    assert sample_line == " " + "".join(ix_to_char[ix] for ix in expected) + " "


def test_the_history_kept_is_what_the_run_printed(capsys):
    """At each `iter` line the loop keeps (n, smooth_loss, the mean of the chunks' own losses
    since the line before), and the sample at iteration 0 and each 100 * 2**k: 0, 100, 200."""
    state = init_training(sorted(set(SHORT_TEXT)), 3, hidden_size=4, seq_length=3,
                          sample_length=30)
    smooth_losses = [state["smooth_loss"]]
    for n in range(301):
        train_to(SHORT_TEXT, state, n + 1)
        smooth_losses.append(state["smooth_loss"])
    # each chunk's own loss, from smooth_loss = smooth_loss * 0.999 + loss * 0.001
    chunk_losses = [(after - before * 0.999) / 0.001
                    for before, after in zip(smooth_losses, smooth_losses[1:])]
    printed = re.findall(r"----\n (.*?) \n----\niter (\d+), loss: (\d+\.\d{6})\n",
                         capsys.readouterr().out, re.DOTALL)
    assert [int(n) for sample, n, loss in printed] == [0, 100, 200, 300]
    assert [(n, "%f" % smooth) for n, smooth, raw in state["losses"]] == [
        (int(n), loss) for sample, n, loss in printed]
    means = [chunk_losses[0]] + [np.mean(chunk_losses[n - 99:n + 1]) for n in (100, 200, 300)]
    assert [raw for n, smooth, raw in state["losses"]] == pytest.approx(means, rel=1e-9)
    assert state["samples"] == [(int(n), sample) for sample, n, loss in printed if n != "300"]
    assert all(len(sample) == 30 for n, sample in state["samples"])
