"""The ``genai-footprint`` command line: estimate, models, zones, config, report, reproduce and demo.

Modules depend only downward: ``_main`` (parser, dispatch) → ``_commands`` → ``_report``, ``_report_html``,
``_reproduce``, ``_demo`` → ``_logs``, ``_demo_agent``, ``_demo_fake`` → ``_text``, ``_args``; none of the
library's other modules imports this package.
"""

from genai_footprint._cli._commands import COMMANDS
from genai_footprint._cli._main import build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]

_COMMANDS = COMMANDS  # the name tests/test_docs.py reads; to go once it reads COMMANDS
