"""Each budget passing and failing, with the exact message `check` prints and its exit code."""

from __future__ import annotations

import json

import pytest
from projects import Project, entry

from tfjs_build.checks.budgets import evaluate_budgets
from tfjs_build.config import load_config
from tfjs_build.errors import TfjsBuildError

CONFIG = """\
version: 1
defaults:
  budgets:
    transfer: 3MB
models:
  mobilenet:
    source: models/mobilenet
    quantize: uint8
    budgets:
      size: 5MB
      shards: 2
      params: 1000000
    accuracy:
      max_error: 0.01
"""
# (budget, a figure within its limit, the same figure over it, the message when over)
CASES = [
    ("size", {"size": 5_000_000}, {"size": 5_300_000},
     "tfjs.yaml:10:13: models.mobilenet.budgets.size: 5.3 MB is over the limit of 5.0 MB (+300 kB)"),
    ("transfer", {"transfer": 3_000_000}, {"transfer": 3_120_000},
     "tfjs.yaml:4:15: models.mobilenet.budgets.transfer: 3.1 MB gzip is over the limit of 3.0 MB (+120 kB)"),
    ("shards", {"shards": 2}, {"shards": 3},
     "tfjs.yaml:11:15: models.mobilenet.budgets.shards: 3 shards is over the limit of 2 (+1)"),
    ("params", {"params": 1_000_000}, {"params": 1_234_567},
     "tfjs.yaml:12:15: models.mobilenet.budgets.params: 1,234,567 params is over the limit of 1,000,000 (+234,567)"),
    ("accuracy", {"accuracy": {"max_abs_error": 0.01}}, {"accuracy": {"max_abs_error": 0.0125}},
     "tfjs.yaml:14:18: models.mobilenet.accuracy.max_error: max abs error 0.0125 is over the limit of 0.01 (+0.0025)"),
]
WITHIN = {"size": 4_000_000, "transfer": 2_000_000, "shards": 1, "params": 500_000,
          "accuracy": {"max_abs_error": 0.001, "max_rel_error": 0.01, "top1_agreement": 1.0, "samples": 8},
          "quantize": {"uint8": ["*"]}}


@pytest.fixture
def mobilenet(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    project.source("mobilenet")
    project.write_config(CONFIG)
    monkeypatch.chdir(project.root)  # messages name tfjs.yaml relative to the working directory
    return project


@pytest.mark.parametrize(("budget", "ok", "over", "message"), CASES, ids=[c[0] for c in CASES])
def test_budget_passes_at_the_limit_and_fails_over_it(mobilenet: Project, budget, ok, over, message) -> None:
    mobilenet.write_lock({"mobilenet": entry(**{**WITHIN, **ok})})
    code, out = mobilenet.run("check")
    assert code == 0, out
    assert "FAIL" not in out

    mobilenet.write_lock({"mobilenet": entry(**{**WITHIN, **over})})
    code, out = mobilenet.run("check")
    assert code == 1
    failures = [line.removeprefix("FAIL ") for line in out.splitlines() if line.startswith("FAIL ")]
    assert failures == [message]


def test_every_budget_gets_a_line_with_its_use(mobilenet: Project) -> None:
    model = load_config(mobilenet.root / "tfjs.yaml").model("mobilenet")
    lines = evaluate_budgets(model, entry(**WITHIN))
    assert [(line.budget, line.ok) for line in lines] == [
        ("size", True), ("transfer", True), ("shards", True), ("params", True), ("accuracy", True)]
    assert [round(line.used, 3) for line in lines] == [0.8, 0.667, 0.5, 0.5, 0.1]


def test_no_budget_means_no_line(project: Project) -> None:
    project.write_models("plain")
    model = load_config(project.root / "tfjs.yaml").model("plain")
    assert evaluate_budgets(model, entry(size=10**12)) == ()


def test_quantized_model_without_accuracy_figures_fails(mobilenet: Project) -> None:
    mobilenet.write_lock({"mobilenet": entry(**{**WITHIN, "accuracy": None})})
    code, out = mobilenet.run("check")
    assert code == 1
    assert ("FAIL tfjs.yaml:14:18: models.mobilenet.accuracy.max_error: tfjs.lock has no accuracy figures "
            "for this quantized model; run `tfjs-build build mobilenet` to measure them") in out


def test_model_never_built_fails_with_the_command_to_run(mobilenet: Project) -> None:
    mobilenet.write_lock({})
    code, out = mobilenet.run("check")
    assert code == 1
    assert ("FAIL tfjs.yaml:6:3: models.mobilenet: not built yet (no entry in tfjs.lock); "
            "run `tfjs-build build mobilenet`") in out


def test_json_output_carries_the_same_verdict(mobilenet: Project) -> None:
    mobilenet.write_lock({"mobilenet": entry(**{**WITHIN, "size": 5_300_000})})
    code, out = mobilenet.run("check", "--json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False
    size = data["models"][0]["budgets"][0]
    assert (size["budget"], size["actual"], size["limit"], size["ok"]) == ("size", 5_300_000, 5_000_000, False)
    assert data["models"][0]["failures"] == [CASES[0][3]]


def test_github_format_annotates_the_tfjs_yaml_line(mobilenet: Project) -> None:
    mobilenet.write_lock({"mobilenet": entry(**{**WITHIN, "size": 5_300_000})})
    code, out = mobilenet.run("check", "--format", "github")
    assert code == 1
    assert out.splitlines() == [
        "::error file=tfjs.yaml,line=10,col=13,title=tfjs-build check%3A mobilenet::"
        "models.mobilenet.budgets.size: 5.3 MB is over the limit of 5.0 MB (+300 kB)",
        "::notice title=tfjs-build check::1 of 1 models failed",
    ]


def test_unwritable_html_path_is_a_user_error(mobilenet: Project) -> None:
    mobilenet.write_lock({"mobilenet": entry(**WITHIN)})
    (mobilenet.root / "taken").write_text("a file, not a folder", encoding="utf-8")
    with pytest.raises(TfjsBuildError, match=r"--html taken/report.html: cannot write .*pick a path in a writable"):
        mobilenet.run("check", "--html", "taken/report.html")


def test_figures_of_a_build_with_other_settings_are_flagged(mobilenet: Project) -> None:
    mobilenet.write_lock({"mobilenet": entry(**{**WITHIN, "quantize": None})})  # built before `quantize: uint8`
    code, out = mobilenet.run("check", "--json")
    assert json.loads(out)["models"][0]["notes"] == [
        "mobilenet: tfjs.lock was built with other quantize; these figures are from that build until "
        "`tfjs-build build mobilenet`"]
    mobilenet.write_lock({"mobilenet": entry(**WITHIN)})
    assert json.loads(mobilenet.run("check", "--json")[1])["models"][0]["notes"] == []
