"""Publishing never prints a secret: credentials and signed queries in target URLs, tokens, response bodies.

The probe behind issue 13 found ``url: http://user:pass@host/...`` printed verbatim by ``publish
--dry-run``, by a successful publish and with ``-v``; a signed query string printed too, with the
object key appended after it (``PUT /models?sig=.../digits/...``, a wrong URL); and a GitHub error
printing 300 characters of the response body, which leaked a token from a server echoing headers.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from github_standin import TOKEN
from nginx_origin import BASIC, origin_yaml
from test_publish_github import release_yaml

from tfjs_build.engine.lockfile import read_lock
from tfjs_build.publish.bundle import model_digest
from tfjs_build.publish.transport import PublishError
from tfjs_build.util.urls import join_url, redact, redact_text

PASSWORD = BASIC.split(":")[1]  # what the nginx origin's /private/ folder wants, as Basic auth
SIGNATURE = "sig-secret-0123"


def printed(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, (secret, text)


def test_dry_run_shows_urls_without_credentials_or_query(project, capsys):
    project.write_config(origin_yaml(f"http://publisher:{PASSWORD}@127.0.0.1:9/models?sig={SIGNATURE}"),
                         models=("alpha",))
    project.build("alpha")
    digest = model_digest(read_lock(project.root / "tfjs.lock").models["alpha"])
    assert project.publish("--dry-run", "-v") == 0
    out = printed(capsys)
    assert_no_secret(out, PASSWORD, SIGNATURE, "publisher")
    assert f"  would upload http://127.0.0.1:9/models/alpha/{digest}/model.json (" in out, out


def test_credentials_and_signed_query_in_the_url_reach_the_server_only(project, nginx, capsys):
    base = nginx.url.replace("http://", f"http://{BASIC}@") + f"/private/signed?sig={SIGNATURE}"
    project.write_config(origin_yaml(base), models=("alpha",))
    files = project.build("alpha")
    digest = model_digest(read_lock(project.root / "tfjs.lock").models["alpha"])
    assert project.publish("-v") == 0  # /private/ answers 401 unless the URL's user:password is sent
    out = printed(capsys)
    assert_no_secret(out, PASSWORD, SIGNATURE, "publisher")
    assert f"{nginx.url}/private/signed/alpha/{digest}/model.json" in out
    for name, data in files.items():  # the key went into the path, before the query
        assert (nginx.root / "private/signed/alpha" / digest / name).read_bytes() == data
    puts = [p for p in nginx.requests("PUT") if p.startswith("/private/signed")]
    assert puts and all(p.endswith(f"?sig={SIGNATURE}") for p in puts), puts
    assert not (nginx.root / "private/signed").is_file()


def test_prune_through_a_url_with_credentials_and_a_signed_query_prints_neither(project, nginx, capsys):
    base = nginx.url.replace("http://", f"http://{BASIC}@") + f"/private/pruned?sig={SIGNATURE}"
    project.write_config(origin_yaml(base), models=("alpha",))
    for seed in (1, 2):
        project.build_shards("alpha", [bytes([seed]) * 500])
        assert project.publish() == 0
    printed(capsys)
    assert project.publish("--prune", "1", "--dry-run") == 0
    assert project.publish("--prune", "1", "-v") == 0
    out = printed(capsys)
    assert_no_secret(out, PASSWORD, SIGNATURE, "publisher")
    assert f"  would delete {nginx.url}/private/pruned/alpha/model-" in out and f"  - {nginx.url}/private/pruned/" in out
    deletes = [p for p in nginx.requests("DELETE") if p.startswith("/private/pruned")]
    assert len(deletes) == 2 and all(p.endswith(f"?sig={SIGNATURE}") for p in deletes), deletes


ECHO = json.dumps({
    "message": f"Problems parsing JSON \x1b[31m(you sent Authorization: Bearer {TOKEN}; "
               "see https://user:pw-in-doc@docs.example/rest?token=doc-secret)",
    "request": {"headers": {"authorization": f"Bearer {TOKEN}", "cookie": "session=cookie-secret"}},
}).encode()


@pytest.mark.parametrize(("body", "shown"), [
    (ECHO, "HTTP 400 Bad Request: Problems parsing JSON [31m(you sent Authorization: ***; "
           "see https://docs.example/rest)"),
    (f"<html><pre>Authorization: Bearer {TOKEN}</pre></html>".encode(), "HTTP 400 Bad Request\n"),
    (json.dumps({"message": "x" * 5000}).encode(), "HTTP 400 Bad Request: " + "x" * 200 + "..."),
], ids=["json-echoing-headers", "html-echoing-headers", "huge-message"])
def test_an_api_error_shows_its_message_field_only_redacted_and_capped(project, github, capsys, body, shown):
    project.write_config(release_yaml(github), models=("alpha",))
    project.build("alpha")
    github.state.fail_once = ("/repos/", 400, body)
    assert project.publish() == 2
    err = printed(capsys)
    assert_no_secret(err, TOKEN, "pw-in-doc", "doc-secret", "cookie-secret", "\x1b", "<html>")
    assert shown in err, err


def test_an_upload_refused_with_422_shows_the_message_only(project, github, capsys):
    project.write_config(release_yaml(github), models=("alpha",))
    project.build("alpha")
    github.state.fail_once = ("/uploads/", 422, json.dumps({"message": "Validation Failed",
                                                             "echo": f"Bearer {TOKEN}"}).encode())
    assert project.publish() == 2
    err = printed(capsys)
    assert "HTTP 422: Validation Failed" in err and TOKEN not in err, err


def test_s3_public_url_is_shown_without_its_query(project, capsys):
    project.write_config("  cdn:\n    type: s3\n    bucket: b\n"
                         f"    public_url: https://cdn.example.com/m?sig={SIGNATURE}\n", models=("alpha",))
    project.build("alpha")
    assert project.publish("--dry-run") == 0
    out = printed(capsys)
    assert SIGNATURE not in out and "  would upload https://cdn.example.com/m/alpha/" in out


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:pa55@example.com:8443/a/b?sig=secret#frag", "https://example.com:8443/a/b"),
    ("http://[::1]:8080/x?token=t", "http://[::1]:8080/x"),
    ("http://user@host/x", "http://host/x"),
    ("http://host:99999999/x?sig=s", "<a malformed URL>"),
    ("http://[broken/x?sig=s", "<a malformed URL>"),
])
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_redact_text_redacts_every_url_in_a_message() -> None:
    text = "see https://a:b@x.example/p?t=1 and http://y.example/q?s=2, then stop"
    assert redact_text(text) == "see https://x.example/p and http://y.example/q, then stop"


@pytest.mark.parametrize(("base", "key", "url"), [
    ("http://u:p@h/models?sig=abc", "digits/0123/model.json", "http://u:p@h/models/digits/0123/model.json?sig=abc"),
    ("http://h/models/", "a b/x.bin", "http://h/models/a%20b/x.bin"),
    ("http://h", "m/latest.json", "http://h/m/latest.json"),
])
def test_join_url_puts_the_key_in_the_path_before_the_query(base: str, key: str, url: str) -> None:
    assert join_url(base, key) == url
    assert urlsplit(join_url(base, key)).query == urlsplit(base).query



def test_the_actions_pr_comment_error_shows_no_token(github, monkeypatch):
    """The GitHub Action's sticky comment goes through the same client: its warning carries no secret."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "action"))
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    from comment import upsert_comment

    github.state.fail_once = ("/comments", 400, ECHO)
    with pytest.raises(PublishError) as refused:
        upsert_comment("octo/models", 7, "check", "report", TOKEN)
    assert_no_secret(str(refused.value), TOKEN, "pw-in-doc", "doc-secret", "cookie-secret", "\x1b")
    assert "HTTP 400 Bad Request: Problems parsing JSON" in str(refused.value)


@pytest.mark.parametrize("where", ["publish", "cache"])
def test_a_url_refused_by_the_config_is_shown_without_its_credentials(project, capsys, where):
    project.write_config(origin_yaml("http://127.0.0.1:9/m"), models=("alpha",))
    project.build("alpha")
    url = f"ftp://publisher:{PASSWORD}@example.invalid/models?sig={SIGNATURE}"
    if where == "publish":
        project.write_config(origin_yaml(url), models=("alpha",))
    else:
        with open(project.root / "tfjs.yaml", "a", encoding="utf-8") as config:
            config.write(f"cache:\n  remote: '{url}'\n")
    assert project.publish("--dry-run") == 2
    err = printed(capsys)
    assert "got 'ftp://example.invalid/models'" in err, err
    assert_no_secret(err, PASSWORD, SIGNATURE, "publisher")
