"""Every measured number quoted in README.md and benchmarks/README.md appears in a stored result under
benchmarks/results/, so a stale number fails CI. Fast: reads text files only, trains nothing.

What counts as a quoted ("measured") number. Checked, outside fenced code blocks:
  1. every decimal literal: `0.603`, `-0.18`, `1.29`, `2.9913`;
  2. every integer followed by a unit of a measured quantity (UNITS: `114 s`, `88 %`, `1.2 pp`,
     `53 trained`, `66 draws`, ...); in a range `6-12 pp` both ends count;
  3. every integer beside a `±` (a mean ± standard deviation: `17 444 ± 2 057`);
  4. every number written with `~` (an approximation: `~833 000`, `~3 min` is not used: quote seconds).
  Integers may use a space as the thousands separator (`30 000`).
Not checked: numbers in fenced code blocks (commands and their flags), numbers glued to letters
(`C16`, `p50`, `resnet20`, `3x3`, `7th`), plain integers without a unit (config values such as 100 steps,
population 6 x 3, 50 archs, years, section and issue numbers), a number right after a comparison sign
(`<= 12 MFLOPs`, `tau >= 0.70`: budgets and goals, not measurements), and the phrases in EXEMPT, each
with its reason.

Where a number is looked up: each section (a heading to the next heading) must name the stored results
it quotes, as a path `benchmarks/results/<name>` (or `results/<name>`); its numbers are looked up in every
numeric literal of the text files (csv, json, md, txt, yaml) under the folders or files it names. A
section that quotes a number but names no stored result fails.

Rounding rules: a quoted number q with d decimals matches a stored value v when |v - q| <= 0.5 * 10**-d
(v rounded to the quoted precision, a tie either way). A number with `%` also matches 100 * v (a stored
fraction). A `~` number with k significant digits (trailing zeros of an integer are not significant) also
matches v rounded to k significant digits.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
READMES = (REPO / "README.md", REPO / "benchmarks" / "README.md")
RESULTS = REPO / "benchmarks" / "results"
TEXT_SUFFIXES = {".csv", ".json", ".md", ".txt", ".yaml", ".jsonl"}

UNITS = (
    r"s\b", r"ms\b", "%", r"pp\b", r"GB\b", r"s/arch\b", r"trained\b", r"look-ups\b", r"draws\b",
    r"evaluations\b", r"persistent-cache hits\b", r"cache hits\b", r"repeats\b", r"candidates\b",
)  # fmt: skip
# Literal phrases whose numbers are not measurements of this project (removed before extraction).
EXEMPT = {
    "Python 3.11": "a version",
    "(β = 0.8)": "the paper's default loss weight, a config value",
    "The paper reports ~4 500": "the paper's number, quoted for comparison",
}

_NUM = r"(?:\d{1,3}(?: \d{3})+(?!\d)|\d+)(?:\.\d+)?"
NUMBER = re.compile(rf"(?<![\w.~])(?P<approx>~ ?)?(?P<sign>-)?(?P<num>{_NUM})(?![\w.]\w|[A-Za-z_])")
RANGE_TAIL = re.compile(rf"\s?[-–]\s?(?:{_NUM})")
UNIT_AFTER = re.compile(r"\s?(?:" + "|".join(UNITS) + ")")
RESULT_PATH = re.compile(r"(?:benchmarks/)?results/([\w.-]+)")
STORED_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Quoted:
    readme: str
    section: str
    text: str  # as written, e.g. "~833 000"
    value: float
    decimals: int
    approx: bool
    percent: bool

    def matches(self, v: float) -> bool:
        candidates = [v, 100 * v] if self.percent else [v]
        for c in candidates:
            if abs(c - self.value) <= 0.5 * 10**-self.decimals + 1e-9:
                return True
            if self.approx and c != 0 and self.value != 0 and math.isfinite(c):
                sig = significant_digits(self.text)
                scale = 10 ** (math.floor(math.log10(abs(c))) - sig + 1)
                if abs(round(c / scale) * scale - self.value) <= 1e-9 * abs(self.value):
                    return True
        return False


def significant_digits(text: str) -> int:
    """`~833 000` -> 3, `~0.99` -> 2, `~38` -> 2: trailing zeros of an integer are not significant."""
    digits = re.sub(r"[^\d.]", "", text)
    if "." in digits:
        return max(1, len(digits.replace(".", "").lstrip("0")))
    return max(1, len(digits.lstrip("0").rstrip("0")))


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body: the heading line and its text, without code blocks) for each section."""
    out, heading, body, fenced = [], "(top)", [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):  # fenced or indented code: commands
            continue
        if re.match(r"#{1,6} ", line):
            out.append((heading, "\n".join(body)))
            heading, body = line.lstrip("# ").strip(), []
        body.append(line)  # the heading line belongs to its section
    out.append((heading, "\n".join(body)))
    return out


def quoted_numbers(readme: str, section: str, body: str) -> list[Quoted]:
    for phrase in EXEMPT:
        body = body.replace(phrase, " ")
    found = []
    for m in NUMBER.finditer(body):
        before = body[: m.start()].rstrip()
        if re.search(r"[A-Za-z_]-$", body[: m.start()]):
            continue  # `top-10`, `cifar10-jpg`: part of a name
        if before.endswith(("<=", ">=", "<", ">", "≤", "≥")):
            continue  # a budget or a goal
        num, after = m.group("num"), body[m.end() :]
        decimal, approx = "." in num, bool(m.group("approx"))
        tail = RANGE_TAIL.match(after)
        unit_after = after[tail.end() :] if tail else after
        has_unit = bool(UNIT_AFTER.match(unit_after))
        plus_minus = after.lstrip().startswith("±") or before.endswith("±")
        if not (decimal or approx or has_unit or plus_minus):
            continue
        value = float(num.replace(" ", "")) * (-1 if m.group("sign") else 1)
        found.append(
            Quoted(
                readme=readme,
                section=section,
                text=m.group(0),
                value=value,
                decimals=len(num.split(".")[1]) if decimal else 0,
                approx=approx,
                percent=bool(re.match(r"\s?%", unit_after)),
            )
        )
    return found


def stored_values(paths: list[Path]) -> list[float]:
    values = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            if f.suffix in TEXT_SUFFIXES:
                found = (float(v) for v in STORED_NUMBER.findall(f.read_text(errors="replace")))
                values += [v for v in found if math.isfinite(v)]
    return values


def result_paths(body: str) -> list[Path]:
    paths = []
    for name in dict.fromkeys(RESULT_PATH.findall(body)):
        path = RESULTS / name.rstrip(".")
        if path.exists():
            paths.append(path)
    return paths


def problems(readme: Path, text: str | None = None) -> list[str]:
    text = readme.read_text() if text is None else text
    errors = []
    for heading, body in sections(text):
        numbers = quoted_numbers(readme.name, heading, body)
        if not numbers:
            continue
        paths = result_paths(body)
        if not paths:
            errors.append(
                f"{readme.name} § {heading!r}: quotes {[q.text for q in numbers]} but names no stored result"
            )
            continue
        values = stored_values(paths)
        for q in numbers:
            if not any(q.matches(v) for v in values):
                names = ", ".join(str(p.relative_to(RESULTS)) for p in paths)
                errors.append(f"{readme.name} § {heading!r}: {q.text!r} is in no stored result under {names}")
    return errors


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_quoted_number_is_stored(readme: Path) -> None:
    assert problems(readme) == []


def test_the_rules_catch_what_they_claim() -> None:
    nums = {
        q.text: q
        for q in quoted_numbers(
            "x", "s", "ratio 1.035 (0.91-1.35), 114 s wall, 6-12 pp, 17 444 ± 2 057, ~833 000"
        )
    }
    assert set(nums) == {"1.035", "0.91", "1.35", "114", "6", "12", "17 444", "2 057", "~833 000"}
    assert nums["~833 000"].matches(833333.3) and not nums["~833 000"].matches(835000.0)
    assert nums["1.035"].matches(1.0349) and not nums["1.035"].matches(1.036)
    assert [significant_digits(t) for t in ("~833 000", "~0.99", "~38", "~1 900")] == [3, 2, 2, 2]
    skipped = (
        "C16 N5, p50, resnet20, 3x3, 7th, 100 steps, population 6 x 3, <= 12 MFLOPs, tau >= 0.70, WACV 2024"
    )
    assert quoted_numbers("x", "s", skipped) == []
    assert [q.text for q in quoted_numbers("x", "s", "found 88 % (of 0.875)")] == ["88", "0.875"]
    assert quoted_numbers("x", "s", "88 %")[0].matches(0.875)


def _not_stored(q: Quoted, values: list[float]) -> str:
    """The quoted number moved by whole steps of its last digit until no stored value matches it."""
    for k in range(1, 1000):
        v = q.value + k * 10**-q.decimals
        text = f"{v:.{q.decimals}f}"
        if not any(Quoted("x", "s", text, v, q.decimals, False, q.percent).matches(s) for s in values):
            return text
    raise AssertionError(f"every value near {q.text} is stored")


def test_a_stale_number_fails() -> None:
    """Edit the first checked number of each README to a value no stored file holds: the check must fail."""
    for readme in READMES:
        text = readme.read_text()
        heading, body = next((h, b) for h, b in sections(text) if quoted_numbers("x", h, b))
        q = quoted_numbers("x", heading, body)[0]
        stale = _not_stored(q, stored_values(result_paths(body)))
        start = text.index(body.splitlines()[0])  # the section's heading line
        at = re.compile(rf"(?<![\w.]){re.escape(q.text)}(?![\w.]\w)").search(text, start)
        assert at is not None
        edited = text[: at.start()] + stale + text[at.end() :]
        assert any(f"{stale!r}" in p for p in problems(readme, edited)), f"{readme.name}: {q.text} -> {stale}"


@pytest.mark.parametrize("name", ["search_quality", "search_quality_pop10_gen6", "search_quality_medium"])
def test_max_flops_picker_counts(name: str) -> None:
    """'beats the max-FLOPs picker on N of M settings' is counted from the stored summary.csv."""
    body = next(
        b
        for _, b in sections((REPO / "benchmarks" / "README.md").read_text())
        if f"benchmarks/results/{name}/" in b
    )
    with open(RESULTS / name / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    wins = sum(float(r["regret_mean"]) < float(r["max_flops_regret"]) for r in rows)
    claims = re.findall(r"beats the max-FLOPs picker on (\d+) of (\d+) settings", body)
    assert claims == [(str(wins), str(len(rows)))]


def test_reproduce_sh_runs_each_stored_command() -> None:
    """benchmarks/reproduce.sh invokes every stored result's command exactly (command.txt), nothing else."""
    script = (REPO / "benchmarks" / "reproduce.sh").read_text()
    invoked = {"python " + m for m in re.findall(r"^\s*run (benchmarks/\S+\.py.*)$", script, re.M)}
    stored = {p.read_text().strip() for p in RESULTS.glob("*/command.txt")}
    assert invoked == stored
