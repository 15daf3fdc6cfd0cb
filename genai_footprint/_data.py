"""Where the package's data files are: the registry folder (``models.json``, ``equivalents.json``,
``validation.json``, ...), found without importing anything heavier than ``pathlib``."""

from __future__ import annotations

from pathlib import Path

from genai_footprint._errors import RegistryError


def data_dir() -> Path:
    """The registry folder: inside the installed package (wheel), else beside it (source checkout)."""
    here = Path(__file__).resolve().parent  # the genai_footprint folder
    for candidate in (here / "_registry_data", here.parent / "registry"):
        if (candidate / "models.json").is_file():
            return candidate
    raise RegistryError(f"registry data not found (looked in {here / '_registry_data'} and {here.parent / 'registry'})")
