"""How a model name a caller or a response gives maps to registry names: gateways, fine-tunes, cloud ids, dates,
and the spellings hosts give other makers' models (``meta-llama/Llama-3.3-70B-Instruct-Turbo``, ``llama3.1:8b``,
``accounts/fireworks/models/...``, ``openai.gpt-oss-120b``, ``anthropic/claude-3.7-sonnet:thinking``)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")
_BEDROCK = re.compile(r"^(?:(?:us|eu|apac|au|jp|global)\.)?anthropic\.(?P<name>.+?)(?:-v\d+(?::\d+)?)?$")
_VERTEX_AT = re.compile(r"^(?P<name>[^@]+)@(?P<date>\d{8})$")
# "<vendor>.<model>" ids (Bedrock's, also through its OpenAI-compatible endpoint): an optional cross-region
# prefix, and a version suffix "-v1:0" or "-1:0".
_VENDOR_DOT = re.compile(
    r"^(?:(?:us|us-gov|eu|apac|au|jp|global)\.)?(?P<vendor>[a-z0-9-]+)\.(?P<name>.+?)(?:-v\d+(?::\d+)?|-\d+:\d+)?$"
)
_FIREWORKS = re.compile(r"^accounts/[^/]+/models/(?P<name>[^/]+)$")
_DOTTED_VERSION = re.compile(r"(?<=\d)\.(?=\d)")
# OpenRouter's ":variant" suffixes name a way of serving the same model, not another model; Ollama's ":latest" is
# its default tag. Any other tag (Ollama's "llama3.1:8b") names a size: it is kept, as "-8b".
_SERVING_VARIANTS = frozenset({"free", "thinking", "beta", "extended", "nitro", "floor", "online", "exacto", "latest"})


def candidates(provider_names: Mapping[str, str], provider: str, model: str) -> Iterator[tuple[str, str]]:
    """The (provider, lower-case name) keys to try for ``model``, best first; never across model families.

    ``provider_names`` maps every provider name and alias (lower case) to the provider's own name.
    """
    name = model.strip().lower()
    # "openai/gpt-4o": a prefix naming a provider we know (gateways prefix the real provider).
    if "/" in name:
        prefix, rest = name.split("/", 1)
        owner = provider_names.get(prefix)
        if owner is not None:
            provider, name = owner, rest
    yield from own_candidates(provider, name)


def own_candidates(provider: str, model: str) -> Iterator[tuple[str, str]]:
    """The keys of ``model`` among ``provider``'s own rows: the name as given (a fine-tune as its base, a cloud
    id as the model's name), then its undated and its ``-latest``-less names."""
    name = model.strip().lower()
    # "ft:gpt-4o-mini-2024-07-18:org:suffix:id": a fine-tune costs what its base model costs.
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    # Bedrock ids ("us.anthropic.claude-sonnet-4-5-20250929-v1:0") and Vertex ids ("name@20250929").
    match = _BEDROCK.match(name)
    if match:
        name = match.group("name")
    match = _VERTEX_AT.match(name)
    if match:
        name = f"{match.group('name')}-{match.group('date')}"
    yield provider, name
    yield from ((provider, n) for n in _fallbacks(name))


def _fallbacks(name: str) -> Iterator[str]:
    """A dated snapshot falls back to its undated name, "-latest" to the bare name: same model family."""
    base = _DATE_SUFFIX.sub("", name)
    if base != name:
        yield base
    if name.endswith("-latest"):
        yield name[: -len("-latest")]


def hosted_candidates(provider_names: Mapping[str, str], model: str) -> Iterator[tuple[str | None, str]]:
    """(maker, lower-case name) pairs to try for a name a host gives another maker's model, best first. The
    maker is None when the spelling names none: the name is then looked up among every maker's rows."""
    name = model.strip().lower()
    seen: set[tuple[str | None, str]] = set()
    for maker, spelled in _vendor_forms(provider_names, name):
        for form in _tag_forms(spelled):
            for key in _spelling_forms(maker, form):
                if key not in seen:
                    seen.add(key)
                    yield key


def _vendor_forms(provider_names: Mapping[str, str], name: str) -> Iterator[tuple[str | None, str]]:
    """The name with the maker its spelling names, if any: ``vendor/model`` (OpenRouter, Together, Groq),
    ``accounts/<account>/models/<model>`` (Fireworks), ``vendor.model-v1:0`` (Bedrock) or ``vendor-model``
    (Snowflake Cortex, Cerebras)."""
    match = _FIREWORKS.match(name)
    if match:
        name = match.group("name")
    if "/" in name:
        prefix, rest = name.split("/", 1)
        maker = provider_names.get(prefix)
        if maker is not None:
            yield maker, rest
            return
        yield None, name
        yield None, rest
        return
    yield None, name
    match = _VENDOR_DOT.match(name)
    if match and match.group("vendor") in provider_names:
        yield provider_names[match.group("vendor")], match.group("name")
    prefix, dash, rest = name.partition("-")
    if dash and rest and prefix in provider_names:
        yield provider_names[prefix], rest


def _tag_forms(name: str) -> Iterator[str]:
    """``name:tag``: Ollama's size tags join the name (``llama3.1:8b`` is ``llama3.1-8b``); a serving variant
    (OpenRouter's ``:thinking``, ``:free``; Ollama's ``:latest``) is dropped."""
    base, colon, tag = name.partition(":")
    if not colon:
        yield name
    elif tag in _SERVING_VARIANTS:
        yield base
    else:
        yield f"{base}-{tag}"


def _spelling_forms(maker: str | None, name: str) -> Iterator[tuple[str | None, str]]:
    """The name, its dashed version numbers (OpenRouter's ``claude-3.7-sonnet`` is ``claude-3-7-sonnet``), their
    dated and ``-latest`` fallbacks, and last, for a family name a maker serves as ``-latest``
    (``mistralai/mistral-small``), that name."""
    forms = [name]
    dashed = _DOTTED_VERSION.sub("-", name)
    if dashed != name:
        forms.append(dashed)
    for form in forms:
        yield maker, form
        for fallback in _fallbacks(form):
            yield maker, fallback
    if maker is not None:
        for form in forms:
            if not form.endswith("-latest"):
                yield maker, f"{form}-latest"
