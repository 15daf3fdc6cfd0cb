"""Counting output tokens from streamed text, for streams whose provider reports no usage.

tiktoken is preferred, but it downloads a model's encoding file on first use: that never happens on the
caller's thread. The first time a model's text needs counting, its encoding is loaded in a background
thread; until it is ready (or when it cannot load, e.g. offline) a documented approximation is used: one
token per 4 characters, rounded up — OpenAI's published rule of thumb for English text. ``tokens_source``
records which one counted.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from genai_footprint._impacts import TokensSource

logger = logging.getLogger("genai_footprint")

CHARS_PER_TOKEN = 4.0

_lock = threading.Lock()
_encoders: dict[str, Callable[[str], int] | None] = {}  # absent: not asked; None: loading or unavailable


def _load_tiktoken(model: str) -> Callable[[str], int] | None:
    """A token counter for ``model``'s encoding, or None when tiktoken or its encoding is unavailable."""
    try:
        import tiktoken

        try:
            encoding: Any = tiktoken.encoding_for_model(model)
        except KeyError:
            encoding = tiktoken.get_encoding("o200k_base")
    except Exception:
        logger.debug("genai_footprint: tiktoken has no encoding for %r; approximating tokens", model, exc_info=True)
        return None

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    return count


_loader: Callable[[str], Callable[[str], int] | None] = _load_tiktoken


def _load_in_background(model: str) -> None:
    def run() -> None:
        encoder = _loader(model)
        with _lock:
            _encoders[model] = encoder

    threading.Thread(target=run, name="genai-footprint-tiktoken", daemon=True).start()


def encoder_for(model: str) -> Callable[[str], int] | None:
    """The model's tiktoken counter if already loaded; else starts loading it and returns None."""
    with _lock:
        if model in _encoders:
            return _encoders[model]
        _encoders[model] = None
    _load_in_background(model)
    return None


def approximate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def count_output_tokens(provider: str, model: str, texts: Iterable[str]) -> tuple[int, TokensSource]:
    """Output tokens of the concatenated ``texts`` and how they were counted.

    tiktoken holds OpenAI's tokenizers only: other providers' text is approximated."""
    text = "".join(texts)
    if not text:
        return 0, "approximation"
    encoder = encoder_for(model) if provider == "openai" else None
    if encoder is not None:
        try:
            return encoder(text), "tiktoken"
        except Exception:
            logger.debug("genai_footprint: tiktoken failed; approximating tokens", exc_info=True)
    return approximate_tokens(text), "approximation"
