"""The engine behind the app, opened once and shared by every request thread."""
from __future__ import annotations

import threading

from flask import current_app

from search.config import Settings
from search.engine import Engine


class EngineHolder:
    """Holds the app's Engine; without one given, opens it from Settings() on first use.

    A failed open (IndexNotBuilt) is not remembered, so the app starts answering as soon
    as `plansearch build` has run, without a restart.
    """

    def __init__(self, engine: Engine | None = None):
        self._engine = engine
        self._lock = threading.Lock()

    def get(self) -> Engine:
        """The engine, opened now if need be (IndexNotBuilt when there is no index)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = Engine.open(Settings())
        return self._engine


def engine() -> Engine:
    """The current app's Engine (IndexNotBuilt, shown as 503, when there is no index yet)."""
    return current_app.extensions["plansearch"].get()


def document_list() -> list[dict]:
    """Every document's metadata with its number of passages, in corpus order."""
    current = engine()
    return [{**d.to_dict(), "passages": len(current.document(d.id).passages)} for d in current.documents()]
