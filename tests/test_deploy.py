"""Static checks of the scaled-out deployment files (no Docker engine runs here) and the env documentation."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _settings_aliases() -> set[str]:
    return {f.alias for f in Settings.model_fields.values() if f.alias}


def test_compose_file_matches_the_compose_spec() -> None:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or "check-jsonschema"
    result = subprocess.run(
        [exe, "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_bot_postgres_and_chroma_with_health_checks_and_volumes() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"bot", "postgres", "chroma"} <= set(services)
    for name in ("bot", "postgres", "chroma"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert services[name].get("volumes"), f"{name} keeps no data in a volume"
    named = set(compose["volumes"])
    for name in ("bot", "postgres", "chroma"):
        for mount in services[name]["volumes"]:
            assert mount.split(":")[0] in named
    bot_deps = services["bot"]["depends_on"]
    assert bot_deps["postgres"]["condition"] == "service_healthy"
    assert bot_deps["chroma"]["condition"] == "service_healthy"


def test_compose_bot_environment_uses_only_known_settings() -> None:
    env = _compose()["services"]["bot"]["environment"]
    assert set(env) <= _settings_aliases(), set(env) - _settings_aliases()
    assert env["CANBO_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["CANBO_CHROMA_URL"].startswith("http://chroma:")
    # The bot's health check is a real subcommand of the CLI.
    assert _compose()["services"]["bot"]["healthcheck"]["test"][1:] == ["canbo", "health"]


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.M))
    missing = _settings_aliases() - listed
    assert not missing, f".env.example does not list {sorted(missing)}"


def test_dockerfile_bakes_in_the_model_without_torch() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11", text, flags=re.M)
    assert "pip install -c constraints.txt ." in text
    assert "[st" not in text, "the image is the lean install: no sentence-transformers/torch"
    assert "E5()" in text, "the build proves the bundled model loads offline"


def test_readme_opens_with_the_two_commands_and_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```bash", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block
    missing = {alias for alias in _settings_aliases() if f"`{alias}`" not in readme}
    assert not missing, f"README's configuration table lacks {sorted(missing)}"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.rstrip().endswith("make test"), ".ci/run must run the README's test command"


# The bare install (docs/operations.md) is `pip install -c constraints.txt .` with the distribution's Python:
# Debian 12's python3.11 is 3.11.2, and a pin regenerated on a newer 3.11 once asked for >= 3.11.5.
DEBIAN_12_PYTHON = "3.11.2"


def test_constraints_install_on_debian_12_python() -> None:
    import importlib.metadata

    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    environment = {**default_environment(), "python_full_version": DEBIAN_12_PYTHON, "python_version": "3.11"}
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            assert requirement.name.lower() not in pins, f"{requirement.name} is pinned twice for Debian 12"
            pins[requirement.name.lower()] = str(requirement.specifier).removeprefix("==")
    refused = []
    for dist in importlib.metadata.distributions():  # the pins installed here carry their Requires-Python
        name, needs = dist.metadata["Name"].lower(), dist.metadata.get("Requires-Python")
        if pins.get(name) == dist.version and needs and not SpecifierSet(needs).contains(DEBIAN_12_PYTHON):
            refused.append(f"{name}=={dist.version} (Requires-Python {needs})")
    assert not refused, f"pins that Python {DEBIAN_12_PYTHON} cannot install: {refused}"
