"""Judged rows: one measure each, with its target and verdict, as data for the report.

The mixed load (mixed.py) and live comments at scale (live_scale.py) hand run.py a list
of `Row`s; whoever lays out the report shows `name`, `shown` (the value with its unit),
`target_text` and `verdict`, and fails the run on any "FAIL". Every target of these rows
is an upper bound (a latency, a count of errors), so a row passes when value ≤ target.
"""

import math
from dataclasses import dataclass


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile of `values` by nearest rank (as mixed_load.lua computes them):
    a value that was measured, never one between two; q=100 is the largest."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


@dataclass(frozen=True)
class Row:
    name: str  # what is measured, e.g. "mixed load (SQLite): write p99"
    value: float | None  # None: not measured (`note` says why)
    unit: str = ""  # "ms", "KiB", "" for a count
    target: float | None = None  # the most it may be; None: reported, not judged
    note: str = ""  # where it comes from, or why it was not measured

    @property
    def ok(self) -> bool | None:
        """True/False when judged, None when there is nothing to judge."""
        if self.value is None or self.target is None:
            return None
        return self.value <= self.target

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "not measured"
        if self.target is None:
            return "reported"
        return "PASS" if self.ok else "FAIL"

    @property
    def shown(self) -> str:
        if self.value is None:
            return "not measured"
        if self.value == int(self.value):
            number = f"{self.value:,.0f}"
        else:
            number = f"{self.value:,.2f}" if abs(self.value) < 10 else f"{self.value:,.1f}"
        return f"{number} {self.unit}".strip()

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "none"
        return f"≤ {self.target:,g} {self.unit}".strip()


def render_rows(rows: list[Row]) -> list[str]:
    """The rows as a Markdown table (with a note column when any row has a note)."""
    notes = any(row.note for row in rows)
    head = "| measure | value | target | result |" + (" note |" if notes else "")
    rule = "| --- | ---: | ---: | --- |" + (" --- |" if notes else "")
    lines = [head, rule]
    for row in rows:
        verdict = "**FAIL**" if row.ok is False else row.verdict  # as the ratios table
        line = f"| {row.name} | {row.shown} | {row.target_text} | {verdict} |"
        lines.append(line + (f" {row.note} |" if notes else ""))
    return lines


def failed(rows: list[Row]) -> list[str]:
    """A message per row that missed its target."""
    return [f"{row.name}: {row.shown}, target {row.target_text}" for row in rows if row.ok is False]
