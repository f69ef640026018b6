"""Maximum spanning arborescence (Chu & Liu 1965; Edmonds 1967) with exactly one word under the
root, as dependency parsers decode (Dozat & Manning 2017; Stanza; UD trees have a single root).

``scores[d, h]`` is the score of head ``h`` for dependent ``d`` over nodes 0..n, node 0 the root
(its row is ignored). The result is always a tree: every word has one head, no cycles, one root child.
"""

from __future__ import annotations

import numpy as np


def _cycle(heads: np.ndarray) -> list[int] | None:
    """A cycle of the head graph (heads[0] = -1), or None."""
    n = len(heads)
    state = np.zeros(n, dtype=np.int8)  # 0 unvisited, 1 on the current path, 2 done
    state[0] = 2
    for start in range(1, n):
        path, node = [], start
        while state[node] == 0:
            state[node] = 1
            path.append(node)
            node = heads[node]
        if state[node] == 1:  # came back onto this path: the cycle starts at node
            return path[path.index(node):]
        state[path] = 2
    return None


def chu_liu_edmonds(scores: np.ndarray) -> np.ndarray:
    """Heads (heads[0] = -1) of the highest-scoring arborescence rooted at 0 (several root children allowed)."""
    n = scores.shape[0]
    scores = scores.astype(np.float64, copy=True)
    np.fill_diagonal(scores, -np.inf)
    scores[0] = -np.inf
    heads = scores.argmax(1)
    heads[0] = -1
    cycle = _cycle(heads)
    if cycle is None:
        return heads
    in_cycle = np.zeros(n, dtype=bool)
    in_cycle[cycle] = True
    rest = np.flatnonzero(~in_cycle)  # includes the root, node 0
    c = len(rest)  # the contracted cycle's index in the smaller graph
    inner = scores[cycle, heads[cycle]]  # the cycle's own arcs
    small = np.full((c + 1, c + 1), -np.inf)
    small[:c, :c] = scores[np.ix_(rest, rest)]
    # an arc from cycle node v out to u: the best such v
    out_of = scores[np.ix_(rest, cycle)]
    small[:c, c] = out_of.max(1)
    # an arc from u into the cycle at v: it replaces v's cycle arc
    into = scores[np.ix_(cycle, rest)] - inner[:, None]
    small[c, :c] = into.max(0)
    small_heads = chu_liu_edmonds(small)
    result = heads.copy()
    for i, node in enumerate(rest):
        if node and small_heads[i] == c:
            result[node] = cycle[int(out_of[i].argmax())]
        elif node:
            result[node] = rest[small_heads[i]]
    entry = small_heads[c]
    enter_at = int(into[:, entry].argmax())
    result[cycle[enter_at]] = rest[entry]
    return result


def tree_score(scores: np.ndarray, heads: np.ndarray) -> float:
    return float(scores[np.arange(1, len(heads)), heads[1:]].sum())


def decode_tree(scores: np.ndarray) -> np.ndarray:
    """The highest-scoring tree with exactly one word attached to the root (heads[0] = -1).

    When the unconstrained arborescence has several root children, each is tried as the only one
    (the others lose their root arc) and the best tree kept - the strategy of Stanza and UDPipe 2."""
    heads = chu_liu_edmonds(scores)
    roots = np.flatnonzero(heads[1:] == 0) + 1
    if len(roots) <= 1:
        return heads
    best, best_score = heads, -np.inf
    for root in roots:
        forced = scores.astype(np.float64, copy=True)
        forced[1:, 0] = -np.inf
        forced[root, 0] = scores[root, 0]
        candidate = chu_liu_edmonds(forced)
        score = tree_score(scores, candidate)
        if score > best_score:
            best, best_score = candidate, score
    return best
