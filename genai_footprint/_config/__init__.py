"""Layered configuration: defaults < user file < project file < ``GENAI_FOOTPRINT_*`` variables < ``init()``.

Pure: reads files and the environment, checks every value and returns a frozen ``Config`` whose sections
(``genai_footprint._settings``) ``init()`` hands out. It instruments nothing and imports no SDK; the registry
is loaded only to check a zone or a custom model. ``_checks`` holds the checks, ``_table`` the settings,
``_loader`` the gathering of values, ``_load`` the layers, ``_result`` the ``Config`` and its sections.
"""

from __future__ import annotations

from genai_footprint._config._checks import EXPORTERS, PROVIDER_ALIASES, PROVIDERS
from genai_footprint._config._load import default_user_config_dir, load_config, user_cache_dir
from genai_footprint._config._result import Config, Value, mask
from genai_footprint._config._table import (
    CONFIG_ENV,
    ENV_PREFIX,
    ENV_VARS,
    EXPORTERS_ENV,
    MODEL_KEYS,
    SETTINGS,
    TAGS_ENV,
    Setting,
)

__all__ = [
    "CONFIG_ENV",
    "ENV_PREFIX",
    "ENV_VARS",
    "EXPORTERS",
    "EXPORTERS_ENV",
    "MODEL_KEYS",
    "PROVIDERS",
    "PROVIDER_ALIASES",
    "SETTINGS",
    "TAGS_ENV",
    "Config",
    "Setting",
    "Value",
    "default_user_config_dir",
    "load_config",
    "mask",
    "user_cache_dir",
]
