"""The bundled, versioned JSON Schemas of the authoring format.

Generated from the pydantic models so they can never drift from what the
loader accepts; a test fails when the committed copies are stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .model import FORMAT_VERSION, Scenario
from .rubric import Rubric

SCHEMA_DIR = Path(__file__).parent / "schema"
SCENARIO_SCHEMA_FILE = SCHEMA_DIR / f"scenario.v{FORMAT_VERSION}.schema.json"
RUBRIC_SCHEMA_FILE = SCHEMA_DIR / f"rubric.v{FORMAT_VERSION}.schema.json"


def scenario_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://repairlab.example/schema/scenario.v{FORMAT_VERSION}.schema.json"
    schema["title"] = f"Repair Lab scenario (format v{FORMAT_VERSION})"
    return schema


def rubric_schema() -> dict[str, Any]:
    schema = Rubric.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://repairlab.example/schema/rubric.v{FORMAT_VERSION}.schema.json"
    schema["title"] = f"Repair Lab rubric (format v{FORMAT_VERSION})"
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_bundled() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    SCENARIO_SCHEMA_FILE.write_text(render(scenario_schema()), encoding="utf-8")
    RUBRIC_SCHEMA_FILE.write_text(render(rubric_schema()), encoding="utf-8")
