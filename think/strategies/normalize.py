"""Canonical keys for bare answer values: numbers, choices, yes/no, dates, short text.

Pure functions, no I/O. Two answers are the same answer exactly when their keys are equal;
every key normalises to itself (``normalize(key, kind) == key``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Literal

AnswerKind = Literal["number", "choice", "yesno", "date", "text", "code", "regex"]

# ---------------------------------------------------------------------------- cleaning

_LATEX_WRAPPERS = re.compile(
    r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname|boxed|fbox)\s*\{([^{}]*)\}"
)
_LATEX_SPACING = re.compile(r"\\[,;:! ]|\\q?quad\b|\\left\b|\\right\b|\\displaystyle\b")
_SURROUNDING = " \t\n.,;:!?\"'`*_~"


def clean(span: str) -> str:
    """Strip markdown emphasis, LaTeX wrappers and surrounding punctuation from a span."""
    text = span.strip()
    for _ in range(3):  # nested wrappers: \boxed{\text{18}}
        text = _LATEX_WRAPPERS.sub(r"\1", text)
    text = _LATEX_SPACING.sub(" ", text)
    text = re.sub(r"\\[()\[\]]", " ", text)  # \( \) \[ \]
    text = text.replace("$$", " ")
    if text.count("$") == 2 and text.startswith("$") and text.rstrip(".!;,").endswith("$"):
        text = text.replace("$", " ")  # $...$ math, not a currency sign
    text = re.sub(r"\*\*|__|(?<!\w)[*_]|[*_](?!\w)|`", " ", text)  # bold, italics, code
    text = " ".join(text.split())
    return text.rstrip(_SURROUNDING).lstrip(_SURROUNDING.replace(".", ""))  # keep ".5"


def collapse(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------- numbers

_VULGAR = {
    "½": Fraction(1, 2),
    "⅓": Fraction(1, 3),
    "⅔": Fraction(2, 3),
    "¼": Fraction(1, 4),
    "¾": Fraction(3, 4),
    "⅕": Fraction(1, 5),
    "⅖": Fraction(2, 5),
    "⅗": Fraction(3, 5),
    "⅘": Fraction(4, 5),
    "⅙": Fraction(1, 6),
    "⅚": Fraction(5, 6),
    "⅛": Fraction(1, 8),
    "⅜": Fraction(3, 8),
    "⅝": Fraction(5, 8),
    "⅞": Fraction(7, 8),
}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_MINUS = "-−﹣－"
_MAX_EXPONENT = 400
_MAX_BITS = 4000
_SPACE_SEP = "[ \u00a0\u202f\u2009]"

NUMBER_RE = re.compile(
    rf"""
    (?<![A-Za-wyz_\d./])                      # not glued to a word, number or date
    (?:(?<![\w)\]])(?P<sign>[{_MINUS}]))?      # a minus sign, not a subtraction
    (?:(?P<cur>(?:US)?\$|[€£¥₹]|(?:USD|EUR|GBP)\s?)\s?)?
    (?P<sign2>[{_MINUS}])?
    (?:
        \\[dt]?frac\s*\{{\s*(?P<tn>[{_MINUS}]?\d+(?:\.\d+)?)\s*\}}\s*\{{\s*(?P<td>\d+(?:\.\d+)?)\s*\}}
      | \\[dt]?frac(?P<tn1>\d)(?P<td1>\d)
      | (?P<hh>\d{{1,2}}):(?P<mm>[0-5]\d)(?![\d:])  # a time of day: 2:30 is 2.5 (hours)
      | (?P<vw>\d+)?\s?(?P<vf>[{"".join(_VULGAR)}])
      | (?P<int>\d{{1,3}}(?:,\d{{3}})+(?![\d,]\d)|\d{{1,3}}(?:{_SPACE_SEP}\d{{3}})+(?!\d)|\d+)?
        (?!\d)(?P<dec>\.\d+(?!\d))?
        (?<=\d)
        (?:\s?/\s?(?P<den>\d+(?:\.\d+)?)(?![\d/]))?
        (?(den)|(?!\s?/\s?\d))                   # 12/31/1999 is a date, not numbers
        (?:
            [eE](?P<exp>[-+−]?\d+)(?![\w.])
          | \s?[×x*·]\s?10\s?(?:\^|\*\*)\s?\{{?\s?(?P<exp2>[-+−]?\d+)\s?\}}?
          | \s?[×x*·]\s?10(?P<exp3>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)
        )?
    )
    (?P<pct>\s?(?:%|\\%|percent\b|per\s?cent\b))?
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Number:
    value: Fraction
    text: str
    start: int
    end: int


def _fraction(text: str) -> Fraction:
    return Fraction(text.replace(",", "").translate({ord(c): None for c in " \u00a0\u202f\u2009"}))


def _decimal(value: Fraction) -> str | None:
    """The exact decimal of ``value`` when it terminates (``1.25``), else ``None``."""
    if value.denominator == 1:
        return str(value.numerator)
    twos = fives = 0
    rest = value.denominator
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest != 1:
        return None
    places = max(twos, fives)
    scaled = abs(value.numerator) * 10**places // value.denominator
    digits = str(scaled).rjust(places + 1, "0")
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}".rstrip("0")


def snap(value: Fraction) -> Fraction:
    """Undo float noise: ``16.999999999999996`` is 17, ``3.3333333333333335`` is 10/3.

    Only for decimals of 16 or 17 significant digits (what ``repr(float)`` prints for a
    program's rounding error), and only when a fraction with a small denominator or a
    12-digit decimal lies within that error. Idempotent: ``snap(snap(x)) == snap(x)``.
    """
    decimal = _decimal(value) if value.denominator != 1 else None
    if decimal is None:
        return value
    if len(re.sub(r"\D", "", decimal).lstrip("0")) not in (16, 17):
        return value
    with localcontext() as context:
        context.prec = 12
        rounded = Fraction(Decimal(value.numerator) / Decimal(value.denominator))
    for candidate in (value.limit_denominator(1000), rounded):
        if abs(candidate - value) <= abs(value) * Fraction(1, 10**13):
            return candidate
    return value


def _number_value(match: re.Match[str]) -> Fraction | None:
    try:
        if match["tn"] is not None:
            value = Fraction(match["tn"].translate({ord(c): "-" for c in _MINUS})) / Fraction(
                match["td"]
            )
        elif match["tn1"] is not None:
            value = Fraction(int(match["tn1"]), int(match["td1"]))
        elif match["hh"] is not None:
            value = int(match["hh"]) + Fraction(int(match["mm"]), 60)
        elif match["vf"] is not None:
            value = int(match["vw"] or 0) + _VULGAR[match["vf"]]
        else:
            literal = (match["int"] or "") + (match["dec"] or "")
            value = _fraction(literal or "0")
            if match["den"] is not None:
                value /= Fraction(match["den"])
            exponent = match["exp"] or match["exp2"]
            if match["exp3"]:
                exponent = match["exp3"].translate(_SUPERSCRIPTS)
            if exponent:
                power = int(exponent.replace("−", "-"))
                if abs(power) > _MAX_EXPONENT:
                    return None
                value *= Fraction(10) ** power
    except (ZeroDivisionError, ValueError, OverflowError):
        return None
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > _MAX_BITS:
        return None  # not an answer anyone wrote by hand; keeps keys printable
    if match["sign"] or match["sign2"]:
        value = -value
    return snap(value)


def find_numbers(span: str) -> list[Number]:
    """Every number in ``span``, in order; "1 1/2" is one number (a mixed fraction)."""
    found: list[Number] = []
    for match in NUMBER_RE.finditer(span):
        value = _number_value(match)
        if value is None:
            continue
        number = Number(value, match.group(0).strip(), match.start(), match.end())
        if found and _is_mixed(found[-1], number, match, span):
            whole = found.pop()
            value = whole.value - number.value if whole.value < 0 else whole.value + number.value
            number = Number(value, span[whole.start : number.end], whole.start, number.end)
        found.append(number)
    return found


def _is_mixed(previous: Number, current: Number, match: re.Match[str], span: str) -> bool:
    """``1 1/2``: a whole number, one space, then a proper fraction."""
    if match["den"] is None or match["sign"] or match["cur"] or match["dec"] or match["pct"]:
        return False
    gap = span[previous.end : current.start]
    return (
        gap in (" ", "\u00a0")
        and previous.value.denominator == 1
        and re.fullmatch(r"[$€£]?\d+", previous.text.lstrip(_MINUS)) is not None
        and 0 < current.value < 1
    )


def number_key(value: Fraction) -> str:
    """An integer, a minimal exact decimal when it terminates, else ``p/q``."""
    value = snap(value)
    return _decimal(value) or f"{value.numerator}/{value.denominator}"


def number_value(span: str) -> Fraction | None:
    numbers = find_numbers(clean(span))
    return numbers[0].value if numbers else None


# ---------------------------------------------------------------------------- choices

LETTERS = "ABCDE"
_SHORT_SPAN_WORDS = 4
_CHOICE_WORD = r"(?i:(?:the\s+)?(?:correct\s+|right\s+|best\s+|final\s+)?(?:answer|option|choice))"
_LONE_CHOICE = re.compile(
    rf"(?:{_CHOICE_WORD}\s*(?:(?i:is)\s*)?[:\-]?\s*)?"
    r"(?:\((?P<p>[A-Ea-e])\)|\[(?P<b>[A-Ea-e])\]|(?P<l>[A-Ea-e])(?:[.:)]|$))"
    r"(?:\s.*)?",
    re.DOTALL,
)
_ANY_CHOICE = re.compile(
    rf"\((?P<p>[A-Ea-e])\)|\b(?i:option|choice)\s+\(?(?P<o>[A-Ea-e])\b"
    rf"|\b{_CHOICE_WORD}\s+(?i:is|would\s+be)\s*:?\s*(?P<a>[A-E])\b(?!['’]\w|\s+[a-z])"
    r"|(?<![\w'’])(?P<u>[B-E])(?![\w'’])|(?<![\w'’])(?P<x>A)(?![\w'’]|\s+[a-z])"
)


def choice_key(span: str, options: Sequence[str] | None = None) -> str | None:
    """The letter (A-E) that ``span`` chooses, or ``None``."""
    cleaned = clean(span)
    if not cleaned:
        return None
    lone = _LONE_CHOICE.fullmatch(cleaned)
    if lone:
        return str(lone["p"] or lone["b"] or lone["l"]).upper()
    if options:
        letter = _option_letter(cleaned, options)
        if letter is not None:
            return letter
    found = list(_ANY_CHOICE.finditer(cleaned))
    strong = [m for m in found if m["p"] or m["o"] or m["a"]]
    # A bare capital letter is a choice only where a choice is written: a short span, or the
    # last word ("I would go with B"); in prose it is a name ("A given B", "point C").
    short = len(cleaned.split()) <= _SHORT_SPAN_WORDS
    bare = [m for m in found if short or not re.search(r"\w", cleaned[m.end() :])]
    pick = strong[-1] if strong else (bare[-1] if bare else None)
    if pick is None:
        return None
    return str(pick["p"] or pick["o"] or pick["a"] or pick["u"] or pick["x"]).upper()


def _option_letter(span: str, options: Sequence[str]) -> str | None:
    keys = [text_key(option) for option in options[: len(LETTERS)]]
    wanted = text_key(span)
    for index, key in enumerate(keys):
        if key and key == wanted:
            return LETTERS[index]
    value = number_value(span)
    if value is not None:
        matches = [i for i, option in enumerate(options[:5]) if number_value(option) == value]
        if len(matches) == 1 and len(find_numbers(clean(span))) == 1:
            return LETTERS[matches[0]]
    inside = [
        i
        for i, key in enumerate(keys)
        if key and re.search(rf"(?<!\w){re.escape(key)}(?!\w)", wanted)
    ]
    return LETTERS[inside[0]] if len(inside) == 1 else None


# ---------------------------------------------------------------------------- yes / no

_YES = frozenset({"yes", "true", "yeah", "yep"})
_NO = frozenset({"no", "false", "nope"})


def _polarity(word: str) -> str:
    return "yes" if word in _YES else "no"


def yesno_key(span: str, *, strict: bool = False) -> str | None:
    """``yes``/``no`` for yes/no/true/false ("correct"/"incorrect" count only when alone).

    ``strict`` (used to guess the kind): only a lone word, or yes/no opening the span and
    followed by punctuation ("No, she cannot").
    """
    cleaned = clean(span)
    words = re.findall(r"[a-z]+", cleaned.casefold())
    if not words:
        return None
    first = words[0]
    if len(words) == 1:
        if first in _YES or first == "correct":
            return "yes"
        if first in _NO or first == "incorrect":
            return "no"
        return None
    if first in ("yes", "no") and re.match(r"[^\w]*\w+\s*[,.;:!—–-]", cleaned):
        return _polarity(first)
    if strict:
        return None
    if first in _YES | _NO:
        return _polarity(first)
    if len(words) > 8:
        return None
    polar = set()
    for i, word in enumerate(words):
        if word in ("yes", "no", "true", "false"):
            negated = i > 0 and words[i - 1] == "not"
            polar.add(
                _polarity(word) if not negated else _polarity("no" if word in _YES else "yes")
            )
    return polar.pop() if len(polar) == 1 else None


# ---------------------------------------------------------------------------- dates

_MONTH_NAMES = [
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
MONTHS = {name: i + 1 for i, name in enumerate(_MONTH_NAMES)}
MONTHS.update({name[:3]: i + 1 for i, name in enumerate(_MONTH_NAMES)})
MONTHS["sept"] = 9
_MONTH = r"(?P<mn>[A-Za-z]{3,9})\.?"
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
DATE_PATTERNS = (
    re.compile(r"(?<![\d/])(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?![\d/])"),
    re.compile(r"(?<![\d/-])(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})(?![\d/-])"),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+(?P<y>\d{{4}})\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+(?P<y>\d{{4}})\b"),
)
_TWO_DIGIT_YEAR = re.compile(r"(?<![\d/])\d{1,2}/\d{1,2}/\d{2}(?![\d/])")


def date_key(span: str) -> str | None:
    """``MM/DD/YYYY`` for the last valid date in ``span``; a two-digit-year date as written."""
    best: tuple[int, str] | None = None
    for pattern in DATE_PATTERNS:
        for match in pattern.finditer(span):
            groups = match.groupdict()
            month = MONTHS.get(groups["mn"].lower()) if groups.get("mn") else int(groups["m"])
            if month is None:
                continue
            try:
                day = date(int(groups["y"]), month, int(groups["d"]))
            except ValueError:
                continue
            if best is None or match.start() > best[0]:
                best = (match.start(), f"{day.month:02d}/{day.day:02d}/{day.year:04d}")
    if best is not None:
        return best[1]
    ambiguous = _TWO_DIGIT_YEAR.findall(span)
    return ambiguous[-1] if ambiguous else None


# ---------------------------------------------------------------------------- text


def text_key(span: str) -> str:
    """Casefolded, whitespace-collapsed, without surrounding punctuation or a leading article."""
    key = span
    while True:
        new = clean(key).casefold()
        new = re.sub(r"^(?:the|a|an)\s+", "", new)
        new = new.strip(_SURROUNDING)
        if new == key:
            return new
        key = new


def code_key(code: str) -> str:
    lines = [line.rstrip() for line in code.strip("\n").splitlines()]
    return "\n".join(lines).strip()


# ---------------------------------------------------------------------------- dispatch


def normalize(value: str, kind: AnswerKind, *, options: Sequence[str] | None = None) -> str | None:
    """Canonical key of a bare value (also used to normalise gold answers)."""
    if kind == "number":
        number = number_value(value)
        return number_key(number) if number is not None else None
    if kind == "choice":
        return choice_key(value, options)
    if kind == "yesno":
        return yesno_key(value)
    if kind == "date":
        return date_key(value) or date_key(text_key(value)) or text_key(value) or None
    if kind == "code":
        return code_key(value) or None
    if kind == "regex":
        return collapse(value) or None
    return text_key(value) or None
