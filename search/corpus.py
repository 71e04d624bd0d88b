"""Loading the whole corpus: every file decoded, split into documents, parsed and linked.

One bad file never stops the others: its error is recorded in ``Corpus.errors`` and
the build goes on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .dedup import link_duplicates
from .errors import CorpusError
from .model import Document, Heading, Passage
from .parser import ParsedDocument, parse_document
from .sources import corpus_files, decode, load_manifest, split_documents


@dataclass
class Corpus:
    """Documents, their outlines and passages, in corpus order."""

    documents: dict[str, Document] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)
    outlines: dict[str, list[Heading]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # source file name -> decoded text
    summary: list[dict] = field(default_factory=list)  # per document: passages, tables, headings
    errors: list[str] = field(default_factory=list)  # one message per file that was skipped
    duplicate_links: int = 0


def load_corpus(corpus_dir: Path) -> Corpus:
    """Parse every .txt/.md file of corpus_dir (raises CorpusError only if the directory is unusable)."""
    corpus_dir = Path(corpus_dir)
    manifest = load_manifest(corpus_dir)
    corpus = Corpus()
    for path in corpus_files(corpus_dir):
        try:
            parsed = parse_file(path, manifest.get(path.name))
        except CorpusError as exc:
            corpus.errors.append(str(exc))
            continue
        for doc in parsed:
            _add(corpus, doc)
        corpus.sources[path.name] = _decoded(path)
    corpus.duplicate_links = link_duplicates(corpus.passages)
    return corpus


def parse_file(path: Path, entry: dict | None) -> list[ParsedDocument]:
    """The parsed documents of one source file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path.name}: cannot be read ({exc.strerror})") from None
    text = decode(path, data)
    return [parse_document(source) for source in split_documents(path, text, entry)]


def _decoded(path: Path) -> str:
    return decode(path, path.read_bytes())


def _add(corpus: Corpus, parsed: ParsedDocument) -> None:
    doc = parsed.document
    if doc.id in corpus.documents:
        corpus.errors.append(f"{doc.source_file}: document id {doc.id!r} is used twice; the second copy is skipped")
        return
    corpus.documents[doc.id] = doc
    corpus.passages.extend(parsed.passages)
    corpus.outlines[doc.id] = parsed.outline
    corpus.summary.append({
        "document": doc.id,
        "title": doc.title,
        "passages": len(parsed.passages),
        "tables": parsed.tables,
        "headings": len(parsed.outline),
    })
