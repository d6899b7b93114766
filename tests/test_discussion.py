"""The generated discussion (lenetcli/studies/discussion.py) on hand-made numbers: every
sentence states what its numbers show, and only that."""

import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lenetcli.studies import discussion


def welch_p_by_hand(a, b) -> float:
    """Welch's t and the Welch-Satterthwaite degrees of freedom, two-sided, from the
    formulas (not from ttest_ind)."""
    a, b = np.asarray(a), np.asarray(b)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return 2 * stats.t.sf(abs(t), df)


# --------------------------------------------------------------------------- options


def test_a_significant_difference_says_so_with_the_test_and_level():
    samples = {"sigmoid": [95.0, 95.2, 94.9], "relu": [99.0, 99.1, 99.2]}
    best, versus = discussion.compare_options("activation", samples)
    assert best.text.startswith("activation: of 2 settings, relu had the highest mean final")
    assert "99.10% ± 0.10 over 3 seeds" in best.text
    assert best.numbers["relu_mean"] == pytest.approx(99.1)
    p = welch_p_by_hand(samples["relu"], samples["sigmoid"])
    assert p < 0.05
    assert versus.numbers["p_value"] == pytest.approx(p)
    assert versus.numbers["difference"] == pytest.approx(99.1 - 95.0333333)
    assert "relu against sigmoid (95.03%): a difference of 4.07 points" in versus.text
    assert "significant at the 5% level (two-sided Welch t-test, p < 0.001)" in versus.text
    assert "not significant" not in versus.text


def test_a_difference_within_the_seeds_spread_is_not_significant():
    samples = {"mse": [98.0, 99.0, 98.5], "cross-entropy": [98.2, 98.9, 98.1]}
    best, versus = discussion.compare_options("loss", samples)
    assert "mse had the highest mean" in best.text
    p = welch_p_by_hand(samples["mse"], samples["cross-entropy"])
    assert p > 0.05
    assert versus.numbers["p_value"] == pytest.approx(p)
    assert f"not significant at the 5% level (two-sided Welch t-test, p = {p:.3f})" in versus.text
    assert versus.text.endswith(f"p = {p:.3f}).")  # not significant says only that


def test_the_test_is_welchs_not_students():
    # unequal spreads and sizes: Student's pooled variance gives another p
    a, b = [90.0, 90.1, 89.9, 90.05, 89.95], [88.0, 92.0, 86.0]
    test = discussion.welch(a, b)
    assert test.p == pytest.approx(welch_p_by_hand(a, b))
    assert test.p != pytest.approx(stats.ttest_ind(a, b, equal_var=True).pvalue, rel=0.05)


def test_several_comparisons_are_said_to_be_uncorrected():
    samples = {"relu": [99.0, 99.1], "tanh": [98.0, 98.4], "elu": [98.8, 99.0]}
    sentences = discussion.compare_options("activations", samples)
    assert sentences[0].text.endswith(
        "Each other setting is compared with it on its own, uncorrected for the 2 comparisons."
    )
    assert [s.text.split(" against ")[1].split(" ")[0] for s in sentences[1:]] == ["elu", "tanh"]
    two = discussion.compare_options("activations", {"relu": [99.0, 99.1], "tanh": [98.0, 98.4]})
    assert "uncorrected" not in two[0].text


def test_a_side_without_spread_is_tested_on_the_other_sides_without_a_warning():
    stuck, learned = [9.75, 9.75, 9.75], [76.0, 77.5, 76.5]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        test = discussion.welch(learned, stuck)
    # Welch with one variance 0: t = difference / sqrt(var_b / n_b), n_b - 1 degrees of freedom
    t = (np.mean(learned) - 9.75) / math.sqrt(np.var(learned, ddof=1) / 3)
    assert test.p == pytest.approx(2 * stats.t.sf(t, 2))


def test_with_one_run_on_a_side_no_test_is_possible():
    best, versus = discussion.compare_options("loss", {"l1": [97.0], "mse": [98.0, 98.2]})
    assert "no test was possible (fewer than 2 runs on a side)" in versus.text
    assert "p_value" not in versus.numbers and "significant" not in versus.text
    flat = discussion.compare_options("loss", {"a": [97.0, 97.0], "b": [96.0, 96.0]})
    assert "no test was possible (neither side varies between seeds)" in flat[1].text


def test_lower_is_better_for_a_gap():
    gaps = {"wd0": [3.0, 3.2, 2.9], "wd0.001": [1.0, 1.1, 0.8]}
    best, versus = discussion.compare_options(
        "weight decay", gaps, "train-test gap", higher_is_better=False, unit=" points"
    )
    assert "wd0.001 had the lowest mean train-test gap: 0.97 points ± 0.15" in best.text
    assert "wd0.001 against wd0 (3.03 points)" in versus.text


# --------------------------------------------------------------------------- noise


def curve(means):
    return pd.DataFrame({"rate": [0.0, 0.2, 0.4, 0.6, 0.8], "mean": means})


def test_a_noise_curve_with_a_steep_fall_says_where():
    sentence = discussion.noise_fall("symmetric", curve([99.0, 98.0, 97.0, 96.0, 80.0]))
    # drops 1, 1, 1, 16: the others' median 1, the last at least twice that
    assert sentence.numbers["largest_drop"] == pytest.approx(16.0)
    assert sentence.numbers["median_other_drops"] == pytest.approx(1.0)
    assert (sentence.numbers["largest_drop_from"], sentence.numbers["largest_drop_to"]) == (
        0.6,
        0.8,
    )
    assert "from 99.00% at 0% noise to 80.00% at 80%" in sentence.text
    assert (
        "the largest drop between consecutive rates is 16.00 points, from 60% to 80%"
        in sentence.text
    )
    assert (
        "at least 2 times the median of the other drops (1.00 points): the fall steepens there"
        in sentence.text
    )


def test_a_noise_curve_without_a_steep_fall_says_it_is_gradual():
    sentence = discussion.noise_fall("pair", curve([99.0, 97.0, 94.5, 93.0, 91.0]))
    # drops 2, 2.5, 1.5, 2: the others' median 2, largest 2.5 < 4
    assert sentence.numbers["largest_drop"] == pytest.approx(2.5)
    assert "from 20% to 40%" in sentence.text
    gradual = "less than 2 times the median of the other drops (2.00 points): no step is steep"
    assert gradual in sentence.text
    assert "steepens" not in sentence.text


def test_a_steep_second_of_two_drops_is_called_steep():
    # The course's pair noise at 0, 20 and 40% (measured: 98.98, 97.44, 85.15): a fall of
    # 1.54 points, then 12.29. Against the median of both drops (6.91) no step could ever be
    # twice as large; against the other drop it is 8 times as large.
    three = pd.DataFrame({"rate": [0.0, 0.2, 0.4], "mean": [98.98, 97.44, 85.15]})
    sentence = discussion.noise_fall("pair", three)
    assert sentence.numbers["median_other_drops"] == pytest.approx(1.54)
    assert "from 20% to 40%" in sentence.text and "the fall steepens there" in sentence.text


def test_a_fall_in_one_step_against_others_that_do_not_fall_names_no_factor():
    # drops -0.5, 1.5, -1.2, 9.2: the others' median is -0.5, and no multiple of it means much
    sentence = discussion.noise_fall("symmetric", curve([99.0, 99.5, 98.0, 99.2, 90.0]))
    assert sentence.numbers["median_other_drops"] == pytest.approx(-0.5)
    assert "from 60% to 80%, while the median of the other drops is -0.50 points" in sentence.text
    assert "the fall lies in that step" in sentence.text
    assert "times the median" not in sentence.text


def test_classes_tied_in_confused_pairs_come_in_the_pairs_order_in_every_process():
    # the order of tied classes must not follow Python's per-process string hashing
    code = (
        "import pandas as pd; from lenetcli.studies import discussion as d; "
        "p = pd.DataFrame({'true_class': ['4', '9', '3', '5'], "
        "'predicted_class': ['9', '4', '5', '3']}); "
        "print(list(d.shared_classes(p)), d.both_ways(p))"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True, text=True, check=True,
        ).stdout
        for seed in range(6)
    }  # fmt: skip
    assert seen == {"['4', '9', '3', '5'] [('4', '9'), ('3', '5')]\n"}


def test_two_rates_leave_nothing_to_compare_a_step_with():
    two = pd.DataFrame({"rate": [0.4, 0.0], "mean": [90.0, 99.0]})
    sentence = discussion.noise_fall("pair", two)
    assert "from 99.00% at 0% noise to 90.00% at 40%" in sentence.text
    assert "fewer than three rates" in sentence.text


def test_early_stopping_names_where_it_helps_most():
    table = pd.DataFrame(
        {
            "setting": ["none-0", "symmetric-0.4", "symmetric-0.8"],
            "final": [99.0, 95.0, 70.0],
            "peak": [99.1, 97.5, 88.0],
            "peak_epoch": [12.0, 3.4, 2.0],
            "peak_epoch_min": [12, 2, 2],
            "peak_epoch_max": [12, 5, 2],
            "epochs": [15, 15, 15],
        }
    )
    sentence = discussion.early_stopping(table)
    assert sentence.numbers["largest_gain"] == pytest.approx(18.0)
    assert "most at symmetric-0.8: 88.00% at epoch 2 (of 15)" in sentence.text
    assert "against 70.00% after the last epoch, 18.00 points more" in sentence.text
    assert "the least at none-0, 0.10 points" in sentence.text
    assert "chosen on the test set itself" in sentence.text


# --------------------------------------------------------------------------- datasets, pairs


def test_datasets_are_ranked_with_the_gaps_between_them():
    results = pd.DataFrame(
        {
            "dataset": ["cifar10", "mnist", "fashion-mnist"],
            "final_test_acc_mean": [60.0, 99.0, 90.5],
            "final_test_acc_std": [1.0, 0.1, 0.3],
            "n": [5, 5, 5],
        }
    )
    sentence = discussion.dataset_ranking(results)
    assert sentence.text == (
        "Ranked by mean final testing accuracy over 5 seeds: MNIST 99.00% ± 0.10; "
        "Fashion-MNIST 90.50% ± 0.30 (8.50 points below MNIST); "
        "CIFAR-10 60.00% ± 1.00 (30.50 points below Fashion-MNIST)."
    )
    assert sentence.numbers["gap_fashion-mnist_cifar10"] == pytest.approx(30.5)


def test_a_dataset_ranked_twice_is_told_apart_by_its_section():
    # best_of's own dataset trained again in the datasets section: two rows of digits
    results = pd.DataFrame({
        "dataset": ["digits", "digits"], "section": ["2-ds", "1-hp"],
        "final_test_acc_mean": [89.75, 88.5], "final_test_acc_std": [3.18, 1.41], "n": [2, 2],
    })  # fmt: skip
    sentence = discussion.dataset_ranking(results)
    assert "8x8) in 2-ds 89.75% ± 3.18; Digits (scikit-learn 8x8) in 1-hp 88.50%" in sentence.text
    assert sentence.numbers == {
        "digits_2-ds_mean": 89.75, "digits_2-ds_std": 3.18, "digits_1-hp_mean": 88.5,
        "digits_1-hp_std": 1.41, "gap_digits_2-ds_digits_1-hp": pytest.approx(1.25),
    }  # fmt: skip


def pairs(*named):
    return pd.DataFrame(
        {
            "true_class": [a for a, _, _ in named],
            "predicted_class": [b for _, b, _ in named],
            "rate_mean": [r for _, _, r in named],
            "rate_std": [0.001] * len(named),
            "seeds": [5] * len(named),
        }
    )


def test_confused_pairs_say_what_they_share():
    sentence = discussion.confused_pairs(
        "mnist", pairs(("4", "9", 0.02), ("9", "4", 0.015), ("7", "9", 0.01))
    )
    assert "4 → 9 (2.00% ± 0.10 of the images labelled 4), 9 → 4 (1.50% ± 0.10" in sentence.text
    assert "over 5 seeds' models" in sentence.text
    assert "9 is in 3 of the 3 pairs; 4 is in 2 of the 3 pairs" in sentence.text
    assert "4 and 9 are confused both ways" in sentence.text
    assert sentence.numbers["pairs_with_9"] == 3
    assert sentence.numbers["4_as_9_mean"] == pytest.approx(2.0)


def test_confused_pairs_with_nothing_in_common_say_so():
    sentence = discussion.confused_pairs(
        "fashion-mnist", pairs(("Shirt", "T-shirt/top", 0.1), ("Sneaker", "Sandal", 0.05))
    )
    assert sentence.text.endswith("No class is in more than one of them.")
    assert "pairs_with" not in " ".join(sentence.numbers)


def test_the_sentences_become_a_table():
    frame = discussion.sentences_frame(
        [discussion.Sentence("noise", "It fell.", {"drop": 1.5, "p": 0.01234567891234})]
    )
    assert list(frame.columns) == ["topic", "text", "numbers"]
    assert frame["numbers"][0] == "drop=1.5; p=0.01234567891"


def test_a_noise_curve_that_never_falls_is_not_called_gradual():
    curve = pd.DataFrame({"rate": [0.0, 0.2, 0.4], "mean": [90.0, 91.0, 92.0]})
    sentence = discussion.noise_fall("symmetric", curve)
    assert sentence.text.endswith("; it does not fall from any rate to the next.")
    assert "gradual" not in sentence.text and "largest_drop" not in sentence.numbers


def test_early_stopping_that_gains_nothing_says_so():
    table = pd.DataFrame(
        {"setting": ["a", "b"], "final": [90.0, 80.0], "peak": [90.0, 80.0],
         "peak_epoch": [5.0, 5.0], "peak_epoch_min": [5, 5], "peak_epoch_max": [5, 5],
         "epochs": [5, 5]}
    )  # fmt: skip
    sentence = discussion.early_stopping(table)
    assert sentence.text.startswith("Stopping at the epoch of peak test accuracy would not have")
    assert "helped most" not in sentence.text


def test_early_stopping_names_settings_tied_for_the_largest_gain():
    table = pd.DataFrame(
        {"setting": ["a", "b", "c"], "final": [90.0, 80.0, 85.0], "peak": [91.0, 81.0, 85.5],
         "peak_epoch": [3.0, 4.0, 5.0], "peak_epoch_min": [3, 4, 5],
         "peak_epoch_max": [3, 4, 5], "epochs": [5, 5, 5]}
    )  # fmt: skip
    text = discussion.early_stopping(table).text
    assert "helped most at a:" in text and "(as much at b)" in text and "the least at c" in text


def test_options_tied_at_the_top_are_named_as_a_tie():
    best, versus = discussion.compare_options(
        "activation", {"relu": [98.0, 99.0], "elu": [98.0, 99.0]}
    )
    assert best.text == (
        "activation: of 2 settings, relu and elu are tied at the highest mean final testing "
        "accuracy (98.50%); the first, relu (98.50% ± 0.71 over 2 seeds), is compared with "
        "the others."
    )
    assert "a difference of 0.00 points, not significant" in versus.text


# --------------------------------------------------------------------------- as shown


def test_means_equal_but_for_float_rounding_are_a_tie():
    # both 49,436 correct of 5 x 10,000 images: 98.872, one computed 2.8e-14 above the other
    relu, tanh = [99.06, 98.61, 98.99, 98.9, 98.8], [99.06, 98.6, 99.0, 98.9, 98.8]
    assert np.mean(relu) != np.mean(tanh)
    best, versus = discussion.compare_options("activations", {"relu": relu, "tanh": tanh})
    assert "relu and tanh are tied at the highest mean final testing accuracy (98.87%)" in (
        best.text
    )
    assert "the first, relu (98.87% ± 0.18 over 5 seeds)" in best.text
    assert "a difference of 0.00 points" in versus.text
    # a tie keeps the order given, whichever side the float rounding favours
    first = discussion.compare_options("activations", {"tanh": tanh, "relu": relu})[0]
    assert "tanh and relu are tied" in first.text
    assert discussion.best_first({"tanh": np.mean(tanh), "relu": np.mean(relu)}) == [
        "tanh",
        "relu",
    ]


def test_a_stated_difference_is_that_of_the_means_stated_and_p_keeps_its_side_of_alpha():
    relu, tanh = [98.9, 98.99, 98.83, 99.05, 98.95], [98.87, 98.83, 98.59, 98.49, 98.86]
    best, versus = discussion.compare_options("activations", {"relu": relu, "tanh": tanh})
    assert "98.94% ± 0.08" in best.text and "(98.73%)" in versus.text
    # 98.944 - 98.728 = 0.216 would show as 0.22 beside means that differ by 0.21
    assert "a difference of 0.21 points" in versus.text
    assert versus.numbers["difference"] == pytest.approx(0.216)  # the numbers stay unrounded
    # p = 0.04975: 0.050 at 3 decimals beside 'significant' reads as not below 0.05
    assert versus.numbers["p_value"] == pytest.approx(0.04975, abs=1e-5)
    assert "significant at the 5% level (two-sided Welch t-test, p = 0.0498)" in versus.text


def test_p_is_shown_on_its_own_side_of_the_level():
    assert discussion.p_digits(0.012345) == "0.012" and discussion.p_digits(0.5) == "0.500"
    assert discussion.p_digits(0.04975) == "0.0498"
    assert discussion.p_digits(0.0499999) == "0.0499999"
    assert discussion.p_digits(0.0504) == "0.050"  # not below 0.05, as 'not significant' says
    assert discussion.p_text(0.0004) == "p < 0.001"


def test_early_stopping_names_every_setting_tied_for_the_least_gain():
    # the course's report: peak_minus_final shown 0.00 for six settings, one named the least
    settings = ["none-0", "symmetric-0.2", "symmetric-0.4", "pair-0.2", "pair-0.4", "transition"]
    table = pd.DataFrame({
        "setting": [*settings, "symmetric-0.8"],
        "final": [99.0, 98.5, 98.0, 98.6, 97.0, 98.2, 70.0],
        "peak": [99.0, 98.502, 98.0, 98.6, 97.001, 98.2, 88.0],
        "peak_epoch": [15.0] * 6 + [2.0], "peak_epoch_min": [15] * 6 + [2],
        "peak_epoch_max": [15] * 6 + [2], "epochs": [15] * 7,
    })  # fmt: skip
    text = discussion.early_stopping(table).text
    assert (
        "; the least at none-0, symmetric-0.2, symmetric-0.4, pair-0.2, pair-0.4 and "
        "transition (0.00 points each)."
    ) in text


def test_early_stopping_states_the_gain_of_the_means_it_states_in_whole_epochs():
    table = pd.DataFrame({
        "setting": ["none-0", "pair-0.4"], "final": [99.0, 98.944], "peak": [99.1, 99.156],
        "peak_epoch": [1.0, 3.4], "peak_epoch_min": [1, 2], "peak_epoch_max": [1, 5],
        "epochs": [15, 15],
    })  # fmt: skip
    sentence = discussion.early_stopping(table)
    # 99.156 - 98.944 = 0.212 would show as 0.21 beside 99.16% and 98.94%
    assert "most at pair-0.4: 99.16% at epochs 2 to 5 (mean 3.4) (of 15) against 98.94%" in (
        sentence.text
    )
    assert "0.22 points more; the least at none-0, 0.10 points" in sentence.text
    assert sentence.numbers["largest_gain"] == pytest.approx(0.212)
    once = discussion.early_stopping(table.iloc[[0]]).text
    assert "99.10% at epoch 1 (of 15)" in once and "1.0" not in once
    even = table.assign(peak_epoch=[1.0, 3.0], peak_epoch_min=[1, 2], peak_epoch_max=[1, 4])
    assert "at epochs 2 to 4 (mean 3) (of 15)" in discussion.early_stopping(even).text


def test_datasets_whose_means_show_alike_are_tied_and_gaps_are_of_the_means_shown():
    results = pd.DataFrame({
        "dataset": ["fashion-mnist", "mnist", "cifar10"],
        "final_test_acc_mean": [98.87199999999999, 98.87200000000001, 98.728],
        "final_test_acc_std": [0.1, 0.1, 0.1], "n": [5, 5, 5],
    })  # fmt: skip
    text = discussion.dataset_ranking(results).text
    assert "Fashion-MNIST 98.87% ± 0.10; MNIST 98.87% ± 0.10 (tied with Fashion-MNIST); " in text
    assert "CIFAR-10 98.73% ± 0.10 (0.14 points below MNIST)" in text
    results.loc[2, "final_test_acc_mean"] = 98.656  # 0.216 below: 0.22, but 98.87 - 98.66
    assert "(0.21 points below MNIST)" in discussion.dataset_ranking(results).text


def test_a_noise_curve_names_steps_tied_for_the_largest_drop_in_the_means_shown():
    # drops 0.5, 2.004 and 1.996: both show as 2.00 between the means shown, a tie
    sentence = discussion.noise_fall(
        "pair", pd.DataFrame({"rate": [0.0, 0.2, 0.4, 0.6], "mean": [99.0, 98.5, 96.496, 94.5]})
    )
    assert (
        "the largest drop between consecutive rates is 2.00 points, from 20% to 40% "
        "(as large from 40% to 60%)"
    ) in sentence.text
    assert "no step is steep" in sentence.text
    flat = discussion.noise_fall(
        "pair",
        curve([99.0, 99.0, 95.0, 91.0, 91.0]),  # drops 0, 4, 4, 0
    )
    assert "(as large from 40% to 60%), while the median of the other drops is 0.00" in flat.text
    assert flat.text.endswith("the fall lies in those steps.")


def test_sides_of_equal_values_do_not_vary_whatever_their_float_std():
    stuck, lower = [97.53] * 3, [96.53] * 3
    assert np.std(stuck) > 0  # 1.4e-14: the mean of three 97.53s is not 97.53 in floats
    test = discussion.welch(stuck, lower)
    assert test.p is None and test.why_not == "neither side varies between seeds"
    assert discussion.welch(stuck, [96.5, 96.6, 96.4]).p is not None
