"""lossFun against independent computations: central differences and two worked examples;
and the gradient check a learner runs, tests/gradient_check.py."""
import math
import re

import numpy as np
import pytest

import gradient_check
from conftest import INPUT, small_model
from gradient_check import central_difference
from min_char_rnn import lossFun


def numerical_gradients(inputs, targets, hprev, params):
    """Central differences for every entry of every parameter."""
    grads = []
    for param in params:
        grad = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            grad[i] = central_difference(inputs, targets, hprev, params, param, i)
        grads.append(grad)
    return grads


def chunk(rng, vocab_size, length):
    ixes = rng.randint(vocab_size, size=length + 1).tolist()
    return ixes[:-1], ixes[1:]


CASES = {  # the scales: of the inputs (and of hprev), of the recurrent and the output weights
    "one step": dict(hidden_size=4, vocab_size=3, length=1, scale=0.1, recurrent=0.1,
                     output=0.1),
    "a chunk: dhnext carries the gradient back": dict(hidden_size=5, vocab_size=4, length=16,
                                                      scale=0.5, recurrent=0.3, output=0.5),
    "a long chunk through a bent tanh": dict(hidden_size=6, vocab_size=5, length=30, scale=2.0,
                                             recurrent=0.3, output=0.3),
    "gist-sized weights": dict(hidden_size=8, vocab_size=6, length=25, scale=0.01,
                               recurrent=0.01, output=0.01),
}


def case(hidden_size, vocab_size, length, scale, recurrent, output):
    rng = np.random.RandomState(length)
    params = small_model(rng, hidden_size, vocab_size, scale, recurrent, output)
    hprev = rng.randn(hidden_size, 1) * scale
    return (*chunk(rng, vocab_size, length), hprev, params)


@pytest.mark.parametrize("name", CASES)
def test_every_gradient_entry_matches_central_differences(name):
    inputs, targets, hprev, params = case(**CASES[name])
    loss, *analytic, hlast = lossFun(inputs, targets, hprev, params)
    assert max(np.abs(g).max() for g in analytic) < 5  # nothing clipped in these cases
    assert (np.abs(hlast).max() > 0.99) == ("bent" in name)  # only that one leaves tanh's middle
    numerical = numerical_gradients(inputs, targets, hprev, params)
    for name, a, n in zip("Wxh Whh Why bh by".split(), analytic, numerical):
        # atol: the rounding error of a difference of two losses of about 50, over 2e-5
        np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-8, err_msg=name)


def test_clipped_gradients_equal_clipped_central_differences():
    """A model sure of a character that never comes: d loss / d by for it is the sum of its
    probability over 40 steps, about 40, so clipping must engage."""
    rng = np.random.RandomState(1)
    params = small_model(rng, 4, 3, 0.5)
    params[4][0] = 8.0  # by: character 0 gets almost all the probability
    inputs = rng.randint(1, 3, size=40).tolist()
    targets = rng.randint(1, 3, size=40).tolist()  # never character 0
    hprev = np.zeros((4, 1))
    analytic = lossFun(inputs, targets, hprev, params)[1:6]
    numerical = numerical_gradients(inputs, targets, hprev, params)
    assert numerical[4][0, 0] > 30  # the unclipped value
    assert analytic[4][0, 0] == 5.0
    for name, a, n in zip("Wxh Whh Why bh by".split(), analytic, numerical):
        assert np.abs(a).max() <= 5
        np.testing.assert_allclose(a, np.clip(n, -5, 5), rtol=1e-6, atol=1e-9, err_msg=name)


def test_random_entries_at_the_gist_sizes(input_text):
    """The check that circulated with the gist: random entries, relative error |a-n|/(|a|+|n|).
    An entry whose analytic gradient is exactly zero (a column of Wxh for a character not in
    the chunk) must have an exactly zero numerical gradient too, instead of giving 0/0."""
    chars = sorted(set(input_text))
    char_to_ix = {ch: i for i, ch in enumerate(chars)}
    rng = np.random.RandomState(0)
    params = small_model(rng, 100, len(chars), 0.01)
    ixes = [char_to_ix[ch] for ch in input_text[1000:1026]]
    inputs, targets, hprev = ixes[:-1], ixes[1:], np.zeros((100, 1))
    analytic = lossFun(inputs, targets, hprev, params)[1:6]
    zeros_seen = 0
    for param, dparam in zip(params, analytic):
        for _ in range(20):
            i = tuple(rng.randint(s) for s in param.shape)
            a, n = dparam[i], central_difference(inputs, targets, hprev, params, param, i)
            if a == 0:
                assert n == 0
                zeros_seen += 1
            else:
                assert abs(a - n) / (abs(a) + abs(n)) < 1e-5 or abs(a - n) < 1e-10
    assert zeros_seen > 0  # Wxh has such columns: len(chars) > 25 distinct inputs


LN3 = math.log(3)
WORKED_EXAMPLES = {  # Whh, Wxh[0, 1]; dbh, dWxh[0, 0]: docs/bptt.md works out each by hand
    "one neuron, two steps": (0.0, 0.0, 5 * LN3 / 8, -3 * LN3 / 8),
    "through time: Whh = 1": (1.0, -0.5, 11 * LN3 / 8, 3 * LN3 / 8),
}


@pytest.mark.parametrize("whh,wxh,dbh_by_hand,dwxh_by_hand", WORKED_EXAMPLES.values(),
                         ids=WORKED_EXAMPLES.keys())
def test_known_answer(whh, wxh, dbh_by_hand, dwxh_by_hand):
    """One neuron, two characters, two steps, with round numbers ("A worked example, by hand");
    then with Whh = 1 and Wxh[0, 1] = -1/2, so that the forward pass is the same, dhnext = ln 3
    reaches step 0 ("A second worked example: the gradient through time")."""
    params = (np.array([[math.atanh(0.5), wxh]]), np.full((1, 1), whh),
              np.array([[2 * LN3], [0.0]]), np.zeros((1, 1)), np.zeros((2, 1)))
    loss, dWxh, dWhh, dWhy, dbh, dby, hlast = lossFun([0, 1], [0, 1], np.zeros((1, 1)), params)
    assert loss == pytest.approx(math.log(8 / 3), rel=1e-14)
    assert hlast == pytest.approx(0, abs=1e-15)
    np.testing.assert_allclose(dby, [[0.25], [-0.25]], rtol=1e-14)
    np.testing.assert_allclose(dWhy, [[-0.125], [0.125]], rtol=1e-14)
    np.testing.assert_allclose(dbh, [[dbh_by_hand]], rtol=1e-14)
    np.testing.assert_allclose(dWxh, [[dwxh_by_hand, LN3]], rtol=1e-14)
    np.testing.assert_allclose(dWhh, [[LN3 / 2]], rtol=1e-14)
    # and the state after one step is the first hidden state, 1/2
    assert lossFun([0], [0], np.zeros((1, 1)), params)[-1] == pytest.approx(0.5, rel=1e-14)


LINE = re.compile(r"(-?\d+\.\d{6}), (-?\d+\.\d{6}) => (\d\.\d{6}e[-+]\d\d)")
HEADER = re.compile(r"(\w+) \((\d+) x (\d+)\): (\d+) random entries of the (\d+) neither 0 nor "
                    r"clipped")


def matched(lines):
    """gradient_check's output: its header lines and its check lines, as matches."""
    return ([HEADER.fullmatch(line) for line in lines if HEADER.fullmatch(line)],
            [LINE.fullmatch(line) for line in lines if LINE.fullmatch(line)])


def test_the_gradient_check_prints_small_relative_errors(capsys):
    """python tests/gradient_check.py: five entries of each parameter, alike to the decimals
    shown, relative errors below 1e-6; Wxh's zero columns (characters not read) left out."""
    read = set(INPUT.read_text(encoding="utf-8")[:25])
    gradient_check.main([str(INPUT)])
    lines = capsys.readouterr().out.splitlines()
    headers, checks = matched(lines)
    assert lines[0] == "data has 37809 characters, 61 unique."
    assert [h.group(1, 4) for h in headers] == [(name, "5") for name in "Wxh Whh Why bh by".split()]
    assert [h[5] for h in headers[:2]] == [str(10 * len(read)), "100"]
    assert len(checks) == 25 == len(lines) - 3 - len(headers)
    numerical, analytic, errors = (np.array([float(m[i]) for m in checks]) for i in (1, 2, 3))
    assert np.abs(numerical - analytic).max() <= 1e-6
    assert errors.max() < 1e-6


def test_the_gradient_check_leaves_zero_and_clipped_entries_out(capsys):
    """Character 0 is never read (Wxh's column 0 is 0), and by[0] = 8 expects it: d loss / d
    by[0], about 8, is clipped to 5. 20 entries of Wxh are left to check, and 2 of by."""
    rng = np.random.RandomState(1)
    params = small_model(rng, 10, 3, 0.5)
    params[4][0] = 8.0
    inputs, targets, hprev = [1, 2, 2, 1, 1, 2, 1, 2], [2, 2, 1, 1, 2, 1, 2, 1], np.zeros((10, 1))
    assert central_difference(inputs, targets, hprev, params, params[4], (0, 0)) > 7.9
    gradient_check.check(inputs, targets, hprev, params, rng, checks=3)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Wxh (10 x 3): 3 random entries of the 20 neither 0 nor clipped"
    assert lines[-3] == "by (3 x 1): 2 random entries of the 2 neither 0 nor clipped"
    errors = [float(m[3]) for m in matched(lines)[1]]
    assert len(errors) == 14
    assert max(errors) < 1e-6


def test_a_chunk_is_two_halves_joined_by_the_returned_state():
    """The state lossFun returns is the state after the last input: feeding it to the second
    half of a chunk gives the loss of the whole chunk."""
    rng = np.random.RandomState(3)
    params = small_model(rng, 6, 5, 0.8)
    hprev = rng.randn(6, 1) * 0.5
    inputs, targets = chunk(rng, 5, 20)
    whole = lossFun(inputs, targets, hprev, params)
    first = lossFun(inputs[:8], targets[:8], hprev, params)
    second = lossFun(inputs[8:], targets[8:], first[-1], params)
    assert first[0] + second[0] == pytest.approx(whole[0], rel=1e-13)
    np.testing.assert_array_equal(second[-1], whole[-1])


def test_lossFun_changes_none_of_its_arguments():
    rng = np.random.RandomState(4)
    params = small_model(rng, 5, 4, 0.5)
    hprev = rng.randn(5, 1)
    inputs, targets = chunk(rng, 4, 10)
    before = [p.copy() for p in params], hprev.copy(), list(inputs), list(targets)
    out = lossFun(inputs, targets, hprev, params)
    for p, b in zip(params, before[0]):
        np.testing.assert_array_equal(p, b)
    np.testing.assert_array_equal(hprev, before[1])
    assert (inputs, targets) == (before[2], before[3])
    assert not any(np.shares_memory(o, x) for o in out[1:] for x in (*params, hprev))
