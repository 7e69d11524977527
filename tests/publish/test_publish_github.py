"""Publishing as GitHub releases, against a local stand-in for the GitHub API (github_standin.py)."""

from __future__ import annotations

from github_standin import StandIn

from tfjs_build.engine.lockfile import read_lock
from tfjs_build.publish.bundle import model_digest


def release_yaml(github: StandIn, extra: str = "") -> str:
    return (f"  release:\n    type: github\n    repo: octo/models\n    api_url: {github.url}\n"
            f"    token_env: RELEASE_TOKEN\n" + extra)


def digest(project, name: str) -> str:
    return model_digest(read_lock(project.root / "tfjs.lock").models[name])


def assets_of(github: StandIn, tag: str) -> dict[str, bytes]:
    release = next(r for r in github.state.releases.values() if r["tag_name"] == tag)
    return {a["name"]: a["data"] for a in github.state.assets.values() if a["release_id"] == release["id"]}


def test_draft_then_assets_shards_first_then_publish_and_a_rerun_uploads_nothing(project, github, capsys):
    project.write_config(release_yaml(github), models=("alpha",))
    files = project.build("alpha", shards=3)
    tag = f"alpha-{digest(project, 'alpha')}"

    assert project.publish() == 0
    assert assets_of(github, tag) == files
    release = next(iter(github.state.releases.values()))
    assert release["draft"] is False and release["tag_name"] == tag
    assert "| `model.json` |" in release["body"]
    writes = [p for m, p in github.state.log if m in ("POST", "PATCH")]
    assert writes[0] == "/repos/octo/models/releases"
    assert [w.rsplit("=", 1)[1] for w in writes[1:-1]] == [
        "group1-shard1of3.bin", "group1-shard2of3.bin", "group1-shard3of3.bin", "model.json"]
    assert writes[-1] == f"/repos/octo/models/releases/{release['id']}"  # published last
    assert f"https://github.invalid/octo/models/releases/tag/{tag}" in capsys.readouterr().out

    before = len(github.state.log)
    assert project.publish() == 0
    assert [m for m, _ in github.state.log[before:]] == ["GET", "GET", "GET"]  # by tag, assets (2 pages)
    assert "(0 uploaded, 0 B; 4 already there)" in capsys.readouterr().out


def test_an_interrupted_draft_is_found_by_listing_and_completed(project, github):
    project.write_config(release_yaml(github), models=("alpha", "beta"))
    files = project.build("alpha")
    project.build("beta")
    tag = f"alpha-{digest(project, 'alpha')}"
    for other in ("x-1", "x-2", "x-3"):  # more releases than one page
        github.state.releases[github.state.new_id()] = {"id": github.state.next_id, "tag_name": other, "draft": False}
    rid = github.state.new_id()
    github.state.releases[rid] = {"id": rid, "tag_name": tag, "name": tag, "body": "", "draft": True}
    github.state.assets[github.state.new_id()] = {"id": github.state.next_id, "release_id": rid,
                                                  "name": "group1-shard1of2.bin", "state": "uploaded",
                                                  "data": files["group1-shard1of2.bin"], "content_type": "x"}

    assert project.publish("release", "alpha") == 0
    uploads = [p for m, p in github.state.log if m == "POST" and "/uploads/" in p]
    assert [u.rsplit("=", 1)[1] for u in uploads] == ["group1-shard2of2.bin", "model.json"]
    assert github.state.releases[rid]["draft"] is False
    assert assets_of(github, tag) == files
    assert not any(r["tag_name"].startswith("beta-") for r in github.state.releases.values())


def test_422_already_exists_with_the_same_size_is_skipped(project, github, capsys):
    project.write_config(release_yaml(github), models=("alpha",))
    files = project.build("alpha")
    tag = f"alpha-{digest(project, 'alpha')}"
    rid = github.state.new_id()
    github.state.releases[rid] = {"id": rid, "tag_name": tag, "name": tag, "body": "", "draft": True}
    github.state.assets[github.state.new_id()] = {"id": github.state.next_id, "release_id": rid, "name": "model.json",
                                                  "state": "uploaded", "data": files["model.json"], "content_type": "x"}
    github.state.hide_assets_once = True  # the listing lags: the client only learns of it from the 422

    assert project.publish() == 0
    out = capsys.readouterr().out
    assert "(2 uploaded" in out and "1 already there)" in out
    assert [p.rsplit("=", 1)[1] for m, p in github.state.log if "/uploads/" in p][-1] == "model.json"  # the 422
    assert assets_of(github, tag) == files
    assert github.state.releases[rid]["draft"] is False


def test_a_rate_limit_403_with_retry_after_is_waited_out(project, github):
    project.write_config(release_yaml(github), models=("alpha",))
    files = project.build("alpha")
    github.state.throttle = 1
    assert project.publish() == 0
    assert github.state.log[0] == github.state.log[1]  # the throttled request, then its retry
    assert assets_of(github, f"alpha-{digest(project, 'alpha')}") == files


def test_a_published_release_that_differs_is_never_modified(project, github, capsys):
    project.write_config(release_yaml(github), models=("alpha",))
    project.build("alpha")
    tag = f"alpha-{digest(project, 'alpha')}"
    rid = github.state.new_id()
    github.state.releases[rid] = {"id": rid, "tag_name": tag, "name": tag, "body": "", "draft": False}
    assert project.publish() == 2
    err = capsys.readouterr().err
    assert f"publish.release: release {tag} is published but its group1-shard1of2.bin is missing or differs" in err
    assert not [p for m, p in github.state.log if m != "GET"]


def test_option_errors_name_the_line_and_the_token_variable(project, github, monkeypatch, capsys):
    project.write_config(release_yaml(github, '    tag: "v1-{model}"\n'), models=("alpha",))
    project.build("alpha")
    assert project.publish() == 2
    assert "tfjs.yaml:11:10: publish.release.tag: must contain {digest}" in capsys.readouterr().err

    project.write_config(release_yaml(github, "    token: abc\n"), models=("alpha",))
    assert project.publish() == 2
    assert ("tfjs.yaml:11:12: publish.release.token: secrets are read from environment variables only; "
            "write `token_env: NAME_OF_VARIABLE`") in capsys.readouterr().err

    project.write_config(release_yaml(github), models=("alpha",))
    monkeypatch.delenv("RELEASE_TOKEN")
    assert project.publish() == 2
    assert "publish.release.token_env: environment variable RELEASE_TOKEN is not set" in capsys.readouterr().err
    assert github.state.log == []
