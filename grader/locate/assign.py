"""Deciding which pieces answer which question.

1. Labels (a heading `Q3`, a comment `#Q4`, `Answer = 5`, copied question text) open a section:
   what follows a label belongs to its question until the next label.
2. Questions without a label are placed by order, kind and content: the pieces of the section
   before them (or the whole file, if nothing is labelled) are aligned with the questions in
   order by a small dynamic programme. A written question prefers prose, a code question code;
   a question left empty costs more than a kind mismatch, so six cells for six questions map
   one to one; code matching a question's `code_patterns` is pulled towards it. A sentence ending
   with ':' right before code ("Here's an example of how to create a pool:") introduces that code
   and goes with it.
3. A code question whose own section has no code matching its patterns takes matching code
   that was placed under a written question (an example Pool under "What is a Pool?").
4. A title before the first label and a short closing line after the last answer belong to
   no question.
Every placement keeps its reason, in words a TA can check.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from grader.answers import Answer, AnswerPart, Method
from grader.locate.pieces import Piece, QuestionRef, reclassified
from grader.pysource import identifiers
from grader.submission import Cell, Format, Submission

EMPTY_COST = 3.0  # a question left without any piece
SKIP_SHORT = 0.3  # leaving a short title-like piece unassigned
SKIP_LONG = 4.0
IRRELEVANT = 5.0  # placing prose that shares no word with the question in its slot
TITLE_WORDS = 8  # prose this short is a title or a restated question, not an answer


@dataclass
class _Placement:
    question: str
    method: Method
    reason: str
    rank: int = 0  # an answer's parts go lowest rank first (the best-placed file's before further attempts)


@dataclass
class _Section:
    owner: str | None  # question id, or None for an unknown question number / preamble
    label_piece: int | None  # index into the piece list
    pieces: list[int] = field(default_factory=list)  # substantive pieces after (and incl.) the label
    repeat: bool = False  # its label repeats a question number that already opened a section
    moved: str = ""  # why a repeated label's section went to another question


def statement_piece(cell: Cell) -> Piece:
    """A cell that only lists the assignment's questions (see `numbering`): no label, no content."""
    return Piece(cell.index, cell.kind, 0, len(cell.source.split("\n")) - 1, cell.source, None, [])


def is_statement(piece: Piece) -> bool:
    # split_cell gives a cell with text at least one content; only a statement has none.
    return piece.label is None and not piece.contents and bool(piece.text.strip())


def _describe_piece(sub: Submission, piece: Piece) -> str:
    return sub.describe_cell(piece.cell)


def content_score(piece: Piece, q: QuestionRef) -> float:
    """How much this code looks like an answer to q: its patterns (strong), shared words (weak)."""
    return code_fit(piece.code_text(), q)


def code_fit(code: str, q: QuestionRef) -> float:
    """`content_score` of a piece of code given as text."""
    if not code:
        return 0.0
    score = 0.0
    if q.code_patterns:
        hits = sum(1 for p in q.code_patterns if re.search(p, code))
        score += 1.5 * hits / len(q.code_patterns)
    words = _content_words(q.text)
    if words:
        idents = {i.lower() for i in identifiers(code)}
        score += 0.5 * len(words & idents) / len(words)
    return score


def matches_patterns(piece: Piece, q: QuestionRef) -> bool:
    code = piece.code_text()
    return bool(q.code_patterns) and bool(code) and all(re.search(p, code) for p in q.code_patterns)


_STOP = {"what", "write", "python", "code", "using", "module", "with", "each", "should", "program", "which",
         "does", "that", "this", "from", "there", "their", "they", "will", "would", "your", "explain", "create"}


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)} - _STOP


def relevant(piece: Piece, q: QuestionRef) -> bool:
    """Prose that shares at least one content word with the question (or an alias)."""
    return relevant_text(" ".join(c.text for c in piece.contents), q)


def relevant_text(text: str, q: QuestionRef) -> bool:
    words = _content_words(" ".join((q.text, *q.aliases)))
    lowered = text.lower()
    return any(w in lowered for w in words)


def _assign_cost(piece: Piece, q: QuestionRef) -> float:
    cost = 0.0
    if not piece.has_code and not relevant(piece, q):
        cost += IRRELEVANT  # a title or a note, not an answer to this question
    if q.kind == "code" and not piece.has_code:
        cost += 0.6
    if q.kind != "code" and piece.has_code and not piece.has_prose:
        cost += 0.8
    if piece.has_code:
        cost -= min(1.5, content_score(piece, q))
    return cost


def _skip_cost(piece: Piece, questions: Sequence[QuestionRef]) -> float:
    """Leaving a piece out: cheap for a short title or prose about none of these questions."""
    if piece.has_code:
        return SKIP_LONG
    words = sum(len(c.text.split()) for c in piece.contents)
    if words <= TITLE_WORDS or not any(relevant(piece, q) for q in questions):
        return SKIP_SHORT
    return SKIP_LONG


def align(pieces: Sequence[Piece], questions: Sequence[QuestionRef], *, anchored: bool,
          allow_skip: bool) -> list[int | None]:
    """Monotone assignment of pieces to question indices (None: no question) at least cost."""
    n, m = len(pieces), len(questions)
    inf = float("inf")
    # dp[i][j+1]: pieces[:i] placed, the last placed piece went to question j (j = -1: none yet)
    dp = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int | None] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    dp[0][0] = 0.0
    for i in range(n):
        for jj in range(m + 1):
            cur = dp[i][jj]
            if cur == inf:
                continue
            j = jj - 1
            skippable = allow_skip and (j == -1 or j == m - 1) and not (anchored and i == 0)
            if skippable and cur + _skip_cost(pieces[i], questions) < dp[i + 1][jj]:
                dp[i + 1][jj] = cur + _skip_cost(pieces[i], questions)
                back[i + 1][jj] = (jj, None)
            for k in range(max(j, 0), m):
                if anchored and i == 0 and k != 0:
                    continue
                jump = EMPTY_COST * (k - j - 1) if k > j else 0.0
                c = cur + jump + _assign_cost(pieces[i], questions[k])
                if c < dp[i + 1][k + 1]:
                    dp[i + 1][k + 1] = c
                    back[i + 1][k + 1] = (jj, k)
    best_jj = min(range(m + 1), key=lambda jj: dp[n][jj] + EMPTY_COST * (m - jj))
    result: list[int | None] = [None] * n
    jj = best_jj
    for i in range(n, 0, -1):
        step = back[i][jj]
        assert step is not None
        result[i - 1] = step[1]
        jj = step[0]
    return result


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def assign(sub: Submission, pieces: list[Piece], questions: Sequence[QuestionRef],
           overrides: Mapping[str, Sequence[int]] | None = None) -> list[Answer]:
    if any(f.number is not None for f in sub.files):
        placement, label_text = _place_by_file(sub, pieces, questions)
    elif sub.files:
        placement, label_text = _place_by_best_file(sub, pieces, questions)
    else:
        placement, label_text = _place(sub, pieces, questions)

    # TA overrides win over everything: the question's answer is exactly the cells named.
    if overrides:
        for qid, cells in overrides.items():
            for i in [i for i, pl in placement.items() if pl.question == qid]:
                del placement[i]
            for i, p in enumerate(pieces):
                if p.cell in cells and p.substantive:
                    placement[i] = _Placement(qid, Method.OVERRIDE, "mapped by the TA (override)")

    return _answers(sub, pieces, questions, placement, label_text)


def _place_by_file(sub: Submission, pieces: list[Piece],
                   questions: Sequence[QuestionRef]) -> tuple[dict[int, _Placement], dict[str, str]]:
    """A folder of per-question files: a file whose name gives a question ('q3.py') answers that
    question, whatever its first lines say. A file whose name gives none (or a number that is no
    question of the rubric) is located as a one-file submission would be: what its labels open
    goes to their questions (for a question a file's name claims, as a further answer beside that
    file's), and what no label places is aligned with the questions no file's name claims."""
    by_number = {q.number: q for q in questions}
    placement: dict[int, _Placement] = {}
    label_text: dict[str, str] = {}
    named: dict[str, str] = {}  # question id -> the first file named for it
    unnamed: list[tuple[str, list[int]]] = []
    for f in sub.files:
        idx = [i for i, p in enumerate(pieces) if f.holds(p.cell)]
        q = by_number.get(f.number) if f.number is not None else None
        if q is None:
            unnamed.append((f.path, idx))
            continue
        named.setdefault(q.id, f.path)
        label_text.setdefault(q.id, f"the file name {f.path!r}")
        for i in idx:
            if pieces[i].substantive:
                placement[i] = _Placement(q.id, Method.FILE_NAME, f"answer taken from {f.path} (its name gives {q.id})")
    rest = [q for q in questions if q.id not in named]
    for path, idx in unnamed:
        local = [pieces[i] for i in idx]
        # A label for a question some file's name claims only closes what came before it here.
        relabelled = {k for k, p in enumerate(local) if p.label is not None and p.label.question in named}
        hidden = [replace(p, label=replace(p.label, question=None)) if k in relabelled and p.label else p
                  for k, p in enumerate(local)]
        found, texts = _place(sub, hidden, rest) if rest else ({}, {})
        for k, pl in found.items():
            placement[idx[k]] = _Placement(pl.question, pl.method,
                                           f"{pl.reason} (in {path}, whose name gives no question: placed by content)")
        opened: Piece | None = None
        for k, p in enumerate(local):
            if p.label is not None:
                opened = p if p.label.question in named else None
            if opened is not None and opened.label is not None and hidden[k].substantive and k not in found:
                qid = opened.label.question
                assert qid is not None
                placement[idx[k]] = _Placement(
                    qid, Method.MARKER, f"follows {opened.label.detail} ({_describe_piece(sub, opened)}): a further "
                                        f"answer beside {named[qid]}, whose name gives {qid}")
        for k, i in enumerate(idx):
            pieces[i] = local[k] if k in relabelled else hidden[k]  # maybe read again without its label
        for qid, text in texts.items():
            label_text.setdefault(qid, text)
    return placement, label_text


_EVIDENCE = {Method.MARKER: 3, Method.QUESTION_TEXT: 3, Method.CONTENT: 2, Method.POSITION: 1}
_EVIDENCE_WORDS = {3: "a label", 2: "what its code does", 1: "its position"}


def _evidence(pieces: list[Piece], placed: Mapping[int, _Placement], mine: Sequence[int], q: QuestionRef) -> int:
    """How surely a file's pieces answer q: a label (or the question's text), what the code does
    (moved there by its content, or placed by position with code that fits q), or only its position."""
    best = max(_EVIDENCE.get(placed[i].method, 0) for i in mine)
    if best < 2 and any(content_score(pieces[i], q) >= 1.0 for i in mine):
        best = 2
    return best


def _place_by_best_file(sub: Submission, pieces: list[Piece],
                        questions: Sequence[QuestionRef]) -> tuple[dict[int, _Placement], dict[str, str]]:
    """A student's folder of several files whose names give no question (`process.py`, `pool.py`,
    `notes.md`; `Untitled.ipynb` and `Untitled1.ipynb`): each file is located as a one-file submission
    would be, and each question's answer is taken from the file where it is placed most surely: by a
    label over by what its code does over by position, then by how well it fits the question, then
    the earlier file (the main file, the one a one-file choice grades, comes first). A file other
    than the main one answers a question only by a label or by code that does what it asks: a scratch
    file's `1 + 1` placed by position is no answer. For a code question labelled in the chosen file,
    what a label places in another file is a further attempt after it (the best counts).

    What a file placed in a question another file answers more surely is free again: while questions
    are left unanswered, each file's free pieces are located again among those questions alone (the
    Pool code that `pool.py` alone put in Q3, when `process.py` is Q3's answer, goes to Q5)."""
    placement: dict[int, _Placement] = {}
    label_text: dict[str, str] = {}
    open_qs = list(questions)
    labelled_in = {f.path: {p.label.question for p in pieces if f.holds(p.cell) and p.label is not None
                            and p.label.question is not None} for f in sub.files}
    # One question per file, by its labels (the names say nothing: 'pool.txt', 'notes.ipynb'): each
    # file answers the one question it labels, whole; its later paragraphs are not the next questions'.
    per_question = sum(1 for qs in labelled_in.values() if len(qs) == 1) >= 2 \
        and all(len(qs) <= 1 for qs in labelled_in.values())
    while open_qs:
        ids = {q.id for q in open_qs}
        found: list[dict[int, _Placement]] = []
        for f in sub.files:
            idx = [i for i, p in enumerate(pieces) if f.holds(p.cell) and i not in placement]
            if not idx:
                found.append({})
                continue
            # A label for a question already answered only closes what came before it here.
            hidden = {k for k, i in enumerate(idx) if (label := pieces[i].label) is not None
                      and label.question is not None and label.question not in ids}
            local = [_unlabelled(pieces[i]) if k in hidden else pieces[i] for k, i in enumerate(idx)]
            own = [q for q in open_qs if q.id in labelled_in[f.path]] if per_question else []
            placed, texts = _place(sub, local, own or open_qs)
            for k, i in enumerate(idx):
                if k not in hidden:
                    pieces[i] = local[k]  # maybe reclassified: its question's words inside its answer
            for qid, text in texts.items():
                label_text.setdefault(qid, text)
            found.append({idx[k]: pl for k, pl in placed.items()})
        first = len(open_qs) == len(questions)
        answered = [q for q in open_qs if _take_best(sub, pieces, q, found, placement, first)]
        if not answered:
            break
        open_qs = [q for q in open_qs if q not in answered]
    return placement, label_text


def _unlabelled(piece: Piece) -> Piece:
    return replace(piece, label=replace(piece.label, question=None)) if piece.label is not None else piece


def _take_best(sub: Submission, pieces: list[Piece], q: QuestionRef, found: Sequence[Mapping[int, _Placement]],
               placement: dict[int, _Placement], first: bool) -> bool:
    """Place q's answer from the file that places it most surely (see `_place_by_best_file`); False
    when no file answers it. Only the main file's first placements count by position alone: they are
    what it would be graded as alone (pieces left over are placed again only by a label or their code)."""
    # (evidence, fit, -file order, file, its pieces for q, its placements); -file order is unique
    scored: list[tuple[int, float, int, str, list[int], Mapping[int, _Placement]]] = []
    for order, placed in enumerate(found):
        mine = sorted(i for i, pl in placed.items() if pl.question == q.id)
        if mine:
            evidence = _evidence(pieces, placed, mine, q)
            if evidence < 2 and not (first and sub.files[order].main):
                continue
            scored.append((evidence, round(_fit(pieces, mine, q), 3), -order, sub.files[order].path, mine, placed))
    if not scored:
        return False
    scored.sort(key=lambda s: s[:3], reverse=True)
    evidence, _, _, path, mine, placed = scored[0]
    further = [s for s in scored[1:] if q.kind == "code" and evidence >= 3 and s[0] >= 3]
    weaker = [s[3] for s in scored[1:] if s not in further]
    why = f"answer taken from {path}, placed there by {_EVIDENCE_WORDS.get(evidence, 'its position')}"
    if weaker:
        why += f" (also placed, less surely or in a later file, in {', '.join(weaker)})"
    if further:
        why += f" (further attempts from {', '.join(s[3] for s in further)}; the best counts)"
    why += "; no file's name gives a question, so each file was located on its own"
    lead = min(mine, key=lambda i: (placed[i].method is not Method.CONTENT, i))  # the answer's first part
    for i in mine:
        placement[i] = _Placement(q.id, placed[i].method, f"{why}; {placed[i].reason}" if i == lead
                                  else placed[i].reason)
    # A code question labelled in several files: each labelled answer is an attempt (the best counts).
    for rank, (_, _, _, other, theirs, their) in enumerate(further, start=1):
        for i in theirs:
            placement[i] = _Placement(q.id, their[i].method,
                                      f"a further attempt from {other}, after {path}'s; {their[i].reason}", rank)
    return True


def _place(sub: Submission, pieces: list[Piece],
           questions: Sequence[QuestionRef]) -> tuple[dict[int, _Placement], dict[str, str]]:
    """Which question each piece answers (by index into `pieces`), and each labelled question's label."""
    by_id = {q.id: q for q in questions}
    order = {q.id: k for k, q in enumerate(questions)}
    placement: dict[int, _Placement] = {}
    substantive = [i for i, p in enumerate(pieces) if p.substantive]

    # 1. Sections opened by labels.
    sections: list[_Section] = [_Section(None, None)]
    for i, p in enumerate(pieces):
        label = p.label
        if label is not None:
            same = sections[-1].owner == label.question and label.question is not None
            if same and label.method is Method.QUESTION_TEXT:
                # Words of the question repeated inside its own answer are part of the answer.
                pieces[i] = p = reclassified(p, questions)
            elif not same:
                repeat = label.question is not None and any(s.owner == label.question for s in sections)
                sections.append(_Section(label.question, i, repeat=repeat and label.method is Method.MARKER))
            elif label.method is Method.MARKER and sections[-1].pieces:
                # The same label again after an answer (`5.)` twice): maybe the next question's.
                sections.append(_Section(label.question, i, repeat=True))
        if p.substantive:
            sections[-1].pieces.append(i)
    _resolve_repeats(sections, pieces, questions, order)
    labelled = {s.owner for s in sections if s.owner is not None}
    label_text: dict[str, str] = {}
    for s in sections:
        if s.owner is None or s.label_piece is None:
            continue
        lp = pieces[s.label_piece]
        assert lp.label is not None
        label_text.setdefault(s.owner, f"{lp.label.detail} in {_describe_piece(sub, lp)}")
        for i in s.pieces:
            if i == s.label_piece or pieces[i].cell == lp.cell:  # (a cell cut at its label: not "follows" itself)
                reason = f"labelled by {lp.label.detail}"
            else:
                reason = f"follows {lp.label.detail} ({_describe_piece(sub, lp)})"
            if s.moved:
                reason += f", {s.moved}"
            placement[i] = _Placement(s.owner, Method.CONTENT if s.moved else lp.label.method, reason)

    # 2. Questions without a label: align them with the pieces around them.
    unmarked = [q for q in questions if q.id not in labelled]
    if unmarked:
        if not labelled:
            _place_by_alignment(sub, pieces, substantive, list(questions), placement, anchored=False,
                                allow_skip=True, context="no question labels in this file")
        else:
            for run in _runs(unmarked, order):
                prev_q = next((q for q in reversed(questions[: order[run[0].id]]) if q.id in labelled), None)
                if prev_q is not None:
                    section = next(s for s in reversed(sections) if s.owner == prev_q.id)
                    stretch = [i for i in section.pieces if pieces[i].substantive]
                    qs = [prev_q, *run]
                    if stretch:
                        _place_by_alignment(sub, pieces, stretch, qs, placement, anchored=True, allow_skip=False,
                                            context=f"no label for {', '.join(q.id for q in run)}")
                else:
                    stretch = list(sections[0].pieces)
                    if stretch:
                        context = f"before the first label; no label for {', '.join(q.id for q in run)}"
                        _place_by_alignment(sub, pieces, stretch, run, placement, anchored=False, allow_skip=True,
                                            context=context)

    # 4. A title before the first label was never placed; a short closing line after the last
    # answer ("THANKS") is taken out again.
    tail = [i for i in substantive if i in placement]
    while tail:
        last = pieces[tail[-1]]
        if last.has_code or sum(len(c.text.split()) for c in last.contents) > 8 or last.label is not None:
            break
        owner_parts = [i for i in tail if placement[i].question == placement[tail[-1]].question]
        if len(owner_parts) <= 1:
            break
        placement.pop(tail.pop())

    # 3. Code placed under a written question that answers a code question by its content.
    _move_by_content(sub, pieces, questions, by_id, placement)
    return placement, label_text


def _fit(pieces: list[Piece], idx: Sequence[int], q: QuestionRef) -> float:
    """How well these pieces answer q: code by its content, prose by the question's words it uses."""
    words = _content_words(" ".join((q.text, *q.aliases)))
    total = 0.0
    for i in idx:
        p = pieces[i]
        if p.has_code:
            total += content_score(p, q)
        if p.has_prose and words:
            text = " ".join(c.text for c in p.contents if c.kind is not None).lower()
            total += 0.5 * sum(1 for w in words if w in text) / len(words)
    return total


def _resolve_repeats(sections: list[_Section], pieces: list[Piece], questions: Sequence[QuestionRef],
                     order: Mapping[str, int]) -> None:
    """A label that repeats a question number (`5.)` twice, and no `6.` anywhere) may be the next
    question's, mis-numbered: it is, when that question has no label of its own and what follows
    the repeated label fits it better than the question the number names."""
    labelled = Counter(t.owner for t in sections if t.owner is not None)  # kept up to date: linear in sections
    for s in sections:
        if not s.repeat or s.owner is None or not s.pieces:
            continue
        k = order[s.owner]
        later = questions[k + 1 :]
        cand = later[0] if later and later[0].id not in labelled else None
        if cand is None:
            continue
        owner = next(q for q in questions if q.id == s.owner)
        mine, theirs = _fit(pieces, s.pieces, owner), _fit(pieces, s.pieces, cand)
        if theirs > mine:
            s.moved = (f"a second {owner.id} label; {cand.id} has no label of its own and what follows fits "
                       f"{cand.id} better than {owner.id} by content ({theirs:.2f} against {mine:.2f}), so it answers "
                       f"{cand.id}")
            labelled[s.owner] -= 1
            if not labelled[s.owner]:
                del labelled[s.owner]
            s.owner = cand.id
            labelled[cand.id] += 1


def _runs(unmarked: list[QuestionRef], order: Mapping[str, int]) -> list[list[QuestionRef]]:
    runs: list[list[QuestionRef]] = []
    for q in unmarked:
        if runs and order[runs[-1][-1].id] == order[q.id] - 1:
            runs[-1].append(q)
        else:
            runs.append([q])
    return runs


def _place_by_alignment(sub: Submission, pieces: list[Piece], stretch: list[int], qs: list[QuestionRef],
                        placement: dict[int, _Placement], *, anchored: bool, allow_skip: bool, context: str) -> None:
    result = align([pieces[i] for i in stretch], qs, anchored=anchored, allow_skip=allow_skip)
    if anchored:
        _keep_first_code([pieces[i] for i in stretch], qs, result)
    lead_ins = _follow_lead_ins([pieces[i] for i in stretch], result)
    counts: dict[str, int] = {}
    for t, (i, k) in enumerate(zip(stretch, result, strict=True)):
        if k is None:
            placement.pop(i, None)
            continue
        q = qs[k]
        if anchored and k == 0:
            continue  # stays with its labelled section
        counts[q.id] = counts.get(q.id, 0) + 1
        p = pieces[i]
        what = "code" if p.has_code else "text"
        detail = (f"by position: {context}; {_describe_piece(sub, p)} is the {_ordinal(counts[q.id])} "
                  f"piece placed in {q.id}'s slot")
        if p.has_code and content_score(p, q) >= 1.0:
            detail = f"by position and content: {context}; the {what} in {_describe_piece(sub, p)} fits {q.id}"
        if t in lead_ins:
            detail = (f"by position: {context}; {_describe_piece(sub, p)} ends with ':' and introduces the code "
                      f"right after it, which is placed in {q.id}")
        placement[i] = _Placement(q.id, Method.POSITION, detail)


def _keep_first_code(run: Sequence[Piece], qs: Sequence[QuestionRef], result: list[int | None]) -> None:
    """A labelled code question keeps the code right after its label (`### Q5. How can we create a
    pool?`, then the program), unless that code fits a following unlabelled question better by what
    it does: the alignment would give it away to fill that question's slot, leaving the labelled
    question with its heading alone. Only a question whose section holds no more than a title (up
    to TITLE_WORDS words) before that code. Changes `result`, keeping order."""
    labelled = qs[0]
    own = [p for p, k in zip(run, result, strict=True) if k == 0]
    if labelled.kind != "code" or any(p.has_code for p in own) \
            or sum(len(c.text.split()) for p in own for c in p.contents) > TITLE_WORDS:
        return  # it has code, or an answer in words: the alignment's choice stands
    t = next((t for t, p in enumerate(run) if p.has_code), None)
    if t is None or any(k not in (0, None) for k in result[:t]):
        return
    k = result[t]
    if k is not None and content_score(run[t], qs[k]) <= content_score(run[t], labelled):
        result[t] = 0


def _follow_lead_ins(run: Sequence[Piece], result: list[int | None]) -> set[int]:
    """Prose ending with ':' right before code ("Here's an example of how to create a pool:")
    introduces that code: it goes to the code's question. Changes `result`; returns the positions
    moved. Order is kept, since a lead-in only joins the piece right after it."""
    moved: set[int] = set()
    for t in range(len(run) - 2, -1, -1):
        p, nxt = run[t], run[t + 1]
        if p.has_code or not nxt.has_code or result[t + 1] is None or result[t] == result[t + 1]:
            continue
        texts = [c.text for c in p.contents if c.kind is not None and c.text.strip()]
        if texts and texts[-1].rstrip().endswith(":"):
            result[t] = result[t + 1]
            moved.add(t)
    return moved


def _move_by_content(sub: Submission, pieces: list[Piece], questions: Sequence[QuestionRef],
                     by_id: Mapping[str, QuestionRef], placement: dict[int, _Placement]) -> None:
    for q in questions:
        if q.kind != "code" or not q.code_patterns:
            continue
        own = [i for i, pl in placement.items() if pl.question == q.id and pieces[i].has_code]
        if any(matches_patterns(pieces[i], q) for i in own):
            continue
        candidates = []
        prose = Counter(pl.question for j, pl in placement.items() if pieces[j].has_prose)  # once, not per piece
        for i, pl in placement.items():
            owner = by_id.get(pl.question)
            if owner is None or owner.kind == "code" or not pieces[i].has_code:
                continue
            if not prose[owner.id] - (1 if pieces[i].has_prose else 0):
                continue  # the code is that written question's only answer: leave it there
            if matches_patterns(pieces[i], q) and _fits_best(pieces[i], q, questions):
                candidates.append(i)
        if not candidates:
            continue
        q_first = min((i for i, pl in placement.items() if pl.question == q.id), default=len(pieces))
        chosen = min(candidates, key=lambda i: (i > q_first, abs(q_first - i)))
        old = placement[chosen].question
        placement[chosen] = _Placement(
            q.id, Method.CONTENT,
            f"by content: the code in {_describe_piece(sub, pieces[chosen])} does what {q.id} asks "
            f"(matches {', '.join(q.code_patterns)}) though it sits under {old}",
        )


def _fits_best(piece: Piece, q: QuestionRef, questions: Sequence[QuestionRef]) -> bool:
    """Code moved by its content goes to the code question it fits best (ties allowed): a Pool
    example under Q4 matches Q6's loose pattern (any Process or Pool) too, but it answers Q5."""
    mine = content_score(piece, q)
    return all(content_score(piece, o) <= mine + 1e-9 for o in questions
               if o.kind == "code" and o.code_patterns and o.id != q.id and matches_patterns(piece, o))


def _answers(sub: Submission, pieces: list[Piece], questions: Sequence[QuestionRef],
             placement: Mapping[int, _Placement], label_text: Mapping[str, str]) -> list[Answer]:
    answers: list[Answer] = []
    split_cells = {p.cell for p in pieces if p.first > 0}
    statements = [f"{_describe_piece(sub, p)} only lists the questions: read as the assignment's statement, "
                  "its labels open no answer" for p in pieces if is_statement(p)]
    for q in questions:
        # Code moved here by its content first, then the rest in file order (a further file's after).
        idx = sorted((i for i, pl in placement.items() if pl.question == q.id),
                     key=lambda i: (placement[i].rank, placement[i].method is not Method.CONTENT, i))
        parts: list[AnswerPart] = []
        for i in idx:
            p = pieces[i]
            cell = sub.cells[p.cell]
            span = None
            if p.cell in split_cells and cell.source_first_line is not None \
                    and sub.format_of(p.cell) is not Format.NOTEBOOK:
                span = (cell.source_first_line + p.first, cell.source_first_line + p.last)
            for c in p.contents:
                if c.kind is None or not c.text.strip():
                    continue
                parts.append(AnswerPart(cell=p.cell, kind=c.kind, text=c.text, written_in=c.written_in,
                                        from_markdown=c.from_markdown, notes=list(c.notes), span=span))
        answer = Answer(question=q.id, parts=parts)
        answer.marker_cell = next((p.cell for p in pieces if p.label is not None and p.label.question == q.id), None)
        if idx:
            reasons = []
            for i in idx:
                r = f"{_describe_piece(sub, pieces[i])}: {placement[i].reason}"
                if r not in reasons:
                    reasons.append(r)
            answer.method = placement[idx[0]].method
            answer.reason = "; ".join(reasons)
        elif q.id in label_text:
            answer.method = Method.MARKER
            answer.reason = f"{label_text[q.id]}, but nothing follows it"
        else:
            answer.reason = "no label, and no unplaced cell fits it"
        if idx and not answer.answered:
            answer.reason += " (but it is empty)"
        if statements:
            answer.reason += f" ({'; '.join(statements)})"
        answers.append(answer)
    return answers
