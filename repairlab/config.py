"""Deployment settings, read once from the environment.

Everything a deployment can change is here, with the defaults that make a
fresh single-machine install work: an embedded SQLite file under `data/`
and the bundled scenario library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = PROJECT_ROOT / "data" / "repairlab.db"


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    database_url: str
    scenarios_path: Path
    authoring_enabled: bool
    guest_practice: bool | None  # None: decided by where the server listens

    @classmethod
    def from_env(cls) -> Settings:
        guest = os.environ.get("REPAIRLAB_GUEST_PRACTICE")
        return cls(
            database_url=os.environ.get("REPAIRLAB_DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE}",
            scenarios_path=Path(os.environ.get("REPAIRLAB_SCENARIOS") or PROJECT_ROOT / "scenarios"),
            authoring_enabled=_flag("REPAIRLAB_AUTHORING", False),
            guest_practice=None if guest in (None, "") else _flag("REPAIRLAB_GUEST_PRACTICE", False),
        )
