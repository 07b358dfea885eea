"""`./scripts/serve` installs only when the packaging changed, so a restart with no network starts.
The venv is a fake one whose python and gitferry write down how they were called."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAMP = ".gitferry-installed"


def fake_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for program in ("python", "gitferry"):
        path = venv / "bin" / program
        path.write_text(f'#!/bin/sh\necho "{program} $*" >> "{tmp_path}/calls"\n')
        path.chmod(0o755)
    return venv


def serve(tmp_path: Path, venv: Path, *args: str) -> list[str]:
    done = subprocess.run([str(ROOT / "scripts" / "serve"), *args], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "GITFERRY_VENV": str(venv)})
    assert done.returncode == 0, done.stderr
    calls = tmp_path / "calls"
    return calls.read_text().splitlines() if calls.exists() else []


def packaging_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def test_a_venv_installed_from_this_pyproject_starts_without_pip(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path)
    (venv / STAMP).write_text(packaging_hash() + "\n")
    assert serve(tmp_path, venv, "--port", "9") == ["gitferry serve --port 9"]


def test_a_changed_pyproject_installs_once_then_starts_without_pip(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path)
    (venv / STAMP).write_text("the hash of an older pyproject.toml\n")
    calls = serve(tmp_path, venv)
    assert [c.split()[:4] for c in calls] == [["python", "-m", "pip", "install"], ["gitferry", "serve"]]
    assert (venv / STAMP).read_text().strip() == packaging_hash()
    (tmp_path / "calls").unlink()
    assert serve(tmp_path, venv) == ["gitferry serve"]


def test_a_venv_never_stamped_is_installed(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path)
    assert [c.split()[0] for c in serve(tmp_path, venv)] == ["python", "gitferry"]


def test_serve_demo_runs_the_demo(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path)
    (venv / STAMP).write_text(packaging_hash() + "\n")
    assert serve(tmp_path, venv, "demo", "--port", "9") == ["gitferry demo --port 9"]
