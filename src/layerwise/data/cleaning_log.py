"""The written account of every change clean() makes, for the console, the report and the bundle."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CleaningLog:
    """One entry per (rule, column) that changed something; rules that changed nothing are absent."""

    rows_in: int = 0
    rows_out: int = 0
    entries: list[dict] = field(default_factory=list)

    def add(self, rule: str, column: str | None, count: int, detail: str) -> None:
        """Record that `rule` changed `count` values or rows (of `column`, when it is about one)."""
        self.entries.append(
            {
                "rule": str(rule),
                "column": None if column is None else str(column),
                "count": int(count),
                "detail": str(detail),
            }
        )

    def count(self, rule: str) -> int:
        """Total count of one rule over all columns (0 when it changed nothing)."""
        return sum(e["count"] for e in self.entries if e["rule"] == rule)

    def to_dict(self) -> dict:
        return {
            "rows_in": int(self.rows_in),
            "rows_out": int(self.rows_out),
            "entries": [dict(e) for e in self.entries],
        }

    @classmethod
    def from_dict(cls, d: dict) -> CleaningLog:
        return cls(rows_in=d["rows_in"], rows_out=d["rows_out"], entries=[dict(e) for e in d["entries"]])

    def lines(self) -> list[str]:
        """Human sentences, one per entry, then the row count."""
        out = [f"{e['column']}: {e['detail']}" if e["column"] else e["detail"] for e in self.entries]
        out.append(f"{self.rows_in} rows in, {self.rows_out} rows out")
        return out
