"""Final-answer extraction and normalisation (think.strategies.answers / .normalize)."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from think.strategies.answers import (
    AUTO,
    AnswerFormat,
    Extracted,
    extract_answer,
    normalize,
    parse_answer_format,
    same_answer,
)
from think.strategies.normalize import AnswerKind, number_key, snap

NUMBER = AnswerFormat("number")
CHOICE = AnswerFormat("choice")
YESNO = AnswerFormat("yesno")
DATE = AnswerFormat("date")
TEXT = AnswerFormat("text")


def key(text: str, fmt: AnswerFormat = AUTO, **kwargs: object) -> str | None:
    found = extract_answer(text, fmt, **kwargs)  # type: ignore[arg-type]
    return found.key if found else None


# ---------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("auto", "auto"),
        ("number", "number"),
        ("choice", "choice"),
        ("yesno", "yesno"),
        ("date", "date"),
        ("text", "text"),
        (" Number ", "number"),
    ],
)
def test_parse_answer_format_kinds(spec: str, kind: str) -> None:
    fmt = parse_answer_format(spec)
    assert fmt.kind == kind
    assert fmt.pattern is None


def test_parse_answer_format_regex_keeps_the_pattern_verbatim() -> None:
    fmt = parse_answer_format("regex:ANSWER: (\\d+)")
    assert fmt.kind == "regex"
    assert fmt.pattern is not None
    assert fmt.pattern.pattern == "ANSWER: (\\d+)"


@pytest.mark.parametrize(
    "spec", ["", "numbers", "code", "regex", "regex:", "number:x", "auto:", "yes/no"]
)
def test_parse_answer_format_rejects_bad_specs_with_one_line(spec: str) -> None:
    with pytest.raises(ValueError, match=r".") as info:
        parse_answer_format(spec)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("pattern", ["(unclosed", "[a-", "*x", "(?P<1>x)", "a{2,1}"])
def test_parse_answer_format_bad_regex_is_a_value_error(pattern: str) -> None:
    with pytest.raises(ValueError, match="bad regular expression") as info:
        parse_answer_format(f"regex:{pattern}")
    assert "\n" not in str(info.value)
    assert not isinstance(info.value, re.error)


# ---------------------------------------------------------------------------- locating


def test_boxed_wins_over_markers_and_last_line() -> None:
    text = "The answer is 3.\nSo \\boxed{42} is it.\nAnswer: 7\nlast line 9"
    assert key(text, NUMBER) == "42"


def test_boxed_nested_braces_and_last_box() -> None:
    assert key("first \\boxed{1}, then \\boxed{\\frac{3}{4}}", NUMBER) == "0.75"
    assert key("\\boxed{\\text{Paris}}", TEXT) == "paris"
    assert key("\\boxed {12} done", NUMBER) == "12"


def test_empty_box_is_ignored() -> None:
    assert key("The answer is 5. \\boxed{}", NUMBER) == "5"


@pytest.mark.parametrize(
    "text",
    [
        "Working: 2 + 2 = 4.\nThe answer is 18.",
        "the final answer is 18",
        "Answer: 18",
        "Final answer: 18 eggs",
        "**Answer**: 18",
        "**Answer:** 18",
        "**Final Answer:** $18",
        "Therefore, Janet makes $18 every day.",
        "So the answer is 18!",
        "THE ANSWER IS 18.",
        "the correct answer is 18",
        "Final Answer:\n\n18",
    ],
)
def test_markers(text: str) -> None:
    assert key(text, NUMBER) == "18"


def test_last_marker_occurrence_wins() -> None:
    assert key("The answer is 3. Wait, recheck. The answer is 4.", NUMBER) == "4"
    assert key("Answer: 5\nActually the final answer is 6", NUMBER) == "6"


def test_first_number_after_the_marker() -> None:
    assert key("The answer is 18 dollars, not 20", NUMBER) == "18"
    assert key("The answer is $22. She sells 9 eggs for $18.", NUMBER) == "22"


def test_result_after_equals_in_a_marker_span() -> None:
    assert key("The answer is 9 * $2 = $18.", NUMBER) == "18"
    assert key("The answer is 18 (9 x 2 = 18).", NUMBER) == "18"


def test_marker_sentence_that_does_not_open_with_the_number() -> None:
    text = "Final Answer: With his improved diet, Gerald can run the 400-meter hurdles in 36 s."
    assert key(text, NUMBER) == "36"
    assert key("Final Answer: Mr. Jackson needs to buy 7 packs.", NUMBER) == "7"


def test_last_line_takes_the_last_number() -> None:
    assert key("Some working 1 2 3\nShe has 4 apples and 5 pears", NUMBER) == "5"


def test_last_line_prefers_the_result_of_its_computation() -> None:
    text = "He eats 2 a day.\nSo he spends 15 * $5.00 = $75.00 on yogurt over 30 days."
    assert key(text, NUMBER) == "75"
    text = "20 + 72 = 92.\nSo, a bag of marbles would cost $92 after 36 months."
    assert key(text, NUMBER) == "92"


def test_last_line_ignores_parenthesised_working() -> None:
    assert key("In total, Amy scores 41 points (26+15) on the test.", NUMBER) == "41"


def test_question_header_after_final_answer_is_not_the_answer() -> None:
    text = "Final Answer: How much does she make?\nShe makes 9 x $2 = $18 every day."
    assert key(text, NUMBER) == "18"
    text = "Final Answer: Calculate the total.\n\nFirst 2 + 3 = 5.\nThe total is $5 in all."
    assert key(text, NUMBER) == "5"


def test_early_therefore_does_not_hide_later_working() -> None:
    text = "Therefore, 36 + 85 + x = 180.\n\nSimplifying, x = 59.\n\nSo it took James 59 minutes."
    assert key(text, NUMBER) == "59"


def test_trailing_punctuation_markdown_and_latex_are_stripped() -> None:
    assert key("The answer is **18**.", NUMBER) == "18"
    assert key("The answer is $18$.", NUMBER) == "18"
    assert key("The answer is \\(18\\).", NUMBER) == "18"
    assert key("The answer is $\\text{18 eggs}$", NUMBER) == "18"
    assert extract_answer("The answer is **Paris**.", TEXT) == Extracted("Paris", "paris", "text")
    assert key("Final answer: *the* _Beatles_!", TEXT) == "beatles"


def test_code_block_for_text_kind() -> None:
    text = "Here you go:\n```python\ndef f(x):   \n    return x\n```\n"
    found = extract_answer(text, TEXT)
    assert found == Extracted("def f(x):   \n    return x", "def f(x):\n    return x", "code")
    assert extract_answer(text) == found  # auto: a text that ends with a code block


def test_code_block_before_a_marker_is_not_the_answer() -> None:
    text = "```\nprint(2)\n```\nThe answer is Paris."
    assert extract_answer(text, TEXT) == Extracted("Paris", "paris", "text")


def test_auto_prefers_a_marker_over_a_closing_code_block() -> None:
    assert key("The answer is 5:\n```\nx = 5\n```") == "5"


# ---------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1,234", "1234"),
        ("1 234", "1234"),
        ("1,234,567.5", "1234567.5"),
        ("$1,234", "1234"),
        ("€18", "18"),
        ("£18.50", "18.5"),
        ("18 USD", "18"),
        ("USD 18", "18"),
        ("18 eggs", "18"),
        ("$18.00 per day", "18"),
        ("-5", "-5"),
        ("−5", "-5"),
        ("-$5", "-5"),
        ("$-5", "-5"),
        ("3/4", "0.75"),
        ("\\frac{3}{4}", "0.75"),
        ("\\dfrac{1}{3}", "1/3"),
        ("-\\frac{3}{4}", "-0.75"),
        ("1 1/2", "1.5"),
        ("2 2/3 cups", "8/3"),
        ("½", "0.5"),
        ("2½", "2.5"),
        ("0.5", "0.5"),
        (".5", "0.5"),
        ("50%", "50"),
        ("12.5 percent", "12.5"),
        ("1.2e3", "1200"),
        ("1.2E-2", "0.012"),
        ("1.2×10^3", "1200"),
        ("1.2 x 10^{3}", "1200"),
        ("1.2 × 10³", "1200"),
        ("18.0", "18"),
        ("18.000", "18"),
        ("0", "0"),
        ("-0", "0"),
        ("10/4", "2.5"),
        ("1/3", "1/3"),
        ("2:30 pm", "2.5"),
        ("16.999999999999996", "17"),
        ("0.30000000000000004", "0.3"),
        ("3.3333333333333335", "10/3"),
        ("-0.8333333333333334", "-5/6"),
        ("532.4666656177045", "532.4666656177045"),
    ],
)
def test_number_forms(written: str, expected: str) -> None:
    assert normalize(written, "number") == expected
    assert key(f"The answer is {written}.", NUMBER) == expected
    assert key(f"So the total is\n{written}", NUMBER) == expected


def test_subtraction_is_not_a_sign() -> None:
    assert key("16-3-4=9", NUMBER) == "9"
    assert key("The answer is 9 - 7", NUMBER) == "9"


def test_dates_and_ratios_are_not_fractions() -> None:
    assert normalize("12/31/1999", "number") is None
    assert normalize("1,2345", "number") == "1"


def test_number_key_renders_exactly() -> None:
    assert number_key(Fraction(1, 1024)) == "0.0009765625"
    assert number_key(Fraction(10**30 + 1, 10)) == "100000000000000000000000000000.1"
    assert number_key(Fraction(-7, 3)) == "-7/3"
    assert number_key(Fraction(0)) == "0"


def test_snap_only_touches_float_noise() -> None:
    assert snap(Fraction("16.999999999999996")) == 17
    assert snap(Fraction("3.14159265358979")) == Fraction("3.14159265358979")  # 15 digits
    exact = Fraction("1.000000000000000888178419700125232")  # 34 digits: not a float repr
    assert snap(exact) == exact


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n ",
        "I'm sorry, but I cannot help with that.",
        "The answer cannot be determined from the given information.",
        "There is not enough information to solve this.",
        "no digits here at all",
        "x = 3\nanswer = total_cost",
        "answer = total_cost\n\nThe answer is None.",
    ],
)
def test_no_number_is_none(text: str) -> None:
    assert extract_answer(text, NUMBER) is None


def test_auto_refusals_and_unrun_programs_are_no_answer() -> None:
    assert extract_answer("I'm sorry, I can't answer that.") is None
    assert extract_answer("x = 3\nanswer = total_cost") is None


def test_explicit_none_marker_wins_over_earlier_numbers() -> None:
    assert extract_answer("eggs = 16\nanswer = eggs - 3\n\nThe answer is None.", NUMBER) is None


def test_number_text_is_the_number_as_written() -> None:
    found = extract_answer("She makes $1,234.50 a day. The answer is $1,234.50.", NUMBER)
    assert found == Extracted("$1,234.50", "1234.5", "number")


# ---------------------------------------------------------------------------- choices


@pytest.mark.parametrize(
    "text",
    [
        "B",
        "b",
        "(b)",
        "b)",
        "[B]",
        "option B",
        "Option (b)",
        "Answer: B.",
        "The answer is B",
        "the correct choice is (B)",
        "The best option is (b) because it fits.",
        "**Answer:** (B) 42 apples",
        "B) 42 apples",
        "I would go with B.",
        "\\boxed{B}",
    ],
)
def test_choice_forms(text: str) -> None:
    assert key(text, CHOICE) == "B"


def test_choice_ignores_articles() -> None:
    assert key("A cat sat on the mat", CHOICE) is None
    assert key("The answer is a bit unclear, but C", CHOICE) == "C"
    assert key("The answer is A.", CHOICE) == "A"


def test_choice_maps_option_text_to_its_letter() -> None:
    options = ["a shark", "the blue whale", "a dolphin"]
    assert key("The answer is the blue whale.", CHOICE, options=options) == "B"
    assert key("I think it is the Blue Whale", CHOICE, options=options) == "B"
    assert key("The answer is 42 apples", options=["40", "42", "44"]) == "B"
    assert key("The answer is (c)", options=options) == "C"


def test_choice_letter_beyond_e_is_not_a_choice() -> None:
    assert key("F", CHOICE) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("So x = 10(√3 - 1)/3.\n\nTherefore, the answer is option C) 7(√3 - 1).", "C"),
        ("So there are 2 distinct letters.\n\nAnswer: A)74453.", "A"),
        ("Solving, x = $78.20\n\nSo the original price was (e) $78.20.", "E"),
        ("Since they are independent, P = 0.2. Answer option A) 0.2 is correct.", "A"),
        ("(a) 10 is more than 9.95.\n(b) 9 is less than 9.22.\n\nSo it is (a) (99,10).", "A"),
        ("So the answer is (e), none of these.", "E"),
        ("The price is $235, so the closest answer choice is (c) $240.", "C"),
        ("So the answer is B) 12 apples.", "B"),
    ],
)
def test_choice_as_models_write_it(text: str, expected: str) -> None:
    assert key(text, CHOICE) == expected


def test_capital_letters_in_prose_are_not_choices() -> None:
    assert key("The answer is not given, as the chance of A given B is not stated.", CHOICE) is None
    assert key("The answer is unclear: point B lies on the line.", CHOICE) is None
    assert key("The answer is a bit unclear, but C", CHOICE) == "C"


def test_choice_given_as_an_option_value_or_none_of_the_above() -> None:
    options = ["$61", "$65", "$67.40", "$70", "None of these"]
    assert key("The answer is $70.", CHOICE, options=options) == "D"
    assert key("So the answer is none of these.", CHOICE, options=options) == "E"
    assert key("So the answer is none of the above.", CHOICE) is None


# ---------------------------------------------------------------------------- yes / no


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes", "yes"),
        ("yes.", "yes"),
        ("**No**", "no"),
        ("TRUE", "yes"),
        ("false", "no"),
        ("The answer is: yes, she can.", "yes"),
        ("No, she cannot afford it.", "no"),
        ("Correct", "yes"),
        ("Incorrect.", "no"),
    ],
)
def test_yesno_forms(text: str, expected: str) -> None:
    assert key(text, YESNO) == expected
    assert key(text) == expected  # auto: a lone yes/no/true/false


def test_yesno_explicit_kind_reads_short_statements() -> None:
    assert key("The statement is true.", YESNO) == "yes"
    assert key("It is not true.", YESNO) == "no"
    assert key("Maybe.", YESNO) is None


def test_correct_is_not_yesno_unless_alone() -> None:
    assert key("The statement is correct") == "statement is correct"
    assert extract_answer("That is correct and fine.", YESNO) is None


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "written",
    [
        "01/05/2021",
        "1/5/2021",
        "January 5, 2021",
        "Jan 5 2021",
        "Jan. 5th, 2021",
        "5 January 2021",
        "5th of January, 2021",
        "2021-01-05",
        "2021/1/5",
    ],
)
def test_date_forms(written: str) -> None:
    assert normalize(written, "date") == "01/05/2021"
    assert key(f"The answer is {written}.", DATE) == "01/05/2021"
    assert key(f"The answer is {written}.") == "01/05/2021"  # auto


def test_two_digit_years_are_left_as_written() -> None:
    assert normalize("01/05/21", "date") == "01/05/21"
    assert key("The answer is 1/5/21.", DATE) == "1/5/21"


def test_invalid_date_falls_back_to_text() -> None:
    assert key("The answer is 02/30/2021.", DATE) == "02/30/2021"


@pytest.mark.parametrize(
    "text",
    [
        "Final Answer: What is the date today?\nWe cannot determine the date without more context.",
        "Today is 8/3/1997. Without more information, we cannot answer this question.",
        "If it is a leap year, the answer is 02/29/2016. Otherwise, the answer is 03/01/YYYY.",
        "This question was answered above. Please refer to that answer.",
    ],
)
def test_a_date_question_declined_has_no_answer(text: str) -> None:
    assert key(text, DATE) is None


def test_date_after_a_declined_aside_is_the_answer() -> None:
    text = "I cannot tell what 8/3/1997 means. However, the answer to the question is 08/03/1997."
    assert key(text, DATE) == "08/03/1997"
    assert key("Today's date is 05/30/2021.", DATE) == "05/30/2021"


def test_not_enough_information_is_no_number() -> None:
    text = "Final Answer: How many roses?\nWe don't have enough information to answer this."
    assert key(text, NUMBER) is None


@pytest.mark.parametrize(
    "text",
    [  # closing lines of gpt-3.5-turbo answers in ../shared/replay/gsm8k.jsonl
        "The total distance he traveled is 90 + 144 = 234 miles. However, we don't know if he "
        "ended up back at his house or not. We need more information to determine how far he "
        "is from his house now.",
        "And the total number of dishes they have together is 60 + 30 = 90 dishes.\n"
        "So, together they have 3x + 90 items. The answer cannot be simplified further "
        "without knowing the value of x.",
        "The answer depends on the starting temperature and the 2 hours when it was off. "
        "More information is needed to solve this problem.",
        "The difference is 0.02x. Therefore, we cannot give a specific number for the "
        "difference between green and red jelly beans.",
        "x = -5\nSince Colin's age cannot be negative, we made an error in our calculations. "
        "Therefore, there is no valid answer to this question.",
    ],
)
def test_a_closing_sentence_that_declines_leaves_no_number(text: str) -> None:
    assert key(text, NUMBER) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4 boxes hold 24 eggs. No more information is needed: she has 24 eggs.", "24"),
        ("We don't need more information to solve this. She has 24 eggs left.", "24"),
        ("The answer is 0, since there is no valid solution with x > 5.", "0"),
        ("The number of real solutions is 0: there is no valid solution.", "0"),
        ("He guessed on 8 questions without knowing the answer, so he got 8 / 4 = 2 right.", "2"),
        ("So the answer is 12, without knowing the exact ages we still get 12.", "12"),
    ],
)
def test_declining_words_beside_a_number_do_not_hide_it(text: str, expected: str) -> None:
    assert key(text, NUMBER) == expected


def test_a_doubt_before_the_final_answer_does_not_hide_it() -> None:
    text = (
        "We don't know how far he traveled during that time, so we can't include it. "
        "In total, he has traveled 32 + 48 = 80 miles. The answer is 80."
    )
    assert key(text, NUMBER) == "80"


# ---------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("The Beatles", "beatles"),
        ("  an   Apple  Pie! ", "apple pie"),
        ('"Paris."', "paris"),
        ("A", "a"),
        ("**New  York**", "new york"),
    ],
)
def test_text_keys(written: str, expected: str) -> None:
    assert normalize(written, "text") == expected


def test_text_marker_takes_the_first_sentence() -> None:
    assert key("The answer is Paris. It is the capital.", TEXT) == "paris"
    assert key("Final answer: Dr. Smith. He did it.", TEXT) == "dr. smith"


def test_empty_text_value_is_none() -> None:
    assert normalize(" ... ", "text") is None


# ---------------------------------------------------------------------------- auto


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("The answer is B.", "choice", "B"),
        ("The answer is (b)", "choice", "B"),
        ("Answer: option D", "choice", "D"),
        ("The answer is yes.", "yesno", "yes"),
        ("True", "yesno", "yes"),
        ("The answer is 18 eggs.", "number", "18"),
        ("The answer is January 5, 2021.", "date", "01/05/2021"),
        ("The answer is Paris.", "text", "paris"),
    ],
)
def test_auto_guesses_the_kind(text: str, kind: str, expected: str) -> None:
    found = extract_answer(text)
    assert found is not None
    assert (found.kind, found.key) == (kind, expected)


def test_auto_with_options_is_a_choice() -> None:
    found = extract_answer("The answer is dolphin", options=["shark", "whale", "dolphin"])
    assert found == Extracted("dolphin", "C", "choice")


# ---------------------------------------------------------------------------- regex


def test_regex_last_match_and_group() -> None:
    fmt = parse_answer_format(r"regex:ANSWER:[ \t]*(\w+(?:[ \t]+\w+)?)")
    assert extract_answer("ANSWER: foo\nANSWER:  new   york", fmt) == Extracted(
        "new   york", "new york", "regex"
    )


def test_regex_without_groups_uses_the_whole_match() -> None:
    fmt = parse_answer_format(r"regex:\d+ apples")
    assert key("3 apples then 5 apples", fmt) == "5 apples"


def test_regex_without_a_match_is_none() -> None:
    assert extract_answer("nothing here", parse_answer_format("regex:ZZZ(\\d)")) is None
    assert extract_answer("x", parse_answer_format("regex:(y)?x")) is None  # empty group


# ---------------------------------------------------------------------------- same_answer


def test_same_answer() -> None:
    assert same_answer(extract_answer("The answer is $1,800.00."), "1800", "number")
    assert not same_answer(extract_answer("The answer is 18."), "19", "number")
    assert not same_answer(None, "18", "number")
    assert not same_answer(extract_answer("The answer is 18."), "no number", "number")
    assert same_answer(extract_answer("(b)", CHOICE), "B", "choice")
    options = ["red", "green"]
    assert same_answer(extract_answer("green", CHOICE, options=options), "B", "choice")
    assert same_answer(extract_answer("Yes."), "yes", "yesno")
    assert same_answer(extract_answer("2021-01-05", DATE), "01/05/2021", "date")


# ---------------------------------------------------------------------------- properties

finite_decimals = st.builds(
    lambda n, places: Fraction(n, 10**places),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.integers(min_value=0, max_value=6),
)


def _decimal_text(value: Fraction, *, zeros: int = 0) -> str:
    key_text = number_key(value).lstrip("-")
    if zeros:
        key_text += ("" if "." in key_text else ".") + "0" * zeros
    return key_text


def _group(digits: str, sep: str) -> str:
    whole, dot, frac = digits.partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sep.join(groups) + dot + frac


@st.composite
def number_surface(draw: st.DrawFn) -> tuple[Fraction, str]:
    value = draw(finite_decimals)
    body = _decimal_text(value, zeros=draw(st.integers(0, 3)))
    if abs(value) >= 1000:
        body = _group(body, draw(st.sampled_from(["", ",", " "])))
    sign = draw(st.sampled_from(["-", "−"])) if value < 0 else ""
    style = draw(st.sampled_from(["plain", "currency", "percent", "unit", "code"]))
    if style == "currency":
        currency = draw(st.sampled_from(["$", "€", "£", "USD "]))
        text = draw(st.sampled_from([f"{sign}{currency}{body}", f"{currency}{sign}{body}"]))
    elif style == "percent":
        text = f"{sign}{body}{draw(st.sampled_from(['%', ' percent']))}"
    elif style == "unit":
        text = f"{sign}{body} {draw(st.sampled_from(['eggs', 'dollars per day', 'USD', 'km']))}"
    else:
        text = f"{sign}{body}"
    return value, text


ANSWER_TEMPLATES = [
    "The answer is {}.",
    "Working: 1 + 1 = 2.\nFinal answer: **{}**",
    "So the answer is {}!",
    "Step 1: 7 apples.\n\\boxed{{{}}}",
    "Answer: {}",
    "lots of working 3 4 5\nShe has {}",
]


@given(number_surface(), st.sampled_from(ANSWER_TEMPLATES))
def test_number_surface_forms_share_the_plain_key(
    surface: tuple[Fraction, str], template: str
) -> None:
    value, text = surface
    expected = number_key(value)
    assert normalize(text, "number") == expected
    assert key(template.format(text), NUMBER) == expected


@given(
    st.integers(min_value=-9999, max_value=9999),
    st.integers(min_value=1, max_value=99),
)
def test_fraction_forms_share_a_key(numerator: int, denominator: int) -> None:
    value = Fraction(numerator, denominator)
    expected = number_key(value)
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    forms = [
        f"{numerator}/{denominator}",
        f"{sign}\\frac{{{magnitude.numerator}}}{{{magnitude.denominator}}}",
        f"{sign}{magnitude.numerator}/{magnitude.denominator} cups",
    ]
    whole = magnitude.numerator // magnitude.denominator
    rest = magnitude - whole
    if whole and rest:
        forms.append(f"{sign}{whole} {rest.numerator}/{rest.denominator}")
    for form in forms:
        assert normalize(form, "number") == expected, form
        assert key(f"The answer is {form}.", NUMBER) == expected, form


@given(
    st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False),
    st.integers(min_value=-4, max_value=4),
)
def test_scientific_notation(mantissa: object, exponent: int) -> None:
    value = Fraction(str(mantissa)) * Fraction(10) ** exponent
    expected = number_key(value)
    for form in (f"{mantissa}e{exponent}", f"{mantissa}×10^{{{exponent}}}"):
        assert normalize(form, "number") == expected, form


@given(st.fractions(max_denominator=10**6).filter(lambda f: abs(f) < 10**15))
def test_number_keys_are_idempotent(value: Fraction) -> None:
    found = number_key(value)
    assert normalize(found, "number") == found


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_float_reprs_get_idempotent_keys(value: float) -> None:
    found = normalize(repr(value), "number")
    assert found is not None
    assert normalize(found, "number") == found


CHOICE_WRAPPERS = [
    "{}",
    "({})",
    "{})",
    "[{}]",
    "option {}",
    "Option ({})",
    "Answer: {}.",
    "the correct choice is ({})",
    "**{}**",
    "The answer is {}.",
    "Final answer: \\boxed{{{}}}",
]


@given(
    st.sampled_from("ABCDE"),
    st.booleans(),
    st.sampled_from(CHOICE_WRAPPERS),
    st.sampled_from(["", "Let me think.\n", "Options considered: (A) to (E).\n"]),
)
def test_choice_letters_in_wrappers(letter: str, lower: bool, wrapper: str, prefix: str) -> None:
    written = wrapper.format(letter.lower() if lower else letter)
    assert key(prefix + written, CHOICE) == letter
    assert key(prefix + written) == letter  # auto
    assert normalize(written, "choice") == letter
    assert normalize(letter, "choice") == letter


MONTH_NAMES = [dt.date(2000, m, 1).strftime("%B") for m in range(1, 13)]


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(2999, 12, 31)))
def test_dates_in_all_formats_share_a_key(day: dt.date) -> None:
    expected = f"{day.month:02d}/{day.day:02d}/{day.year:04d}"
    month = MONTH_NAMES[day.month - 1]
    forms = [
        expected,
        f"{day.month}/{day.day}/{day.year}",
        f"{month} {day.day}, {day.year}",
        f"{month[:3]}{'.' if len(month) > 3 else ''} {day.day}, {day.year}",
        f"{day.day} {month} {day.year}",
        f"{day.year}-{day.month:02d}-{day.day:02d}",
    ]
    for form in forms:
        assert normalize(form, "date") == expected, form
        assert key(f"The answer is {form}.", DATE) == expected, form
    assert normalize(expected, "date") == expected


KINDS: list[AnswerKind] = ["number", "choice", "yesno", "date", "text", "code", "regex"]


@settings(max_examples=300)
@given(st.text(max_size=40), st.sampled_from(KINDS))
def test_keys_are_idempotent_for_any_text(value: str, kind: AnswerKind) -> None:
    found = normalize(value, kind)
    if found is not None:
        assert normalize(found, kind) == found


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_extraction_never_crashes_and_keys_are_stable(text: str) -> None:
    for fmt in (AUTO, NUMBER, CHOICE, YESNO, DATE, TEXT):
        found = extract_answer(text, fmt)
        if found is not None:
            assert found.key
            assert normalize(found.key, found.kind) == found.key


@given(st.sampled_from(["yes", "no", "true", "false"]), st.sampled_from(["{}", "**{}**", "{}."]))
def test_yesno_wrappers(word: str, wrapper: str) -> None:
    expected = "yes" if word in ("yes", "true") else "no"
    for cased in (word, word.upper(), word.capitalize()):
        assert key(wrapper.format(cased), YESNO) == expected
        assert normalize(expected, "yesno") == expected
