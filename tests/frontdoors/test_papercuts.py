"""Papercuts found by trying tfjs-build as a new user would (issue 16), each pinned by the real CLI."""

from __future__ import annotations

import re

from action_env import REPO_ROOT
from cli_process import run_cli

from tfjs_build.cli import main

PUBLISH = "  x:\n    type: http\n    url: http://127.0.0.1:9\n"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--no-color", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_hints_fit_the_failure(project, capsys):
    project.write_config(PUBLISH, models=("alpha",), model_yaml="budgets: {size: 1KiB}")
    project.build("alpha")
    code, out, _ = cli(capsys, "-C", str(project.root), "check")
    assert code == 1 and "to fix a budget: shrink the model" in out and "op support" not in out

    project.write_config(PUBLISH, models=("alpha",), model_yaml="budgets: {size: 1MiB}")
    project.build("alpha")
    (project.root / "dist" / "tfjs" / "alpha" / "group1-shard1of2.bin").unlink()
    code, out, _ = cli(capsys, "-C", str(project.root), "check")
    assert code == 1 and "missing or not as recorded in tfjs.lock; run `tfjs-build build alpha`" in out
    assert "to fix" not in out and "shrink" not in out, "a missing output is not fixed by shrinking the model"


def test_check_shows_a_small_share_of_a_budget_with_one_significant_digit(project, capsys):
    project.write_config(PUBLISH, models=("alpha",), model_yaml="budgets: {size: 1000000}")
    project.build("alpha")  # about 2.3 kB of 1 MB: 0.2%
    code, out, _ = cli(capsys, "-C", str(project.root), "check")
    assert code == 0 and re.search(r"size 0\.2%", out), out


def test_check_html_says_where_it_wrote_the_page_without_touching_stdout(project, capsys):
    project.write_config(PUBLISH, models=("alpha",))
    project.build("alpha")
    code, out, err = cli(capsys, "-C", str(project.root), "check", "--json", "--html", "report.html")
    assert code == 0 and (project.root / "report.html").is_file()
    assert "wrote the HTML report to " in err and err.strip().endswith("report.html")
    assert out.lstrip().startswith("{") and "wrote" not in out


def test_diff_outside_git_says_drop_base_only_when_base_was_given(project, capsys):
    project.write_config(PUBLISH, models=("alpha",))
    project.build("alpha")
    code, _, err = cli(capsys, "-C", str(project.root), "diff")
    assert code == 2 and "not inside a git repository" in err and "run it in a git checkout" in err
    assert "drop --base" not in err
    code, _, err = cli(capsys, "-C", str(project.root), "diff", "--base", "main")
    assert code == 2 and "drop --base" in err


def test_plan_help_says_what_it_prints():
    listing = run_cli("--help").stdout
    line = next(line for line in listing.splitlines() if line.strip().startswith("plan"))
    assert "one per line" in line and "as JSON" not in line


def test_publish_dry_run_to_http_lists_no_cache_control_it_cannot_set(project, capsys):
    project.write_config(PUBLISH, models=("alpha",))
    project.build("alpha")
    code, out, _ = cli(capsys, "-C", str(project.root), "publish", "--dry-run")
    assert code == 0 and "would upload http://127.0.0.1:9/alpha/" in out
    assert "immutable" not in out and "no-cache" not in out and "max-age" not in out
    assert "Cache-Control is the origin's to set" in out


def test_test_script_installs_without_recommends_and_shows_slow_tests():
    script = (REPO_ROOT / "scripts" / "test.sh").read_text()
    assert "apt-get install -y -q --no-install-recommends" in script
    assert "--durations=15" in script


def test_readme_first_command_says_what_it_needs_before_it_runs():
    readme = (REPO_ROOT / "README.md").read_text()
    first = readme[readme.index("```sh"):readme.index("python3 -m venv .venv")]
    assert "python3-venv" in first, "python3 -m venv needs python3-venv on Debian/Ubuntu"
    assert "tfjs-build[tensorflow]" in readme or ".[tensorflow]" in readme[:readme.index("## Contents")]
