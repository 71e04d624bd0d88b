"""Errors that callers (CLI, web app) turn into clear messages for the user."""


class PlanSearchError(Exception):
    """Base class: every error here carries a message fit to show a user."""


class QueryError(PlanSearchError, ValueError):
    """The query or one of its parameters is invalid (empty, too long, unknown mode...)."""


class UnknownDocument(PlanSearchError, KeyError):
    """No document or passage has this id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown document"


class IndexNotBuilt(PlanSearchError):
    """The index directory is missing or unreadable; the message says how to rebuild."""


class CorpusError(PlanSearchError):
    """A corpus file could not be read or parsed; the message names the file."""


class ThesaurusError(PlanSearchError):
    """The thesaurus file named by the settings is missing or malformed; the message names it."""
