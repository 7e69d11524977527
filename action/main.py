"""Entry point of the tfjs-build GitHub Action (action.yml): run one CLI command, then report it.

Inputs arrive as TFJS_BUILD_* variables (composite actions get no INPUT_*; passing them
through ``env:`` also keeps them out of shell parsing). The step ends with the CLI's
own exit code, after writing outputs, the job summary, annotations and the PR comment.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from comment import pull_request_number, upsert_comment  # noqa: E402
from workflow import annotations, append_summary, set_output  # noqa: E402

REPORT_COMMANDS = ("check", "diff")  # commands whose report has a markdown rendering


@dataclass(frozen=True)
class Inputs:
    command: str
    args: tuple[str, ...]
    directory: str
    config: str
    base: str
    comment: bool

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
        )

    @property
    def wants_markdown(self) -> bool:
        return self.command in REPORT_COMMANDS and not {"--format", "--json"} & {a.split("=")[0] for a in self.args}


def cli_argv(inputs: Inputs) -> list[str]:
    argv = [sys.executable, "-m", "tfjs_build", "--no-color", "-C", inputs.directory]
    if inputs.config:
        argv += ["-c", inputs.config]
    argv += [inputs.command, *inputs.args]
    if inputs.wants_markdown:
        argv += ["--format", "markdown"]
    if inputs.base and inputs.command in REPORT_COMMANDS:
        argv += ["--base", inputs.base]
    return argv


def report_markdown(inputs: Inputs, code: int, stdout: str, stderr: str) -> str:
    """The check/diff markdown report when there is one, else the output in a code block."""
    if inputs.wants_markdown and code in (0, 1) and stdout.strip():
        return stdout.strip() + ("\n\n" + _fenced(stderr) if stderr.strip() else "")
    verdict = "ok" if code == 0 else f"failed (exit code {code})"
    return f"### tfjs-build {inputs.command}: {verdict}\n\n{_fenced(stdout + stderr)}"


def _fenced(text: str) -> str:
    return f"```\n{text.strip()}\n```"


def post_comment(report: str) -> None:
    """The sticky PR comment; any refusal (fork PR, no token) degrades to a warning."""
    number = pull_request_number(os.environ.get("GITHUB_EVENT_PATH"))
    repo, token = os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_TOKEN")
    if number is None or not repo:
        return
    if not token:
        _comment_skipped("no token (set the action's `token` input)")
        return
    from tfjs_build.errors import TfjsBuildError

    try:
        print(f"tfjs-build: {upsert_comment(repo, number, report, token)} the report comment on #{number}")
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
    append_summary(report)
    if inputs.comment:
        post_comment(report)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
