"""Final-answer extraction and normalisation: pure functions, no I/O.

``extract_answer`` finds the final answer in a model's text (``\\boxed{}``, "The answer
is", "Answer:", else the last line) and gives it a canonical ``key``: two samples with equal
keys gave the same answer, which is what voting counts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Literal

AnswerKind = Literal["number", "choice", "yesno", "date", "text", "code", "regex"]
FormatKind = Literal["auto", "number", "choice", "yesno", "date", "text", "regex"]
FORMAT_KINDS: tuple[FormatKind, ...] = ("auto", "number", "choice", "yesno", "date", "text")


@dataclass(frozen=True)
class AnswerFormat:
    kind: FormatKind
    pattern: re.Pattern[str] | None = None


AUTO = AnswerFormat("auto")


@dataclass(frozen=True)
class Extracted:
    text: str
    key: str
    kind: AnswerKind


def parse_answer_format(spec: str) -> AnswerFormat:
    spec = spec.strip()
    if spec.startswith("regex:"):
        try:
            return AnswerFormat("regex", re.compile(spec[len("regex:") :]))
        except re.error as exc:
            raise ValueError(f"bad regular expression: {exc}") from exc
    if spec in FORMAT_KINDS:
        assert spec in ("auto", "number", "choice", "yesno", "date", "text")
        return AnswerFormat(spec)
    raise ValueError(f"{spec!r} is not one of {', '.join(FORMAT_KINDS)}, regex:PATTERN")


# ---------------------------------------------------------------------------- locating

MARKERS = re.compile(
    r"(?:the\s+(?:final\s+|correct\s+)?answer\s+(?:is|would\s+be|=)\s*:?|"
    r"final\s+answer\s*[:=]|\banswer\s*[:=]|\*\*answer\*\*\s*:?|"
    r"so\s+the\s+answer\s+is|therefore,?\s+the\s+answer\s+is)",
    re.IGNORECASE,
)
FENCE = re.compile(r"```[\w+-]*\n(.*?)```", re.DOTALL)


def _boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None


def locate(text: str) -> tuple[str, bool]:
    """The final-answer span, and whether an explicit marker (or box) found it."""
    boxed = _boxed(text)
    if boxed is not None:
        return boxed.strip(), True
    matches = list(MARKERS.finditer(text))
    if matches:
        rest = text[matches[-1].end() :].strip()
        span = rest.split("\n", 1)[0].strip()
        if span:
            return span, True
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else ""), False


def _clean(span: str) -> str:
    span = re.sub(r"\\text\{([^}]*)\}", r"\1", span)
    span = span.replace("\\(", "").replace("\\)", "").replace("$$", "")
    span = re.sub(r"[*_`]+", "", span)
    return span.strip().rstrip(".;:!,").strip()


# ---------------------------------------------------------------------------- numbers

NUMBER = re.compile(
    r"(?P<sign>[-−–]?)\s*[$€£]?\s*"
    r"(?:(?P<whole>\d+)\s+(?P<fn>\d+)/(?P<fd>\d+)|"
    r"\\frac\{(?P<tn>-?\d+)\}\{(?P<td>\d+)\}|"
    r"(?P<num>\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?|\d*\.\d+|\d+)"
    r"(?:\s*/\s*(?P<den>\d+))?"
    r"(?:\s*(?:[eE](?P<exp>[-+]?\d+)|[×x]\s*10\^\{?(?P<exp2>[-+]?\d+)\}?))?)"
    r"(?P<pct>\s*%)?"
)


def _number_value(match: re.Match[str]) -> Fraction | None:
    try:
        if match["whole"]:
            value = int(match["whole"]) + Fraction(int(match["fn"]), int(match["fd"]))
        elif match["tn"]:
            value = Fraction(int(match["tn"]), int(match["td"]))
        else:
            value = Fraction(match["num"].replace(",", "").replace(" ", ""))
            if match["den"]:
                value /= int(match["den"])
        exponent = match["exp"] or match["exp2"]
        if exponent:
            value *= Fraction(10) ** int(exponent)
    except (ZeroDivisionError, ValueError):
        return None
    if match["sign"]:
        value = -value
    return value


def number_key(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    text = f"{float(value):.12f}" if abs(value) < 10**15 else str(float(value))
    return text.rstrip("0").rstrip(".")


def _numbers(span: str) -> list[tuple[Fraction, str]]:
    found = []
    for match in NUMBER.finditer(span):
        value = _number_value(match)
        if value is not None:
            found.append((value, match.group(0).strip()))
    return found


# ---------------------------------------------------------------------------- other kinds

CHOICE = re.compile(
    r"^(?:option|choice|\(?answer\)?)?\s*[\(\[]?([A-Ea-e])[\)\]\.:]?(?:\s|$)", re.IGNORECASE
)
CHOICE_ANYWHERE = re.compile(r"(?:\(([A-E])\)|\b(?:option|choice)\s+([A-E])\b)", re.IGNORECASE)
YES = {"yes", "true", "y"}
NO = {"no", "false", "n"}
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
MONTHS.update({name[:3]: number for name, number in list(MONTHS.items())})
DATE_PATTERNS = (
    re.compile(r"\b(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})\b"),
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
    re.compile(r"\b(?P<mn>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})\b"),
    re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mn>[A-Za-z]{3,9})\.?,?\s+(?P<y>\d{4})\b"),
)


def date_key(span: str) -> str | None:
    for pattern in DATE_PATTERNS:
        for match in reversed(list(pattern.finditer(span))):
            groups = match.groupdict()
            month = MONTHS.get(groups["mn"].lower()) if groups.get("mn") else int(groups["m"])
            if month is None:
                continue
            try:
                day = date(int(groups["y"]), month, int(groups["d"]))
            except ValueError:
                continue
            return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"
    return None


def choice_key(span: str, options: Sequence[str] | None = None) -> str | None:
    cleaned = _clean(span)
    match = CHOICE.match(cleaned)
    if match and (len(cleaned) <= 12 or match.group(0).strip().startswith(("(", "option"))):
        return match.group(1).upper()
    found: list[tuple[str, str]] = CHOICE_ANYWHERE.findall(span)
    if found:
        first, second = found[-1]
        return (first or second).upper()
    if options:
        lowered = text_key(span)
        for index, option in enumerate(options):
            if text_key(option) and text_key(option) == lowered:
                return "ABCDE"[index] if index < 5 else None
    return match.group(1).upper() if match else None


def yesno_key(span: str) -> str | None:
    words = re.findall(r"[a-z]+", _clean(span).lower())
    if not words:
        return None
    if words[0] in YES or (len(words) == 1 and words[0] in YES):
        return "yes"
    if words[0] in NO:
        return "no"
    return None


def text_key(span: str) -> str:
    value = " ".join(_clean(span).casefold().split())
    value = re.sub(r"^(?:the|a|an)\s+", "", value)
    return value.strip(" .,:;!?\"'")


def normalize(value: str, kind: AnswerKind, *, options: Sequence[str] | None = None) -> str | None:
    """Canonical key of a bare value (also used to normalise gold answers)."""
    if kind == "number":
        numbers = _numbers(_clean(value))
        return number_key(numbers[-1][0]) if numbers else None
    if kind == "choice":
        return choice_key(value, options)
    if kind == "yesno":
        return yesno_key(value)
    if kind == "date":
        return date_key(value) or (text_key(value) or None)
    key = text_key(value)
    return key or None


def extract_answer(
    text: str, fmt: AnswerFormat = AUTO, *, options: Sequence[str] | None = None
) -> Extracted | None:
    if not text or not text.strip():
        return None
    if fmt.kind == "regex" and fmt.pattern is not None:
        matches = list(fmt.pattern.finditer(text))
        if not matches:
            return None
        last = matches[-1]
        found = last.group(1) if last.re.groups else last.group(0)
        found = found or ""
        return Extracted(found, " ".join(found.split()), "regex")
    span, marked = locate(text)
    cleaned = _clean(span)
    kind: AnswerKind = _guess(cleaned, options) if fmt.kind == "auto" else fmt.kind
    if kind == "number":
        numbers = _numbers(cleaned)
        if not numbers and not marked:
            numbers = _numbers(text)
        if not numbers:
            return None
        value, written = numbers[0] if marked else numbers[-1]
        return Extracted(written, number_key(value), "number")
    if kind == "text" and not marked:
        fence = FENCE.findall(text)
        if fence:
            code = fence[-1].strip()
            return Extracted(code, "\n".join(line.rstrip() for line in code.splitlines()), "code")
    key = normalize(cleaned, kind, options=options)
    if key is None:
        return None
    return Extracted(cleaned, key, kind)


def _guess(span: str, options: Sequence[str] | None) -> AnswerKind:
    if options or re.fullmatch(r"\(?[A-Ea-e]\)?|(?:option|choice)\s+[A-Ea-e]", span, re.I):
        return "choice"
    if yesno_key(span) is not None and len(span.split()) <= 2:
        return "yesno"
    if date_key(span) is not None:
        return "date"
    if _numbers(span):
        return "number"
    return "text"


def same_answer(
    answer: Extracted | None,
    gold: str,
    kind: AnswerKind,
    *,
    options: Sequence[str] | None = None,
) -> bool:
    expected = normalize(gold, kind, options=options)
    return answer is not None and expected is not None and answer.key == expected
