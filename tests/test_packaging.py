"""The wheel ships the registry and works from it; the README and CI run the same test command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_registry_and_estimates_from_it(tmp_path: Path) -> None:
    from hatchling.builders.wheel import WheelBuilder

    wheel = Path(next(iter(WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"]))))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for data in ("models.json", "providers.json", "electricity_mixes.json", "README.md"):
            assert f"genai_footprint/_registry_data/{data}" in names
        assert "genai_footprint/py.typed" in names
        archive.extractall(tmp_path / "site")
    code = (
        "import genai_footprint as gf, genai_footprint._registry as r;"
        "print(r.data_dir());"
        "print(gf.estimate('openai', 'gpt-4o-mini', output_tokens=10).inputs.model_resolved)"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    # PYTHONPATH puts the unpacked wheel ahead of the editable install of the source tree.
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    assert out.returncode == 0, out.stderr
    data_dir, model = out.stdout.split()
    assert data_dir == str(tmp_path / "site" / "genai_footprint" / "_registry_data")
    assert model == "gpt-4o-mini"


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:bash|sh)\n([^\n]*python3 -m venv[^\n]+)\n```", text)


def test_ci_runs_the_readme_test_command() -> None:
    commands = _readme_commands()
    assert len(commands) == 2, commands
    main_job, tests = commands
    assert "pytest" in tests and "pytest" not in main_job
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()
