"""The training loop: the gist's output digit for digit, its data pointer, state and update."""
import subprocess
import sys

import numpy as np
import pytest

import min_char_rnn
from conftest import ROOT, golden, run_main
from min_char_rnn import init_model, lossFun, train, vocabulary
from reference import gist_stdout


def many_scripts_text(length=4000):
    """A text of several hundred distinct characters, nearly all outside ASCII."""
    rng = np.random.RandomState(5)
    alphabet = ([chr(c) for c in range(0x391, 0x3CA)] + [chr(c) for c in range(0x410, 0x450)]
                + [chr(c) for c in range(0x4E00, 0x4F00)] + list(" \n,."))
    weights = 1 / np.arange(1, len(alphabet) + 1)  # a few common characters, many rare ones
    picks = rng.choice(len(alphabet), size=length, p=weights / weights.sum())
    return "".join(alphabet[i] for i in picks)


# name: text (a path under ROOT, or a function), seed, iterations, hidden, seq_length, rate
AGAINST_THE_GIST = {
    "input.txt": ("input.txt", 3, 301, 40, 20, 0.1),
    "a short text, wrapping every few iterations": (
        lambda: "the cat sat on the mat; the rat ran at the cat.\n", 11, 420, 16, 7, 0.05),
    "hundreds of non-ASCII characters": (many_scripts_text, 2, 201, 30, 12, 0.1),
}


@pytest.mark.parametrize("text,seed,iters,hidden,seq,rate", AGAINST_THE_GIST.values(),
                         ids=AGAINST_THE_GIST.keys())
def test_stdout_is_the_gists(capsys, tmp_path, text, seed, iters, hidden, seq, rate):
    if callable(text):
        path = tmp_path / "text.txt"
        path.write_text(text(), encoding="utf-8")
    else:
        path = ROOT / text
    data = path.read_text(encoding="utf-8")
    if text is many_scripts_text:
        assert len(set(data)) > 300
    status, out, err = run_main(capsys, path, "--seed", seed, "--max-iters", iters,
                                "--hidden-size", hidden, "--seq-length", seq,
                                "--learning-rate", rate)
    assert status == 0
    assert out == gist_stdout(data, seed, iters, hidden, seq, rate)


def test_golden_first_200_iterations(capsys, shakespeare):
    """The part of the reference output that the gist prints on any processor and numpy: three
    samples and three loss lines."""
    whole = golden("tinyshakespeare_seed0_iters3000.txt")
    expected = whole[:whole.index("\n", whole.index("iter 200, loss:")) + 1]
    status, out, err = run_main(capsys, shakespeare, "--seed", 0, "--max-iters", 201)
    assert status == 0
    assert out == expected


def test_golden_seed7_whole(capsys, shakespeare):
    expected = golden("tinyshakespeare_seed7_iters1000_h50_s10_lr0.05.txt")
    status, out, err = run_main(capsys, shakespeare, "--seed", 7, "--max-iters", 1000,
                                "--hidden-size", 50, "--seq-length", 10, "--learning-rate", 0.05)
    assert status == 0
    assert out == expected


def test_recorded_run_on_input_txt(capsys):
    """The gist's stdout on input.txt with the defaults and seed 1, recorded in tests/."""
    expected = (ROOT / "tests" / "expected" / "input_seed1_iters201.txt").read_text()
    status, out, err = run_main(capsys, ROOT / "input.txt", "--seed", 1, "--max-iters", 201)
    assert status == 0
    assert out == expected


def test_the_vocabulary_does_not_depend_on_the_hash_seed(input_text):
    """list(set(data)) comes out in another order in every process: sorting fixes it."""
    code = ("import sys, min_char_rnn; "
            "print(min_char_rnn.vocabulary(open(sys.argv[1], encoding='utf-8').read()))")
    outputs = {subprocess.run([sys.executable, "-c", code, str(ROOT / "input.txt")], cwd=ROOT,
                              env={"PYTHONHASHSEED": str(seed)}, capture_output=True, text=True,
                              check=True).stdout for seed in (1, 2, 3)}
    assert outputs == {repr(sorted(set(input_text))) + "\n"}


def one_iteration_at_a_time(data, state, iterations):
    """Run train one iteration per call (as a stop and resume would) and yield the state
    before and after each."""
    for k in range(iterations):
        before = {key: (v.copy() if isinstance(v, np.ndarray) else v) for key, v in state.items()}
        train(data, state, max_iters=k + 1)
        yield before, state


@pytest.mark.parametrize("length,expected_p", [
    (12, [5, 10, 5, 10, 5, 10]),  # room for the chunk at 5: 5 + 5 + 1 < 12
    (11, [5, 5, 5, 5, 5, 5]),  # 5 + 5 + 1 = 11: the gist skips it, though it would just fit
    (6, [5, 5, 5, 5, 5, 5]),  # the shortest text there can be: seq_length + 1
])
def test_data_pointer_and_reset(capsys, length, expected_p):
    data = "abcdefghijklmnop"[:length]
    state = init_model(vocabulary(data), 4, 5, 0.1, seed=0)
    seen = [after["p"] for before, after in one_iteration_at_a_time(data, state, 6)]
    assert seen == expected_p


def test_the_state_is_carried_from_chunk_to_chunk_and_forgotten_at_a_reset(capsys):
    """Each iteration starts from the state the previous one returned, except at the start of a
    pass over the text, where it starts from zeros: checked against lossFun itself."""
    data = "a short text to go round and round."
    seq = 6
    state = init_model(vocabulary(data), 8, seq, 0.1, seed=0)
    char_to_ix = {ch: i for i, ch in enumerate(state["chars"])}
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
        params = tuple(before[k] for k in min_char_rnn.PARAMS)
        loss, *grads, hlast = lossFun(inputs, targets, hprev, params)
        np.testing.assert_array_equal(after["hprev"], hlast)
        assert after["smooth_loss"] == before["smooth_loss"] * 0.999 + loss * 0.001
        assert after["p"] == p + seq
    assert resets == 3  # 35 characters: chunks at 0, 6, 12, 18, 24, then back to 0


def test_adagrad_updates_the_arrays_in_place(capsys):
    data = "in place, in place, in place."
    state = init_model(vocabulary(data), 6, 5, 0.1, seed=0)
    names = [k for k in min_char_rnn.PARAMS] + ["m" + k for k in min_char_rnn.PARAMS]
    arrays = {k: state[k] for k in names}
    values = {k: state[k].copy() for k in names}
    train(data, state, max_iters=3)
    for k in names:
        assert state[k] is arrays[k], k
        assert not np.array_equal(arrays[k], values[k]), k


def test_one_adagrad_step_by_hand(capsys):
    """Iteration 0, worked out from lossFun: mem = g*g, param -= 0.1 * g / sqrt(g*g + 1e-8)."""
    data = "adagrad by hand."
    state = init_model(vocabulary(data), 5, 4, 0.1, seed=3)
    params = [state[k].copy() for k in min_char_rnn.PARAMS]
    char_to_ix = {ch: i for i, ch in enumerate(state["chars"])}
    ixes = [char_to_ix[ch] for ch in data[:5]]
    grads = lossFun(ixes[:-1], ixes[1:], np.zeros((5, 1)), params)[1:6]
    train(data, state, max_iters=1)
    for k, param, g in zip(min_char_rnn.PARAMS, params, grads):
        np.testing.assert_array_equal(state["m" + k], g * g)
        np.testing.assert_array_equal(state[k], param + -0.1 * g / np.sqrt(g * g + 1e-8))


def test_a_blow_up_stops_with_the_iteration(capsys):
    data = "a learning rate of a million goes nowhere good."
    state = init_model(vocabulary(data), 10, 8, 1e6, seed=0)
    with pytest.raises(min_char_rnn.Diverged) as e:
        train(data, state, max_iters=100)
    assert 0 < e.value.n < 100
