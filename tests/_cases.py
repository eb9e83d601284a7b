"""Test cases that exercise every option and every pair of options (a covering array), for kernels
compiled per combination of options, where the full product is too many compilations for every run."""

from __future__ import annotations

import itertools


def _pairs(case: tuple) -> set:
    return {((i, case[i]), (j, case[j])) for i, j in itertools.combinations(range(len(case)), 2)}


def all_pairs(factors: dict) -> list[dict]:
    """A small list of combinations of ``factors`` (name -> list of values) in which every value of every
    factor meets every value of every other factor at least once.

    Greedy and deterministic: each next case is the first of the full product (in its order) that covers
    the most pairs not yet covered. For factors of sizes 3, 6, 3, 2, 2 it gives 19 cases of 216.
    """
    names = list(factors)
    product = list(itertools.product(*(factors[n] for n in names)))
    todo = set().union(*(_pairs(c) for c in product))
    cases = []
    while todo:
        best = max(product, key=lambda c: len(_pairs(c) & todo))
        todo -= _pairs(best)
        cases.append(dict(zip(names, best)))
    return cases


def uncovered_pairs(factors: dict, cases: list[dict]) -> set:
    """The pairs of option values that none of ``cases`` combines (empty for a covering list)."""
    names = list(factors)
    wanted = set().union(*(_pairs(c) for c in itertools.product(*(factors[n] for n in names))))
    return wanted - set().union(*(_pairs(tuple(case[n] for n in names)) for case in cases))
