"""A deterministic synthetic translation task: a small grammar, generated in the package (no downloads).

Source sentences (an English-like SVO language) map to a target language by

* **word mapping**: every source lemma has one target lemma (a fixed random bijection per task seed);
* **local reordering**: adjectives follow their noun in the target, in reversed order; a prepositional
  phrase ``PREP DET ADJ* NOUN`` becomes a postpositional ``DET NOUN ADJ* POSTP``;
* **agreement**: target determiners and adjectives inflect for the gender and number of their noun
  (the determiner comes *before* the noun, so the model must look ahead in the source), nouns for their
  number, and the verb for the number of the subject. Inflection is *irregular*: the inflected form of a
  word is a separate random permutation of its class's target words per (gender, number), so producing it
  takes a memorized two-way table (word × agreement features), i.e. feed-forward capacity — which is what
  N:M sparsity of the FF layers takes away.

Everything is a pure function of integer seeds: the same ``(task_seed, seed)`` gives the same batches on any
machine. Token id 0 is padding, 1 is BOS, 2 is EOS in both vocabularies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PAD, BOS, EOS = 0, 1, 2
_SPECIAL = 3


@dataclass(frozen=True)
class Grammar:
    """Sizes of the word classes of the synthetic language pair."""

    nouns: int = 96
    adjectives: int = 48
    verbs: int = 48
    determiners: int = 4
    prepositions: int = 8
    genders: int = 2
    max_adjectives: int = 2
    pp_probability: float = 0.5
    task_seed: int = 1234
    _tables: dict[str, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    # ----- source vocabulary: PAD BOS EOS | det | adj | noun_sg | noun_pl | verb | prep
    @property
    def src_offsets(self) -> dict[str, int]:
        o = {"det": _SPECIAL}
        o["adj"] = o["det"] + self.determiners
        o["noun_sg"] = o["adj"] + self.adjectives
        o["noun_pl"] = o["noun_sg"] + self.nouns
        o["verb"] = o["noun_pl"] + self.nouns
        o["prep"] = o["verb"] + self.verbs
        o["end"] = o["prep"] + self.prepositions
        return o

    @property
    def src_vocab(self) -> int:
        """Source vocabulary size (tokens)."""
        return self.src_offsets["end"]

    # ----- target vocabulary: PAD BOS EOS | det | adj | noun | verb | postp (inflection permutes a class)
    @property
    def tgt_offsets(self) -> dict[str, int]:
        o = {"det": _SPECIAL}
        o["adj"] = o["det"] + self.determiners
        o["noun"] = o["adj"] + self.adjectives
        o["verb"] = o["noun"] + self.nouns
        o["postp"] = o["verb"] + self.verbs
        o["end"] = o["postp"] + self.prepositions
        return o

    @property
    def tgt_vocab(self) -> int:
        """Target vocabulary size (tokens)."""
        return self.tgt_offsets["end"]

    @property
    def max_src_len(self) -> int:
        """Longest source sentence in tokens, including EOS."""
        np_len = 1 + self.max_adjectives + 1
        return np_len * 2 + 1 + 1 + np_len + 1

    @property
    def max_tgt_len(self) -> int:
        """Longest target sentence in tokens, including BOS and EOS."""
        return self.max_src_len + 1

    def tables(self) -> dict[str, np.ndarray]:
        """Inflection tables and noun genders (a pure function of ``task_seed``).

        ``det[f]``/``adj[f]`` (f = gender·2 + number), ``noun[num]``, ``verb[num]``: permutations mapping a
        source lemma to its inflected target word; ``prep``: one permutation; ``gender[noun]``.
        """
        if not self._tables:
            rng = np.random.default_rng(self.task_seed)
            forms = self.genders * 2

            def perms(size: int, count: int) -> np.ndarray:
                return np.stack([rng.permutation(size) for _ in range(count)])

            self._tables.update(
                det=perms(self.determiners, forms),
                adj=perms(self.adjectives, forms),
                noun=perms(self.nouns, 2),
                verb=perms(self.verbs, 2),
                prep=rng.permutation(self.prepositions),
                gender=rng.integers(0, self.genders, self.nouns),
            )
        return self._tables


def _noun_phrase(g: Grammar, rng: np.random.Generator) -> tuple[list[int], list[int], int]:
    """One noun phrase: (source tokens, target tokens, number 0/1)."""
    o, t, tab = g.src_offsets, g.tgt_offsets, g.tables()
    det = int(rng.integers(g.determiners))
    noun = int(rng.integers(g.nouns))
    num = int(rng.integers(2))
    n_adj = int(rng.integers(g.max_adjectives + 1))
    adjs = [int(a) for a in rng.choice(g.adjectives, size=n_adj, replace=False)]
    src = [o["det"] + det, *[o["adj"] + a for a in adjs], o["noun_pl" if num else "noun_sg"] + noun]
    gender = int(tab["gender"][noun])
    form = gender * 2 + num
    tgt = [t["det"] + int(tab["det"][form, det]), t["noun"] + int(tab["noun"][num, noun])]
    tgt += [t["adj"] + int(tab["adj"][form, a]) for a in reversed(adjs)]
    return src, tgt, num


def sentence_pair(g: Grammar, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """One (source, target) pair without BOS/EOS."""
    o, t, tab = g.src_offsets, g.tgt_offsets, g.tables()
    s_src, s_tgt, s_num = _noun_phrase(g, rng)
    verb = int(rng.integers(g.verbs))
    o_src, o_tgt, _ = _noun_phrase(g, rng)
    src = [*s_src, o["verb"] + verb, *o_src]
    tgt = [*s_tgt, t["verb"] + int(tab["verb"][s_num, verb]), *o_tgt]
    if rng.random() < g.pp_probability:
        prep = int(rng.integers(g.prepositions))
        p_src, p_tgt, _ = _noun_phrase(g, rng)
        src += [o["prep"] + prep, *p_src]
        tgt += [*p_tgt, t["postp"] + int(tab["prep"][prep])]
    return src, tgt


@dataclass
class Batch:
    """Padded integer arrays: ``src`` [B, S], ``tgt_in`` [B, T] (BOS-prefixed), ``tgt_out`` [B, T]."""

    src: np.ndarray
    tgt_in: np.ndarray
    tgt_out: np.ndarray

    @property
    def target_tokens(self) -> int:
        """Number of non-padding target tokens (the accuracy denominator)."""
        return int((self.tgt_out != PAD).sum())


def make_batch(g: Grammar, rng: np.random.Generator, batch_size: int) -> Batch:
    """Sample ``batch_size`` sentence pairs, padded to the grammar's maximum lengths."""
    S, T = g.max_src_len, g.max_tgt_len
    src = np.zeros((batch_size, S), dtype=np.int64)
    tin = np.zeros((batch_size, T), dtype=np.int64)
    tout = np.zeros((batch_size, T), dtype=np.int64)
    for i in range(batch_size):
        s, t = sentence_pair(g, rng)
        src[i, : len(s) + 1] = [*s, EOS]
        tin[i, : len(t) + 1] = [BOS, *t]
        tout[i, : len(t) + 1] = [*t, EOS]
    return Batch(src, tin, tout)


class TranslationTask:
    """Seeded train/eval batch streams of the synthetic translation task.

    ``train_batch(step)`` is a pure function of ``(seed, step)``, so a resumed run sees the same data.
    The evaluation set is fixed by ``task_seed`` alone (shared by every training seed).
    """

    name = "synthetic_translation"

    def __init__(self, seed: int = 0, grammar: Grammar | None = None, eval_size: int = 1024) -> None:
        self.grammar = grammar or Grammar()
        self.seed = seed
        self.eval_size = eval_size
        self._eval: Batch | None = None

    def train_batch(self, step: int, batch_size: int) -> Batch:
        """The training batch of ``step`` (0-based) for this seed."""
        rng = np.random.default_rng([self.seed, step, 7])
        return make_batch(self.grammar, rng, batch_size)

    def eval_batch(self) -> Batch:
        """The fixed held-out evaluation set (``eval_size`` pairs)."""
        if self._eval is None:
            rng = np.random.default_rng([self.grammar.task_seed, 99991])
            self._eval = make_batch(self.grammar, rng, self.eval_size)
        return self._eval
