import pytest

from model_training.eval.passk import mean_pass_at_k, pass_at_k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (10, 3, 1, 0.3),  # pass@1 is c/n
        (5, 1, 5, 1.0),  # every sample drawn
        (10, 0, 5, 0.0),
        (10, 1, 5, 0.5),  # 1 - C(9,5)/C(10,5) = 1 - 126/252
        (10, 2, 5, 1 - 56 / 252),  # C(8,5) = 56
        (4, 2, 2, 1 - 1 / 6),  # C(2,2)/C(4,2)
        (6, 4, 3, 1.0),  # n - c < k
    ],
)
def test_pass_at_k_matches_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_large_n_stays_exact():
    # 1 - C(190,5)/C(200,5), computed by hand from the product (190..186)/(200..196)
    expected = 1 - (190 * 189 * 188 * 187 * 186) / (200 * 199 * 198 * 197 * 196)
    assert pass_at_k(200, 10, 5) == pytest.approx(expected, rel=1e-12)


def test_mean_over_tasks():
    assert mean_pass_at_k([(10, 1), (10, 10)], 5) == pytest.approx(0.75)


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 4), (3, 1, 0), (3, -1, 1)])
def test_pass_at_k_rejects_bad_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)
