"""The shared token choosers and the past key/values cache, on a bigram model written in numpy (a real
transition table: each step's logits depend only on the last token, so the best outputs can be worked out)."""

from __future__ import annotations

import numpy as np

from aiaas_recipes.common.generation.decoding import Decoding, beam_search, choose, generate
from aiaas_recipes.common.generation.kv import Cache, left_pad

EOS = 0


class Bigram:
    """A stepper: logits = table[last token]; rows follow `take` like a cache would."""

    def __init__(self, table: np.ndarray, last: np.ndarray):
        self.table, self.last, self.calls = table, last, 0

    def __call__(self, tokens: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.last = tokens[:, -1]
        return self.table[self.last]

    def take(self, index: np.ndarray) -> None:
        self.last = self.last[index]


def _table() -> np.ndarray:
    # from 1: 2 is likelier than 3 now, but 3 leads to a sure end while 2 leads to a coin toss
    logp = np.full((5, 5), -20.0)
    logp[1, 2], logp[1, 3] = np.log(0.55), np.log(0.45)
    logp[2, 4], logp[2, EOS] = np.log(0.5), np.log(0.5)
    logp[3, EOS] = 0.0
    logp[4, EOS] = 0.0
    logp[0, EOS] = 0.0
    return logp


def test_greedy_follows_the_most_likely_token_and_stops_at_the_end_token():
    table = _table()
    model = Bigram(table, np.array([1]))
    out = generate(model, table[[1]], [Decoding(max_new_tokens=10, eos_id=EOS)], [[1]])
    assert out == [[2]]  # 1 -> 2 (0.55), then end (0.5 beats 4's 0.5 by index order)


def test_beam_search_finds_the_better_whole_sequence_that_greedy_misses():
    table = _table()
    out = beam_search(Bigram(table, np.array([1, 1])), table[[1, 1]], Decoding(max_new_tokens=5, eos_id=EOS,
                      beam_size=2, length_penalty=0.0))  # fmt: skip
    assert out == [[3], [3]]  # 0.45 * 1.0 beats 0.55 * 0.5


def test_rows_that_finish_leave_the_batch_and_max_new_tokens_holds():
    table = np.zeros((4, 4))
    table[1, 1] = table[2, EOS] = 5.0  # row from 1 loops forever, row from 2 ends at once
    model = Bigram(table, np.array([1, 2]))
    settings = [Decoding(max_new_tokens=6, eos_id=EOS)] * 2
    assert generate(model, table[[1, 2]], settings, [[], []]) == [[1] * 6, []]
    assert len(model.last) == 1  # the finished row was dropped from the stepper


def test_sampling_is_seeded_and_filters_apply():
    logits = np.log(np.array([0.05, 0.5, 0.3, 0.15]))
    draws = [choose(logits, [], Decoding(temperature=1.0, seed=7), np.random.default_rng(7)) for _ in range(3)]
    assert len(set(draws)) == 1  # same seed, same token
    g = np.random.default_rng(0)
    assert {choose(logits, [], Decoding(temperature=1.0, top_k=1), g) for _ in range(20)} == {1}
    assert {choose(logits, [], Decoding(temperature=1.0, top_p=0.6), g) for _ in range(50)} <= {1, 2}
    assert choose(logits, [1], Decoding(repetition_penalty=10.0), g) == 2  # 1 was said already
    assert choose(logits, [1, 2, 3, 1], Decoding(no_repeat_ngram=2), g) != 2  # "1 2" again


def test_cache_positions_merge_and_take():
    tokens, mask = left_pad([[5, 6, 7], [8]], pad_id=0)
    cache = Cache.empty(2, layers=1, heads=1, head_dim=2)
    feeds = cache.feeds(tokens, mask)
    assert feeds["positions"].tolist() == [[0, 1, 2], [0, 0, 0]]
    assert feeds["attention_mask"].tolist() == [[0, 1, 1, 1], [0, 0, 0, 1]]
    grown = cache.advanced(np.zeros((1, 2, 2, 1, 4, 2), np.float32), mask)
    short = Cache.empty(1, 1, 1, 2)
    merged = Cache.merge([grown, short])
    assert merged.past.shape == (1, 2, 3, 1, 4, 2) and merged.mask[2].tolist() == [0, 0, 0, 0]
    kept = merged.take(np.array([1]))  # the left row used only the last slot: the others are trimmed
    assert kept.mask.tolist() == [[1]] and kept.past.shape[4] == 1
