"""Step ``run`` of the tfjs-build GitHub Action (action.yml): run one CLI command, then report it.

Inputs arrive as TFJS_BUILD_* variables (composite actions get no INPUT_*; passing them
through ``env:`` also keeps them out of shell parsing). Runs with the Python that tfjs-build
is installed in (the action's venv). The step ends with the CLI's own exit code, after
writing outputs, the job summary, annotations and the PR comment.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from comment import comment_key, pull_request_number, upsert_comment  # noqa: E402
from workflow import annotations, append_summary, set_output  # noqa: E402

REPORT_COMMANDS = ("check", "diff", "bench")  # commands whose report has a markdown rendering
BASE_COMMANDS = ("check", "diff")  # commands that compare with the `base` input
JSON_COMMANDS = ("build", "publish")  # commands run with --json, for the built/restored/published outputs


@dataclass(frozen=True)
class Inputs:
    command: str
    args: tuple[str, ...]
    directory: str
    config: str
    base: str
    comment: bool
    comment_id: str

    @classmethod
    def from_env(cls) -> Inputs:
        env = os.environ
        return cls(
            command=env.get("TFJS_BUILD_COMMAND", "check").strip() or "check",
            args=tuple(shlex.split(env.get("TFJS_BUILD_ARGS", ""))),
            directory=env.get("TFJS_BUILD_DIRECTORY", ".").strip() or ".",
            config=env.get("TFJS_BUILD_CONFIG", "").strip(),
            base=env.get("TFJS_BUILD_BASE", "").strip(),
            comment=env.get("TFJS_BUILD_COMMENT", "true").strip().lower() == "true",
            comment_id=env.get("TFJS_BUILD_COMMENT_ID", "").strip(),
        )

    def _given(self, *options: str) -> bool:
        return bool(set(options) & {a.split("=")[0] for a in self.args})

    @property
    def wants_markdown(self) -> bool:
        return self.command in REPORT_COMMANDS and not self._given("--format", "--json")

    @property
    def wants_json(self) -> bool:
        return self.command in JSON_COMMANDS and not self._given("--json")

    @property
    def project(self) -> str:
        """The config file as seen from the workspace: what the report's title names."""
        config = Path(self.directory) / (self.config or "tfjs.yaml")
        return os.path.normpath(config).replace(os.sep, "/")


def cli_argv(inputs: Inputs) -> list[str]:
    argv = [sys.executable, "-m", "tfjs_build", "--no-color", "-C", inputs.directory]
    if inputs.config:
        argv += ["-c", inputs.config]
    argv += [inputs.command, *inputs.args]
    if inputs.wants_markdown:
        argv += ["--format", "markdown"]
    if inputs.wants_json:
        argv.append("--json")
    if inputs.base and inputs.command in BASE_COMMANDS:
        argv += ["--base", inputs.base]
    return argv


def report_markdown(inputs: Inputs, code: int, stdout: str, stderr: str) -> str:
    """The check/diff markdown report (retitled with the project) when there is one, else the output in a code block."""
    title = f"tfjs-build {inputs.command} · `{inputs.project}`"
    text = stdout.strip()
    if inputs.wants_markdown and code in (0, 1) and text:
        heading = f"### tfjs-build {inputs.command}:"
        text = f"### {title}:{text[len(heading):]}" if text.startswith(heading) else f"### {title}\n\n{text}"
        return text + ("\n\n" + _fenced(stderr) if stderr.strip() else "")
    verdict = "ok" if code == 0 else f"failed (exit code {code})"
    if inputs.wants_json:  # the JSON is for outputs; people read the progress lines and the URLs
        published = json.loads(json_outputs(inputs, stdout).get("published", "{}"))
        stdout = "".join(f"{name} {item['digest']} -> {item['url']}\n" for name, item in published.items())
    return f"### {title}: {verdict}\n\n{_fenced(stdout + stderr)}"


def _fenced(text: str) -> str:
    return f"```\n{text.strip()}\n```"


def json_outputs(inputs: Inputs, stdout: str) -> dict[str, str]:
    """built/restored (build) or published (publish) from the command's JSON; none when it printed no JSON."""
    if inputs.command not in JSON_COMMANDS:
        return {}
    try:
        data = json.loads(stdout)
    except ValueError:  # a user error before the result (exit 2): the report says why
        return {}
    if inputs.command == "build":
        return {"built": json.dumps(data.get("built", [])), "restored": json.dumps(data.get("restored", []))}
    published = {m["model"]: {"digest": m["digest"], "url": m["url"], "files": m["files"]} for m in data.get("models", [])}
    return {"published": json.dumps(published)}


def post_comment(inputs: Inputs, report: str) -> None:
    """The sticky PR comment; any refusal (fork PR, no token) degrades to a warning."""
    number = pull_request_number(os.environ.get("GITHUB_EVENT_PATH"))
    repo, token = os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_TOKEN")
    if number is None or not repo:
        return
    if not token:
        _comment_skipped("no token (set the action's `token` input)")
        return
    from tfjs_build.errors import TfjsBuildError

    key = comment_key(inputs.command, inputs.directory, inputs.comment_id)
    try:
        print(f"tfjs-build: {upsert_comment(repo, number, key, report, token)} the report comment on #{number}")
    except TfjsBuildError as exc:
        _comment_skipped(str(exc))


def _comment_skipped(reason: str) -> None:
    print(f"::warning title=tfjs-build::could not comment on the pull request: {reason}; the report is in the job summary")
    append_summary(f"_tfjs-build could not comment on the pull request ({reason}); "
                   "a fork's pull request gets a read-only token, so the report is here instead._")


def main() -> int:
    inputs = Inputs.from_env()
    workspace = Path.cwd()
    result = subprocess.run(cli_argv(inputs), capture_output=True, text=True, cwd=workspace)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    report = report_markdown(inputs, result.returncode, result.stdout, result.stderr)
    level = "error" if result.returncode else "warning"
    for item in annotations(result.stdout + "\n" + result.stderr, level, f"tfjs-build {inputs.command}", workspace):
        print(item.command())
    set_output("exit-code", str(result.returncode))
    set_output("report", report)
    set_output("stdout", result.stdout.rstrip("\n"))
    extra = json_outputs(inputs, result.stdout)
    set_output("built", extra.get("built", ""))
    set_output("restored", extra.get("restored", ""))
    set_output("published", extra.get("published", ""))
    append_summary(report)
    if inputs.comment:
        post_comment(inputs, report)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
