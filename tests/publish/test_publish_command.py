"""The publish command's own decisions (target choice, option errors, retries), with no server needed."""

from __future__ import annotations

import sys

import pytest
import requests

from tfjs_build.publish.transport import MAX_WAIT, redact, retry_wait

S3 = "  cdn:\n    type: s3\n    bucket: b\n"
HTTP = "  origin:\n    type: http\n    url: http://127.0.0.1:9/m\n"


def test_a_single_target_may_be_left_out_and_models_default_to_all(project, capsys):
    project.write_config(HTTP)
    project.build("alpha")
    project.build("beta")
    assert project.publish("--dry-run") == 0
    out = capsys.readouterr().out
    assert "origin: alpha " in out and "origin: beta " in out
    assert project.publish("beta", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "origin: beta " in out and "alpha" not in out


def test_with_several_targets_one_must_be_named(project, capsys):
    project.write_config(S3 + HTTP)
    project.build("alpha")
    project.build("beta")
    assert project.publish("--dry-run") == 2
    assert ("tfjs.yaml: several publish targets (cdn, origin): name one first, "
            "as in `tfjs-build publish TARGET [MODEL...]`") in capsys.readouterr().err
    assert project.publish("orign", "--dry-run") == 2
    assert "tfjs.yaml: 'orign' is not a target (did you mean 'origin'?); several publish targets" in capsys.readouterr().err
    assert project.publish("origin", "alpha", "--dry-run") == 0


def test_no_targets_unknown_models_and_unbuilt_models_are_user_errors(project, capsys):
    project.write_config("")
    assert project.publish() == 2
    assert "tfjs.yaml: no `publish:` targets; add one" in capsys.readouterr().err
    project.write_config(HTTP)
    project.build("alpha")
    assert project.publish("alhpa") == 2
    assert "no model named 'alhpa' (did you mean 'alpha'?)" in capsys.readouterr().err
    assert project.publish("beta") == 2
    assert ("tfjs.yaml:5:3: models.beta: not in tfjs.lock, so there is nothing built to publish; "
            "run `tfjs-build build beta` first") in capsys.readouterr().err


@pytest.mark.parametrize(("target", "message"), [
    ("  cdn:\n    type: s3\n    bukcet: b\n",
     "tfjs.yaml:8:13: publish.cdn.bukcet: unknown key (did you mean 'bucket'?); expected one of bucket, prefix"),
    ("  cdn:\n    type: s3\n    prefix: m/\n",
     "tfjs.yaml:6:3: publish.cdn.bucket: missing required key 'bucket' for a publish target of type s3"),
    ("  cdn:\n    type: s3\n    bucket: b\n    addressing_style: dns\n",
     "tfjs.yaml:9:23: publish.cdn.addressing_style: expected one of auto, path, virtual, got 'dns'"),
    ("  cdn:\n    type: s3\n    bucket: b\n    secret_access_key: abc\n",
     "tfjs.yaml:9:24: publish.cdn.secret_access_key: secrets are read from environment variables only; "
     "write `secret_access_key_env: NAME_OF_VARIABLE`"),
    ("  origin:\n    type: http\n    url: ftp://x/\n",
     "tfjs.yaml:8:10: publish.origin.url: expected an http:// or https:// URL, got 'ftp://x/'"),
    ("  origin:\n    type: http\n    url: http://x\n    token_env: $TOKEN\n",
     "tfjs.yaml:9:16: publish.origin.token_env: expected the name of an environment variable"),
    ("  release:\n    type: github\n    repo: nope\n",
     "tfjs.yaml:8:11: publish.release.repo: expected owner/name of a GitHub repository, got 'nope'"),
    ("  release:\n    type: github\n    repo: o/r\n    tag: '{model}-{sha}'\n",
     "tfjs.yaml:9:10: publish.release.tag: bad template ('sha'); use only {model} and {digest}"),
])
def test_option_errors_name_file_line_key_and_fix(project, capsys, target, message):
    project.write_config(target, models=("alpha",))
    project.build("alpha")
    assert project.publish("--dry-run") == 2
    assert message in capsys.readouterr().err


def test_s3_without_boto3_says_which_extra_to_install(project, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)  # what `import boto3` meets when it is not installed
    project.write_config(S3, models=("alpha",))
    project.build("alpha")
    assert project.publish("--dry-run") == 0  # a dry run never needs the client
    assert project.publish() == 2
    assert "tfjs.yaml:6:3: publish.cdn: type s3 needs boto3; install it with `pip install 'tfjs-build[s3]'`" in (
        capsys.readouterr().err)


def _response(status: int, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


def test_retry_waits_follow_what_the_server_says():
    assert retry_wait(_response(403, {"retry-after": "7"}), 1) == 7.0
    assert retry_wait(_response(403, {}), 1) is None  # a real "forbidden": retrying cannot help
    assert retry_wait(_response(404, {}), 1) is None
    assert retry_wait(_response(429, {"retry-after": "100000"}), 1) == MAX_WAIT
    assert retry_wait(_response(503, {}), 3) == 4.0  # exponential back-off without a hint
    reset = retry_wait(_response(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"}), 1)
    assert reset == 1.0  # a reset time already past: one second of grace


def test_urls_in_messages_lose_credentials_and_queries():
    assert redact("https://user:pa55@example.com:8443/a/b?sig=secret") == "https://example.com:8443/a/b"


def test_s3_locations_use_public_url_when_given(project, capsys):
    project.write_config(S3 + "    prefix: /models/\n    public_url: https://cdn.example.com/\n", models=("alpha",))
    project.build("alpha")
    assert project.publish("--dry-run") == 0
    lines = capsys.readouterr().out.splitlines()
    digest = lines[0].split()[2]
    assert lines[3].startswith(f"  would upload https://cdn.example.com/models/alpha/{digest}/model.json (")
    assert lines[4] == "  would upload https://cdn.example.com/models/alpha/versions.json (adds this version, no-cache)"
    assert lines[5].startswith("  would upload https://cdn.example.com/models/alpha/latest.json (")
