"""What the platform reads: app.json names only settings the service reads, and every setting
the service reads is documented in the README's configuration table."""

from __future__ import annotations

import json
import re
from pathlib import Path

from messenger.config import environment_variables

ROOT = Path(__file__).resolve().parents[2]
TABLE_ROW = re.compile(r"^\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \|", re.M)  # ATTACHMENTS_S3_URL


def manifest() -> dict:
    return json.loads((ROOT / "app.json").read_text())


def readme_configuration_names() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return {name.strip("`") for cell in TABLE_ROW.findall(section) for name in cell.split(", ")}


def test_every_variable_app_json_sets_is_one_the_service_reads():
    named = set(manifest()["env"])
    assert named - environment_variables() == set()


def test_app_json_runs_the_procfile_with_redis_a_mongodb_uri_and_a_generated_metrics_token():
    app = manifest()
    assert "web" in app["formation"] and (ROOT / "Procfile").read_text().startswith("web: ")
    assert {addon["plan"].split(":")[0] for addon in app["addons"]} >= {"heroku-redis"}
    assert app["env"]["MONGODB_URI"]["required"] is True
    assert app["env"]["METRICS_TOKEN"]["generator"] == "secret"
    assert app["buildpacks"] == [{"url": "heroku/python"}]
    assert all(variable.get("description") for variable in app["env"].values())


def test_the_python_version_file_names_the_version_the_project_targets():
    assert (ROOT / ".python-version").read_text().strip() == "3.11"


def test_every_variable_the_service_reads_is_in_the_readme_configuration_table():
    assert environment_variables() - readme_configuration_names() == set()
