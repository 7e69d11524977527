"""Publishing without credentials says which variables to set, not just botocore's one-liner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from projects import fresh_project


def test_s3_without_credentials_names_the_variables(tmp_path: Path) -> None:
    project = fresh_project(tmp_path / "project")
    with open(project / "tfjs.yaml", "a", encoding="utf-8") as config:
        config.write("publish:\n  cdn: {type: s3, bucket: models, endpoint_url: 'https://127.0.0.1:9'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true")  # no ~/.aws, no instance metadata
    run = subprocess.run([sys.executable, "-m", "tfjs_build", "-C", str(project), "publish", "cdn"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "tfjs.yaml:8:3: publish.cdn: HEAD s3://models/digits/" in run.stderr
    assert "no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in run.stderr
