"""Final-answer extraction: pure functions, no I/O.

``extract_answer`` finds the final answer in a model's text — the last ``\\boxed{}``, else the
last explicit marker ("The answer is", "Final answer:", "Therefore, ..."), else the last
non-empty line — and gives it a canonical ``key`` (see ``normalize``): two samples with equal
keys gave the same answer, which is what voting counts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, get_args

from think.strategies.normalize import (
    AnswerKind,
    Number,
    choice_key,
    clean,
    code_key,
    collapse,
    date_key,
    find_numbers,
    normalize,
    number_key,
    text_key,
    yesno_key,
)

__all__ = [
    "AUTO",
    "AnswerFormat",
    "AnswerKind",
    "AnswerShape",
    "Extracted",
    "FormatKind",
    "answer_shape",
    "extract_answer",
    "normalize",
    "parse_answer_format",
    "same_answer",
]

FormatKind = Literal["auto", "number", "choice", "yesno", "date", "text", "open", "regex"]
AnswerShape = Literal["short", "open"]
"""Short: one final answer that samples can agree on (a number, a choice, a few words).
Open: prose, a proof, a summary, a review, code — judged as a whole, never by its last line."""
SHORT_SPAN_CHARS = 80
"""A marked final answer longer than this is a sentence of prose, not a short answer."""
TRAILING_CHARS = 40
"""Text allowed after a final-answer line (a closing remark) for it to stay the final line."""
FORMAT_KINDS: tuple[FormatKind, ...] = get_args(FormatKind)


@dataclass(frozen=True)
class AnswerFormat:
    kind: FormatKind
    pattern: re.Pattern[str] | None = None


AUTO = AnswerFormat("auto")


@dataclass(frozen=True)
class Extracted:
    text: str  # the final-answer span as written
    key: str  # canonical form: equal keys == same answer
    kind: AnswerKind


def parse_answer_format(spec: str) -> AnswerFormat:
    """``auto|number|choice|yesno|date|text|open|regex:PATTERN``; ``ValueError`` otherwise."""
    name, colon, pattern = spec.partition(":")
    name = name.strip().lower()
    if name == "regex" and colon:
        if not pattern:
            raise ValueError("regex: needs a pattern, e.g. regex:ANSWER: (\\d+)")
        try:
            return AnswerFormat("regex", re.compile(pattern))
        except re.error as exc:
            raise ValueError(f"bad regular expression {pattern!r}: {collapse(str(exc))}") from exc
    for kind in FORMAT_KINDS:
        if name == kind and kind != "regex" and not colon:
            return AnswerFormat(kind)
    choices = "|".join(kind for kind in FORMAT_KINDS if kind != "regex")
    raise ValueError(f"unknown answer format {collapse(spec)!r}: use {choices} or regex:PATTERN")


# ---------------------------------------------------------------------------- locating

MARKER_RE = re.compile(
    r"""
    (?P<strong>
        \b(?:so\s+|thus\s+|hence\s+)?the\s+(?:final\s+|correct\s+|right\s+|best\s+)?
            (?:answer|choice|option)\s+(?:is|would\s+be|will\s+be)\b(?:\s*:)?
      | \bfinal\s+answer\b\s*(?:is\b)?\s*[:：]?
      | \*\*\s*(?:final\s+)?answer\s*[:：]?\s*\*\*\s*[:：]?
      | \banswer\s*[:：]
    )
    | (?P<weak>\btherefore\b,?)
    """,
    re.IGNORECASE | re.VERBOSE,
)
FENCE_RE = re.compile(
    r"^[ \t]*(`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n(?P<code>.*?)^[ \t]*\1[ \t]*$",
    re.S | re.M,
)
REFUSAL_RE = re.compile(
    r"\b(?:I\s*(?:'|’)?m\s+sorry|I\s+apologi[sz]e"
    r"|(?:I|we)\s+(?:cannot|can(?:'|’)t|can\s+not|am\s+unable\s+to|are\s+unable\s+to)\s+"
    r"(?:answer|help|assist|provide|determine|solve)"
    r"|(?:cannot|can(?:'|’)t|can\s+not)\s+be\s+(?:determined|answered|calculated|solved)"
    r"|(?:not|in|(?:don|doesn)(?:'|’)t\s+have)\s*(?:enough|sufficient)\s+(?:information|context)"
    r"|(?:impossible|not\s+possible)\s+to\s+"
    r"(?:determine|answer|say|tell))",
    re.IGNORECASE,
)
DECLINE_RE = re.compile(
    r"(?<!\bno\s)(?<!\bnot\s)(?<!n't\s)(?<!n’t\s)"
    r"\b(?:need|needs|require|requires)\s+(?:more|additional|further)\s+information\b"
    r"|(?<!\bno\s)\b(?:more|additional|further)\s+information\s+(?:is\s+)?(?:needed|required)"
    r"|\bwithout\s+knowing\s+(?:the|how|what|which)\b"
    r"|(?:cannot|can(?:'|’)t|can\s+not)\s+give\s+an?\s+(?:specific|definite|exact|single)"
    r"|\bno\s+(?:valid|definite|single|unique)\s+(?:answer|solution)",
    re.IGNORECASE,
)
"""A closing sentence that declines to answer, beyond :data:`REFUSAL_RE`: judged only on a
last sentence that gives no number ("We need more information to determine how far he is")."""
BOXED_RE = re.compile(r"\\boxed\s*\{")
EQUALS_RE = re.compile(r"=|≈|\\approx")
SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")
ABBREVIATION = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|approx|etc|e\.g|i\.e"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)$",
    re.IGNORECASE,
)
LONE_CHOICE = re.compile(
    r"(?i:(?:option|choice)\s+)?[\(\[]?[A-Ea-e][\)\]]?"  # B, (b), [B], option B
    r"|(?i:(?:option|choice)\s+)?(?:\([A-Ea-e]\)|[A-Ea-e]\))\s.*",  # (b) 42 apples, b) 42
    re.DOTALL,
)
DATE_LIKE = re.compile(r"\d{1,4}(?:[/.\-]\d{1,4}){2}")
CODE_LINE = re.compile(r"[A-Za-z_][\w.]*(?:\[[^\]]*\])?\s*[-+*/]?=\s*[A-Za-z_][\w.()\[\]]*")


@dataclass(frozen=True)
class Span:
    text: str  # the candidate text: a box's content, a marker's sentence, or the last line
    marked: bool  # found by \boxed{} or a marker: take the first number, not the last
    strong: bool  # \boxed{} or an answer marker (not "Therefore"): no number there, no answer
    end: int  # where the span ends in the full text


def _boxed(text: str) -> Span | None:
    """The content of the last non-empty ``\\boxed{...}`` (braces nest)."""
    closing: dict[int, int] = {}
    opened: list[int] = []
    for i, char in enumerate(text):
        if char == "{":
            opened.append(i)
        elif char == "}" and opened:
            closing[opened.pop()] = i
    for box in reversed(list(BOXED_RE.finditer(text))):
        start = box.end() - 1
        end = closing.get(start)
        if end is not None and text[start + 1 : end].strip():
            return Span(text[start + 1 : end].strip(), True, True, end + 1)
    return None


def _is_sentence_end(text: str, end: re.Match[str]) -> bool:
    window = max(0, end.start() - 8)  # abbreviations are short: no rescanning from 0
    return end.group() == "\n" or not ABBREVIATION.search(text, window, end.start())


def _sentence_at(text: str, pos: int) -> tuple[int, int]:
    """Where the sentence that begins at ``pos`` (after whitespace) starts and ends."""
    start = pos
    while start < len(text) and text[start].isspace():
        start += 1
    for end in SENTENCE_END.finditer(text, start):
        if _is_sentence_end(text, end):
            return start, end.start()
    return start, len(text)


def _marker(text: str) -> Span | None:
    """The sentence after the last marker; ``None`` if that marker heads a question.

    "Therefore, ..." counts only as the last word on numbers: no number may follow its
    sentence (working that goes on after an early "Therefore" is not the conclusion).
    """
    matches = list(MARKER_RE.finditer(text))
    if matches and matches[-1]["weak"]:
        numbers = find_numbers(text)
        last_number = numbers[-1].start if numbers else -1
        while matches and matches[-1]["weak"]:
            if last_number < _sentence_at(text, matches[-1].end())[1]:
                break
            matches.pop()
    if not matches:
        return None
    last = matches[-1]
    start, end = _sentence_at(text, last.end())
    line_end = text.find("\n", start)
    line = text[start : line_end if line_end >= 0 else len(text)]
    if line.rstrip(" *_").endswith("?"):  # "Final Answer: How much does she make?" (a header)
        return None
    if not clean(text[start:end]):
        return None
    return Span(text[start:end], True, last["strong"] is not None, end)


def _last_line(text: str) -> Span | None:
    lines = [line for line in text.splitlines() if clean(line)]
    if not lines:
        return None
    return Span(lines[-1].strip(), False, False, len(text.rstrip()))


def locate(text: str) -> Span | None:
    """The final-answer span: the last \\boxed{}, else the last marker, else the last line."""
    return _boxed(text) or _marker(text) or _last_line(text)


def _code_block(text: str, span: Span, *, closing: bool) -> Extracted | None:
    """The last fenced code block, unless a marker comes after it.

    ``closing``: only a block that ends the text (how ``auto`` recognises a code answer).
    """
    blocks = list(FENCE_RE.finditer(text))
    if not blocks:
        return None
    block = blocks[-1]
    if span.marked and span.end > block.end():
        return None
    if closing and text[block.end() :].strip():
        return None
    code = block["code"]
    return Extracted(code.strip("\n"), code_key(code), "code") if code_key(code) else None


# ---------------------------------------------------------------------------- per kind


def _sentences(line: str) -> list[str]:
    found, start = [], 0
    for end in SENTENCE_END.finditer(line):
        if _is_sentence_end(line, end):
            found.append(line[start : end.start()])
            start = end.end()
    found.append(line[start:])
    return [sentence for sentence in found if sentence.strip()]


def _computed(text: str) -> set[Fraction]:
    """Values that ``text`` computed: the first number after each ``=``."""
    values = set()
    for match in re.finditer(r"=([^=\n]*)", text):
        numbers = find_numbers(clean(match.group(1)))
        if numbers:
            values.add(numbers[0].value)
    return values


def _after_equals(sentence: str) -> Number | None:
    """The first number after the last ``=``: "… 9 * $2 = $18 …" -> 18."""
    parts = EQUALS_RE.split(sentence)
    if len(parts) < 2:
        return None
    numbers = find_numbers(clean(parts[-1]))
    return numbers[0] if numbers else None


def _number_in_line(line: str, text: str) -> Number | None:
    """The answer in a closing line: "So he pays 15 * $5 = $75 over 30 days" -> 75.

    In the line's last sentence with a number (parenthesised working left out): the result
    of its last ``=``; else its last number that the text computed somewhere; else its last.
    """
    bare = re.sub(r"\([^()]*\)", " ", line)
    sentences = [s for s in _sentences(bare) if find_numbers(clean(s))]
    if not sentences:
        numbers = find_numbers(clean(line))
        return numbers[-1] if numbers else None
    sentence = sentences[-1]
    result = _after_equals(sentence)
    if result is not None:
        return result
    numbers = find_numbers(clean(sentence))
    computed = _computed(text)
    results = [number for number in numbers if number.value in computed]
    return (results or numbers)[-1]


def _number(span: Span, text: str) -> Extracted | None:
    if REFUSAL_RE.search(span.text):
        return None  # "The answer cannot be determined without knowing 3 more facts."
    if span.marked:
        bare = re.sub(r"\([^()]*\)", " ", span.text)  # "18 (9 * 2 = 18)": the working aside
        region = bare if find_numbers(clean(bare)) else span.text
        number = _after_equals(region)
        cleaned = clean(region)
        numbers = find_numbers(cleaned)
        if number is None and numbers and len(cleaned[: numbers[0].start].split()) > 5:
            number = _number_in_line(region, text)  # "Final Answer: In 2 days she has 18"
        number = number or (numbers[0] if numbers else None)
        if number is None and span.strong and not text[span.end :].strip("\n .*"):
            return None  # "The answer is None.": an explicit answer that is not a number
        if number is None:  # "Final Answer: Calculate the total." heads the working below
            span = _last_line(text) or span
    else:
        number = None
    if number is None and not span.marked:
        if CODE_LINE.fullmatch(span.text.strip()):
            return None  # a program that was never run: "answer = total_cost"
        closing = _sentences(span.text)[-1]
        if not find_numbers(clean(closing)) and (
            REFUSAL_RE.search(closing) or DECLINE_RE.search(closing)
        ):
            return None  # "The total is 234 miles. We need more information to determine x."
        number = _number_in_line(span.text, text)
        if number is None and not REFUSAL_RE.search(text):
            everywhere = find_numbers(clean(text))
            number = everywhere[-1] if everywhere else None
    if number is None:
        return None
    return Extracted(number.text, number_key(number.value), "number")


def _choice(span: Span, text: str, options: Sequence[str] | None) -> Extracted | None:
    key = choice_key(span.text, options)
    if key is None and not span.marked:
        tail = "\n".join(text.strip().splitlines()[-3:])
        key = choice_key(tail, options)
    return Extracted(clean(span.text), key, "choice") if key else None


def _date(written: str) -> str | None:
    """The date in the last sentence that gives a date or declines to; else none.

    "I cannot tell its significance. However, the answer is 08/03/1997." is 08/03/1997;
    "It depends on 8/3/1997. We cannot answer this question." and "03/01/YYYY" are no answer.
    An impossible date written as numbers (02/30/2021) keys as written.
    """
    for sentence in reversed(_sentences(written)):
        if REFUSAL_RE.search(sentence):
            return None
        found = date_key(sentence) or date_key(text_key(sentence))
        if found is not None:
            return found
    return (text_key(written) or None) if DATE_LIKE.fullmatch(written) else None


def _guess(span: str, options: Sequence[str] | None) -> AnswerKind:
    cleaned = clean(span)
    if options or re.fullmatch(LONE_CHOICE, cleaned):
        return "choice"
    if yesno_key(cleaned, strict=True) is not None:
        return "yesno"
    if date_key(cleaned) is not None:
        return "date"
    if find_numbers(cleaned):
        return "number"
    return "text"


def extract_answer(
    text: str, fmt: AnswerFormat = AUTO, *, options: Sequence[str] | None = None
) -> Extracted | None:
    """The final answer in ``text`` with its canonical key, or ``None`` if there is none."""
    if not text or not text.strip() or fmt.kind == "open":
        return None
    if fmt.kind == "regex":
        return _regex(text, fmt.pattern)
    span = locate(text)
    if span is None:
        return None
    if fmt.kind == "text" or (fmt.kind == "auto" and not span.marked):
        code = _code_block(text, span, closing=fmt.kind == "auto")
        if code is not None:
            return code
    kind: AnswerKind = _guess(span.text, options) if fmt.kind == "auto" else fmt.kind
    if kind == "number":
        return _number(span, text)
    if kind == "choice":
        return _choice(span, text, options)
    written = clean(span.text)
    if kind == "yesno":
        key = yesno_key(written)
    elif kind == "date":
        key = _date(written)
    elif fmt.kind == "auto" and (REFUSAL_RE.search(written) or CODE_LINE.fullmatch(written)):
        key = None  # a refusal, or a program that was never run: no answer
    else:
        key = text_key(written) or None
    return Extracted(written, key, kind) if key else None


def answer_shape(text: str, fmt: AnswerFormat = AUTO) -> AnswerShape:
    """``open`` for ``--answer-format open``; a forced kind is ``short``; ``auto`` is short
    when the whole answer is one short line, or when it ends in an explicit final-answer
    line (``The answer is …``, a box) that holds a short answer: the model was asked for that
    line only where one exists."""
    if fmt.kind == "open":
        return "open"
    if fmt.kind != "auto":
        return "short"
    whole = text.strip()
    if not whole:
        return "short"  # nothing to judge: the short path escalates it as no answer
    if "\n" not in whole and len(whole) <= SHORT_SPAN_CHARS:
        return "short"  # the whole answer is short ("Yes.", "Paris", "42")
    span = locate(text)
    if span is None or not span.strong or len(span.text.strip()) > SHORT_SPAN_CHARS:
        return "open"
    if len(text[span.end :].strip(" \n.*_`")) > TRAILING_CHARS:
        return "open"  # prose goes on after the "answer": not a final line
    return "short"


def _regex(text: str, pattern: re.Pattern[str] | None) -> Extracted | None:
    if pattern is None:
        return None
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    last = matches[-1]
    found = last.group(1) if pattern.groups else last.group(0)
    if found is None or not collapse(found):
        return None
    return Extracted(found, collapse(found), "regex")


def same_answer(
    answer: Extracted | None,
    gold: str,
    kind: AnswerKind,
    *,
    options: Sequence[str] | None = None,
) -> bool:
    """Whether ``answer`` is the (bare) ``gold`` answer of ``kind``."""
    if answer is None:
        return False
    expected = normalize(gold, kind, options=options)
    return expected is not None and answer.key == expected
