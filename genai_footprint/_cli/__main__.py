"""``python -m genai_footprint._cli``: the same as the ``genai-footprint`` command."""

import sys

from genai_footprint._cli._main import main

sys.exit(main())
