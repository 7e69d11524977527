"""The runner protocol rules of action/workflow.py and action/comment.py: escaping, caps, parsing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

sys.path.insert(0, str(REPO_ROOT / "action"))

import comment  # noqa: E402
import workflow  # noqa: E402


def test_located_messages_become_escaped_annotations_at_most_ten():
    text = "\n".join(
        [f"error: tfjs.yaml:{i}:3: models.m{i}.budgets.size: 100% over, limit 1,0 kB" for i in range(1, 13)]
        + ["- tfjs.yaml:1:3: models.m1.budgets.size: 100% over, limit 1,0 kB",  # a repeat (markdown list)
           "| `alpha` | 2.3 kB |", "no location here"]
    )
    found = workflow.annotations(text, "error", "tfjs-build check", Path("/ws"))
    assert len(found) == workflow.MAX_ANNOTATIONS
    assert found[0].command() == (
        "::error file=tfjs.yaml,line=1,col=3,title=tfjs-build check::models.m1.budgets.size: 100%25 over, limit 1,0 kB")


def test_absolute_paths_in_the_workspace_become_relative_and_properties_are_escaped():
    found = workflow.annotations("/ws/sub/tfjs.yaml:4:9: bad\n", "warning", "t:1,2", Path("/ws"))
    assert found[0].command() == "::warning file=sub/tfjs.yaml,line=4,col=9,title=t%3A1%2C2::bad"


def test_outputs_use_a_heredoc_the_value_cannot_end(tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    workflow.set_output("report", "line 1\nEOF\nline 3")
    first, *body, last = out.read_text().splitlines()
    name, delimiter = first.split("<<")
    assert name == "report" and last == delimiter and body == ["line 1", "EOF", "line 3"]
    assert delimiter not in "line 1\nEOF\nline 3"


def test_the_summary_is_cut_below_the_runner_limit(tmp_path, monkeypatch):
    summary = tmp_path / "summary"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    workflow.append_summary("x" * (2 * 1024 * 1024))
    text = summary.read_text()
    assert len(text.encode()) < 1024 * 1024 and "exceeds the 1 MiB job summary limit" in text


def test_comment_body_has_the_marker_and_fits_githubs_limit():
    assert comment.comment_body("check .", "### report\n").startswith("<!-- tfjs-build: check . -->\n### report")
    long = comment.comment_body("check .", "y" * 100_000)
    assert len(long) <= comment.BODY_CAP and long.endswith("_(cut: the full report is in the job summary)_\n")


def test_the_comment_key_is_command_folder_and_id_and_cannot_end_the_html_comment():
    assert comment.comment_key("check", ".") == "check ."
    assert comment.comment_key("diff", "./models/", "") == "diff models"
    assert comment.comment_key("check", "models", "nightly") == "check models nightly"
    assert "-->" not in comment.marker(comment.comment_key("check", "a", "x --> <script>"))[4:-3]


def test_only_pull_request_events_have_a_number(tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12}}))
    assert comment.pull_request_number(str(event)) == 12
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    assert comment.pull_request_number(str(event)) is None
    assert comment.pull_request_number(None) is None
