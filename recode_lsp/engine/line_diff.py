"""Line diffs in about linear time, for ``--diff`` patches and for finding the lines a fix wrote.

:class:`difflib.SequenceMatcher` is quadratic on modules with many similar lines (a 500 kB
module full of near-identical functions took a minute), which made time grow faster than a
file's size. :func:`line_opcodes` gives the same kind of opcodes from patience-style anchors.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

Opcode = tuple[str, int, int, int, int]

#: Above this many line pairs a stretch without anchors is diffed as one replacement (difflib
#: is quadratic there); a patch stays correct, only larger.
_SMALL_SEGMENT = 250_000


def line_opcodes(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Opcode]:
    """``difflib.SequenceMatcher.get_opcodes`` for lines, in about linear time.

    A fix changes a few lines in place, but a module full of similar lines makes difflib
    quadratic (a 500 kB module took a minute). Like git's patience diff, lines that occur once
    on each side anchor the match (longest increasing run), common heads and tails are
    matched outright, and difflib only sees the short stretches between anchors.
    """
    import bisect
    import difflib

    matches: list[tuple[int, int, int]] = []  # (i, j, size), increasing
    pending = [(0, len(a), 0, len(b))]
    while pending:
        alo, ahi, blo, bhi = pending.pop()
        head = 0
        while alo + head < ahi and blo + head < bhi and a[alo + head] == b[blo + head]:
            head += 1
        if head:
            matches.append((alo, blo, head))
            alo, blo = alo + head, blo + head
        tail = 0
        while alo < ahi - tail and blo < bhi - tail and a[ahi - tail - 1] == b[bhi - tail - 1]:
            tail += 1
        if tail:
            matches.append((ahi - tail, bhi - tail, tail))
            ahi, bhi = ahi - tail, bhi - tail
        if alo == ahi or blo == bhi:
            continue
        counts: dict[Hashable, list[int]] = {}
        for i in range(alo, ahi):
            counts.setdefault(a[i], [0, 0, i])[0] += 1
        for j in range(blo, bhi):
            entry = counts.get(b[j])
            if entry is not None:
                entry[1] += 1
                entry.append(j)
        pairs = sorted((entry[2], entry[3]) for entry in counts.values() if entry[0] == 1 and entry[1] == 1)
        # The longest run of unique pairs increasing on both sides (patience sorting).
        tops: list[int] = []
        top_index: list[int] = []
        previous: list[int] = []
        for index, (_, j) in enumerate(pairs):
            slot = bisect.bisect_left(tops, j)
            previous.append(top_index[slot - 1] if slot else -1)
            if slot == len(tops):
                tops.append(j)
                top_index.append(index)
            else:
                tops[slot], top_index[slot] = j, index
        anchors: list[tuple[int, int]] = []
        index = top_index[-1] if top_index else -1
        while index != -1:
            anchors.append(pairs[index])
            index = previous[index]
        anchors.reverse()
        if anchors:
            cursor_a, cursor_b = alo, blo
            for i, j in anchors:
                matches.append((i, j, 1))
                pending.append((cursor_a, i, cursor_b, j))
                cursor_a, cursor_b = i + 1, j + 1
            pending.append((cursor_a, ahi, cursor_b, bhi))
        elif (ahi - alo) * (bhi - blo) <= _SMALL_SEGMENT:
            matcher = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
            matches.extend((alo + i, blo + j, size) for i, j, size in matcher.get_matching_blocks() if size)
        elif ahi - alo == bhi - blo:
            # No line is unique (a module of near-identical lines) and difflib would be quadratic:
            # a fix rewrites lines in place, so the lines equal at the same place match.
            run = 0
            for offset in range(ahi - alo + 1):
                if offset < ahi - alo and a[alo + offset] == b[blo + offset]:
                    run += 1
                    continue
                if run:
                    matches.append((alo + offset - run, blo + offset - run, run))
                run = 0
    matches.sort()
    opcodes: list[Opcode] = []
    i = j = 0
    for match_a, match_b, size in [*matches, (len(a), len(b), 0)]:
        if i < match_a and j < match_b:
            opcodes.append(("replace", i, match_a, j, match_b))
        elif i < match_a:
            opcodes.append(("delete", i, match_a, j, j))
        elif j < match_b:
            opcodes.append(("insert", i, i, j, match_b))
        if size:
            if opcodes and opcodes[-1][0] == "equal":
                opcodes[-1] = ("equal", opcodes[-1][1], match_a + size, opcodes[-1][3], match_b + size)
            else:
                opcodes.append(("equal", match_a, match_a + size, match_b, match_b + size))
        i, j = match_a + size, match_b + size
    return opcodes
