"""How a model name a caller or a response gives maps to registry names: gateways, fine-tunes, cloud ids, dates."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")
_BEDROCK = re.compile(r"^(?:(?:us|eu|apac|au|jp|global)\.)?anthropic\.(?P<name>.+?)(?:-v\d+(?::\d+)?)?$")
_VERTEX_AT = re.compile(r"^(?P<name>[^@]+)@(?P<date>\d{8})$")


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
    # A dated snapshot falls back to its undated name, "-latest" to the bare name: same model family.
    base = _DATE_SUFFIX.sub("", name)
    if base != name:
        yield provider, base
    if name.endswith("-latest"):
        yield provider, name[: -len("-latest")]
