"""Scoring PlanSearch on its labelled evaluation set (``bench/cases.jsonl``).

Each case is a query with gold passages, identified by a short verbatim substring
(``contains``) of a source file rather than by passage id, so that the cases survive
changes to chunking and ids. A result "hits" a gold when it comes from the gold's file
and the gold's text occurs in the result's text, both normalised (NFKC, all whitespace
removed). A passage printed twice (a plan and its copy in a gazette) has a gold in
each file.

Metrics, per mode (a search mode such as "keyword"/"hybrid", or "ask"):

* hit@1/5/10 and MRR@10 over answerable cases;
* heading accuracy: of the cases hit within 10 whose hitting gold names a heading, the
  share where the first hitting result's citation or heading path contains it;
* answer@5 (table cases): the expected value is in a top-5 result that also holds a gold;
* all@10 (cross-district cases): every gold group has a gold in the top 10;
* for "ask": the share of negatives refused (``answerable`` False) and of answerable
  cases accepted;
* a per-type breakdown and latency p50/p95.

Run ``python -m search.evaluation --mode keyword --mode hybrid --mode ask``; with
``--min-hit5``/``--min-mrr``/``--min-heading`` it exits 1 when a floor is not met.
The module never talks HTTP: it calls the library (``search.engine.Engine``).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

from .config import PROJECT_ROOT
from .errors import PlanSearchError
from .model import HEADING_SEPARATOR

DEFAULT_CASES = PROJECT_ROOT / "bench" / "cases.jsonl"
DEFAULT_MODES = ("keyword", "hybrid", "ask")
ASK_MODE = "ask"
CASE_TYPES = ("keyword", "question", "quote", "quote_altered", "table", "paraphrase", "cross", "negative")
CASE_KEYS = {"id", "type", "query", "gold", "answer", "all"}
GOLD_KEYS = {"file", "contains", "heading", "group"}
HIT_CUTOFFS = (1, 5, 10)
MRR_CUTOFF = 10
ANSWER_CUTOFF = 5
ALL_CUTOFF = 10
WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Text as compared for matching: NFKC, with all whitespace removed."""
    return WHITESPACE.sub("", unicodedata.normalize("NFKC", text))


def answer_in(answer: str, text: str) -> bool:
    """Whether the value ``answer`` occurs in ``text`` (both normalised).

    A numeric edge must not continue a longer number, so "200" is not found in "2000"
    or "1.200" and "5" is not found in "2.5".
    """
    value, haystack = normalise(answer), normalise(text)
    left = r"(?<!\d)(?<!\d\.)" if value[:1].isdigit() else ""
    right = r"(?!\d)(?!\.\d)" if value[-1:].isdigit() else ""
    return re.search(left + re.escape(value) + right, haystack) is not None


# --------------------------------------------------------------------------- cases


def load_cases(path: str | Path = DEFAULT_CASES) -> list[dict]:
    """Read and validate a JSONL file of cases; raise ValueError naming the first bad line.

    Blank lines are skipped. Every case needs a unique ``id``, a known ``type``, a
    non-empty ``query`` and a ``gold`` list (empty exactly for negatives) of
    ``{"file", "contains", "heading"?, "group"?}``; table cases need ``answer``, cross
    cases need ``"all": true`` and a ``group`` on every gold, in at least two groups.
    """
    path = Path(path)
    cases: list[dict] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
            _check_case(case)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} line {lineno}: invalid JSON ({exc.msg})") from None
        except ValueError as exc:
            raise ValueError(f"{path} line {lineno}: {exc}") from None
        if case["id"] in seen:
            raise ValueError(f"{path} line {lineno}: id {case['id']!r} already used on line {seen[case['id']]}")
        seen[case["id"]] = lineno
        cases.append(case)
    return cases


def _nonempty_str(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _check_case(case) -> None:
    if not isinstance(case, dict):
        raise ValueError("a case must be a JSON object")
    unknown = set(case) - CASE_KEYS
    if unknown:  # catches misspelt keys, which would otherwise be silently ignored
        raise ValueError(f"unknown field(s) {sorted(unknown)}")
    for key in ("id", "query"):
        if not _nonempty_str(case.get(key)):
            raise ValueError(f"{key!r} must be a non-empty string")
    kind = case.get("type")
    if kind not in CASE_TYPES:
        raise ValueError(f"'type' must be one of {', '.join(CASE_TYPES)}, not {kind!r}")
    gold = case.get("gold")
    if not isinstance(gold, list):
        raise ValueError("'gold' must be a list")
    if (kind == "negative") != (not gold):
        raise ValueError("'gold' must be empty for negative cases and non-empty otherwise")
    for n, g in enumerate(gold, start=1):
        if not isinstance(g, dict):
            raise ValueError(f"gold {n} must be a JSON object")
        unknown = set(g) - GOLD_KEYS
        if unknown:
            raise ValueError(f"gold {n}: unknown field(s) {sorted(unknown)}")
        for key in ("file", "contains"):
            if not _nonempty_str(g.get(key)):
                raise ValueError(f"gold {n}: {key!r} must be a non-empty string")
        for key in ("heading", "group"):
            if key in g and not _nonempty_str(g[key]):
                raise ValueError(f"gold {n}: {key!r} must be a non-empty string when present")
        if "group" in g and kind != "cross":
            raise ValueError(f"gold {n}: 'group' is only for cross cases")
    if (kind == "table") != ("answer" in case):
        raise ValueError("'answer' is required for table cases and only allowed there")
    if kind == "table" and not _nonempty_str(case["answer"]):
        raise ValueError("'answer' must be a non-empty string")
    if kind == "cross":
        if case.get("all") is not True:
            raise ValueError("cross cases need \"all\": true")
        if any("group" not in g for g in gold):
            raise ValueError("every gold of a cross case needs a 'group'")
        if len({g["group"] for g in gold}) < 2:
            raise ValueError("a cross case needs golds in at least two groups")
    elif "all" in case:
        raise ValueError("'all' is only for cross cases")


# --------------------------------------------------------------------------- scoring


def score_case(case: dict, texts: list[str], citations: list[str], files: list[str] | None = None) -> dict:
    """Score one case against a ranked result list.

    ``texts[i]`` is the i-th result's passage text and ``citations[i]`` its citation
    (the evaluator appends the heading path). With ``files`` (each result's source
    file), a gold only matches results from its own file, so that an indicator name
    shared by two districts' tables credits the right one. Returns the rank of the
    first result holding a gold (None if none in the top 10), ``rr`` (MRR@10 term),
    ``hit@1/5/10``, and ``heading_ok``/``answer_ok``/``all_ok``, each None when it
    does not apply.
    """
    if len(texts) != len(citations) or (files is not None and len(files) != len(texts)):
        raise ValueError("texts, citations and files must have the same length")
    golds = case["gold"]
    gold_keys = [normalise(g["contains"]) for g in golds]
    texts = [normalise(t) for t in texts[:MRR_CUTOFF]]
    names = [Path(f).name for f in files] if files is not None else [None] * len(texts)
    # matched[i]: the golds that result i holds
    matched = [
        [g for g, key in zip(golds, gold_keys) if key in text and name in (None, g["file"])]
        for text, name in zip(texts, names)
    ]
    rank = next((i + 1 for i, found in enumerate(matched) if found), None)
    result = {
        "id": case["id"],
        "type": case["type"],
        "answerable": bool(golds),
        "rank": rank,
        "rr": 1.0 / rank if rank else 0.0,
    }
    for cutoff in HIT_CUTOFFS:
        result[f"hit@{cutoff}"] = rank is not None and rank <= cutoff

    headings = [normalise(g["heading"]) for g in (matched[rank - 1] if rank else []) if "heading" in g]
    cited = normalise(citations[rank - 1]) if rank else ""
    result["heading_ok"] = any(h in cited for h in headings) if headings else None

    result["answer_ok"] = None
    if "answer" in case:
        result["answer_ok"] = any(
            found and answer_in(case["answer"], text)
            for found, text in zip(matched[:ANSWER_CUTOFF], texts[:ANSWER_CUTOFF])
        )

    result["all_ok"] = None
    if case.get("all"):
        found_groups = {g["group"] for found in matched[:ALL_CUTOFF] for g in found}
        result["all_ok"] = {g["group"] for g in golds} <= found_groups
    return result


def _citation_text(hit) -> str:
    """What the heading check searches: the citation plus the passage's heading path."""
    return f"{hit.citation}\n{HEADING_SEPARATOR.join(hit.passage.heading_path)}"


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank p-th percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _mean(flags) -> float | None:
    flags = [float(f) for f in flags]
    return sum(flags) / len(flags) if flags else None


def _hit_metrics(rows: list[dict]) -> dict:
    metrics = {f"hit@{c}": _mean(r[f"hit@{c}"] for r in rows) for c in HIT_CUTOFFS}
    metrics[f"mrr@{MRR_CUTOFF}"] = _mean(r["rr"] for r in rows)
    return metrics


def summarise(rows: list[dict], ask: bool = False) -> dict:
    """Aggregate per-case rows (from ``score_case`` plus latency) into a mode's metrics.

    Rate metrics are None when no case applies, so "no table cases" is not shown as 0.
    """
    answerable = [r for r in rows if r["answerable"]]
    negatives = [r for r in rows if not r["answerable"]]
    latencies = [r["latency_ms"] for r in rows]
    summary = {"n": len(rows), "answerable_n": len(answerable), "negative_n": len(negatives)}
    summary.update(_hit_metrics(answerable))
    conditional = (("heading", "heading_ok"), (f"answer@{ANSWER_CUTOFF}", "answer_ok"), (f"all@{ALL_CUTOFF}", "all_ok"))
    for name, key in conditional:
        applicable = [r[key] for r in rows if r[key] is not None]
        summary[name] = _mean(applicable)
        summary[f"{name}_n"] = len(applicable)
    if ask:
        summary["refusal"] = _mean(r.get("predicted_answerable") is False for r in negatives)
        summary["acceptance"] = _mean(r.get("predicted_answerable") is True for r in answerable)
    summary["latency_p50_ms"] = percentile(latencies, 50)
    summary["latency_p95_ms"] = percentile(latencies, 95)
    summary["errors"] = sum(1 for r in rows if r.get("error"))
    return summary


def by_type(rows: list[dict], ask: bool = False) -> dict:
    """Per case type: count, hit@1/5/10 and MRR@10 (and refusal/acceptance for ask)."""
    out = {}
    for kind in CASE_TYPES:
        group = [r for r in rows if r["type"] == kind]
        if not group:
            continue
        entry = {"n": len(group)}
        if kind == "negative":
            if ask:
                entry["refusal"] = _mean(r.get("predicted_answerable") is False for r in group)
        else:
            entry.update(_hit_metrics(group))
            if ask:
                entry["acceptance"] = _mean(r.get("predicted_answerable") is True for r in group)
        out[kind] = entry
    return out


def evaluate(engine, cases: list[dict], modes, k: int = 10) -> dict:
    """Run every case through ``engine`` in each mode and score it.

    Search modes call ``engine.search(query, mode=mode, k=k)``; the mode "ask" calls
    ``engine.ask(query, k=k)``. A PlanSearchError on one query (e.g. a mode the index
    cannot serve) is recorded as an error with no results rather than aborting the run.
    """
    if k < MRR_CUTOFF:
        raise ValueError(f"k must be at least {MRR_CUTOFF}: hit@10 and MRR@10 need ten results")
    report = {"k": k, "cases": len(cases), "types": dict(Counter(c["type"] for c in cases)), "modes": {}}
    for mode in modes:
        ask = mode == ASK_MODE
        rows = []
        for case in cases:
            error, response = None, None
            started = time.perf_counter()
            try:
                response = engine.ask(case["query"], k=k) if ask else engine.search(case["query"], mode=mode, k=k)
            except PlanSearchError as exc:
                error = str(exc)
            latency_ms = (time.perf_counter() - started) * 1000
            hits = list(response.hits) if response is not None else []
            citations = [_citation_text(h) for h in hits]
            texts = [h.passage.text for h in hits]
            row = score_case(case, texts, citations, [h.document.source_file for h in hits])
            row.update(query=case["query"], latency_ms=round(latency_ms, 3), top=[h.citation for h in hits[:3]])
            if ask and response is not None:
                row["predicted_answerable"] = bool(response.answerable)
                row["confidence"] = float(response.confidence)
            if error:
                row["error"] = error
            rows.append(row)
        report["modes"][mode] = {"summary": summarise(rows, ask), "by_type": by_type(rows, ask), "cases": rows}
    return report


# --------------------------------------------------------------------------- output

SUMMARY_COLUMNS = (
    ("hit@1", "hit@1"), ("hit@5", "hit@5"), ("hit@10", "hit@10"), ("mrr@10", "MRR@10"),
    ("heading", "heading"), ("answer@5", "answer@5"), ("all@10", "all@10"),
    ("refusal", "refuse"), ("acceptance", "accept"),
    ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"), ("errors", "errors"),
)


def _cell(value, key: str = "") -> str:
    """A metric for the text report: rates to 3 decimals, latencies to 0.1 ms."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.1f}" if key.endswith("_ms") else f"{value:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Aligned columns: the first (mode) left-aligned, the numbers right-aligned."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for row in table:
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_report(report: dict) -> str:
    """A plain-text report: one row per mode with every metric, then hit@5 per case type."""
    types = [t for t in CASE_TYPES if t in report["types"]]
    counts = ", ".join(f"{t} {report['types'][t]}" for t in types)
    parts = [f"{report['cases']} cases ({counts}); k={report['k']}", ""]
    modes = report["modes"]
    parts.append(_table(
        ["mode", *(label for _, label in SUMMARY_COLUMNS)],
        [[mode, *(_cell(m["summary"].get(key), key) for key, _ in SUMMARY_COLUMNS)] for mode, m in modes.items()],
    ))
    parts += ["", "hit@5 by case type (refusal rate for negatives in ask mode)"]
    parts.append(_table(
        ["mode", *types],
        [[mode, *(_cell(m["by_type"].get(t, {}).get("refusal" if t == "negative" else "hit@5")) for t in types)]
         for mode, m in modes.items()],
    ))
    return "\n".join(parts)


def check_floors(report: dict, min_hit5: float | None = None, min_mrr: float | None = None,
                 min_heading: float | None = None) -> list[str]:
    """The floors a report fails, as messages (empty when all are met), for every mode."""
    floors = (("hit@5", min_hit5), ("mrr@10", min_mrr), ("heading", min_heading))
    failures = []
    for mode, m in report["modes"].items():
        for metric, floor in floors:
            if floor is None:
                continue
            value = m["summary"].get(metric)
            if value is None or value < floor:
                failures.append(f"{mode}: {metric} {_cell(value)} is below the floor {floor:.3f}")
    return failures


# --------------------------------------------------------------------------- CLI


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a floor is a fraction between 0 and 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m search.evaluation",
        description="Score PlanSearch on the labelled cases (hit@k, MRR, heading, table, cross, refusal, latency).",
    )
    parser.add_argument("--mode", action="append", dest="modes", metavar="MODE",
                        help=f"search mode, or 'ask'; repeatable (default: {' '.join(DEFAULT_MODES)})")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="JSONL case file (default: %(default)s)")
    parser.add_argument("--k", type=int, default=10, help="results requested per query (default: %(default)s)")
    parser.add_argument("--index", help="index directory (default: PLANSEARCH_INDEX or instance/index)")
    parser.add_argument("--model", help="embedding model, or 'none' for keyword only (default: PLANSEARCH_MODEL)")
    parser.add_argument("--min-hit5", type=_fraction, help="fail (exit 1) if any mode's hit@5 is below this")
    parser.add_argument("--min-mrr", type=_fraction, help="fail (exit 1) if any mode's MRR@10 is below this")
    parser.add_argument("--min-heading", type=_fraction,
                        help="fail (exit 1) if any mode's heading accuracy is below this")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the full report, per case, as JSON")
    return parser


def _open_engine(index: str | None, model: str | None):
    """The library engine; imported here so that scoring alone needs no index."""
    from .config import Settings
    from .engine import Engine

    return Engine.open(Settings().with_(index_dir=index, model=model))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns 0, 1 (a floor not met) or 2 (cannot run)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.k < MRR_CUTOFF:
        parser.error(f"--k must be at least {MRR_CUTOFF}")
    try:
        cases = load_cases(args.cases)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        engine = _open_engine(args.index, args.model)
    except PlanSearchError as exc:  # e.g. IndexNotBuilt: its message says how to build
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        report = evaluate(engine, cases, args.modes or list(DEFAULT_MODES), k=args.k)
    finally:
        engine.close()
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    failures = check_floors(report, args.min_hit5, args.min_mrr, args.min_heading)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
