"""Publishing to a real S3 API (moto's ThreadedMotoServer on 127.0.0.1) through the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator

import boto3
import pytest
from s3_server import running_moto

from tfjs_build.engine.lockfile import read_lock
from tfjs_build.publish.bundle import model_digest
from tfjs_build.publish.s3 import S3Target

KEYS = {"TEST_S3_KEY_ID": "testing-key", "TEST_S3_SECRET": "s3cr3t-value-never-printed"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with running_moto() as url:
        yield url


@pytest.fixture
def bucket(endpoint: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing-key", aws_secret_access_key="x")
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50]  # parametrized ids too
    client.create_bucket(Bucket=name)
    yield client, name
    client.close()


@pytest.fixture
def puts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A spy on S3Target.put (the real upload still happens): the keys, in upload order."""
    seen: list[str] = []
    real = S3Target.put

    def spy(self, key, data, content_type, cache_control):
        seen.append(key)
        real(self, key, data, content_type, cache_control)

    monkeypatch.setattr(S3Target, "put", spy)
    return seen


def target_yaml(endpoint: str, bucket: str, extra: str = "") -> str:
    return (f"  cdn:\n    type: s3\n    bucket: {bucket}\n    prefix: models/\n    endpoint_url: {endpoint}\n"
            f"    region: us-east-1\n    access_key_id_env: TEST_S3_KEY_ID\n    secret_access_key_env: TEST_S3_SECRET\n"
            + extra)


def digest(project, name: str) -> str:
    return model_digest(read_lock(project.root / "tfjs.lock").models[name])


def test_publish_uploads_every_file_with_headers_then_nothing_the_second_time(project, endpoint, bucket, puts, capsys):
    client, name = bucket
    project.write_config(target_yaml(endpoint, name))
    built = {model: project.build_shards(model, [model.encode() * 300, b"head" * 200]) for model in ("alpha", "beta")}

    assert project.publish() == 0
    first = capsys.readouterr()
    for model, files in built.items():
        stored = {f"model-{digest(project, model)}.json" if n == "model.json" else n: d for n, d in files.items()}
        for file_name, data in stored.items():  # shards and the versioned model.json beside them
            obj = client.get_object(Bucket=name, Key=f"models/{model}/{file_name}")
            assert obj["Body"].read() == data
            assert obj["CacheControl"] == "public, max-age=31536000, immutable"
            assert obj["ContentType"] == ("application/json" if file_name.endswith(".json") else "application/octet-stream")
        for mutable in ("latest.json", "versions.json"):
            assert client.get_object(Bucket=name, Key=f"models/{model}/{mutable}")["CacheControl"] == "no-cache"
        pointer = client.get_object(Bucket=name, Key=f"models/{model}/latest.json")["Body"].read().decode()
        assert f'"model_json": "model-{digest(project, model)}.json"' in pointer
    assert len(puts) == 10  # (2 shards + model.json + versions.json + latest.json) x 2 models
    assert "4 uploaded" not in first.out and "5 uploaded" in first.out
    assert KEYS["TEST_S3_SECRET"] not in first.out + first.err

    puts.clear()
    assert project.publish() == 0
    assert puts == []
    assert capsys.readouterr().out.count("0 uploaded") == 2


def test_shards_go_first_in_manifest_order_model_json_after_them_pointer_last(project, endpoint, bucket, puts):
    client, name = bucket
    project.write_config(target_yaml(endpoint, name), models=("alpha",))
    files = project.build_shards("alpha", [b"c" * 900, b"a" * 800, b"b" * 700])  # names not in sorted order
    assert project.publish("cdn", "alpha") == 0
    names = [key.rsplit("/", 1)[1] for key in puts]
    assert names[:3] == list(files)[:3] != sorted(list(files)[:3])
    assert names[3:] == [f"model-{digest(project, 'alpha')}.json", "versions.json", "latest.json"]


def test_a_rebuilt_model_of_the_digest_layout_gets_a_new_folder_and_only_it_is_uploaded(project, endpoint, bucket,
                                                                                       puts):
    """Shards not named by content (built before content naming) keep the digest layout: MODEL/DIGEST/FILE."""
    client, name = bucket
    project.write_config(target_yaml(endpoint, name))
    project.build("alpha")
    project.build("beta")
    assert project.publish() == 0
    old_beta = digest(project, "beta")
    project.build("beta", seed=1)
    new_beta = digest(project, "beta")
    assert new_beta != old_beta
    puts.clear()

    assert project.publish() == 0
    assert all(key.startswith(f"models/beta/{new_beta}/") for key in puts[:-2])
    assert puts[-2:] == ["models/beta/versions.json", "models/beta/latest.json"] and len(puts) == 5
    # The old version stays where it was: URLs handed out earlier keep working.
    client.head_object(Bucket=name, Key=f"models/beta/{old_beta}/model.json")


def test_an_output_that_no_longer_matches_the_lock_stops_before_any_upload(project, endpoint, bucket, puts, capsys):
    client, name = bucket
    project.write_config(target_yaml(endpoint, name))
    project.build("alpha")
    project.build("beta")
    (project.root / "dist/tfjs/beta/group1-shard2of2.bin").write_bytes(b"tampered")
    assert project.publish() == 2
    err = capsys.readouterr().err
    assert "dist/tfjs/beta/group1-shard2of2.bin: does not match tfjs.lock" in err
    assert "run `tfjs-build build beta`" in err
    assert puts == []  # alpha was fine, but nothing goes out when any model is wrong


def test_a_missing_credential_variable_is_named_and_nothing_is_printed_of_secrets(project, endpoint, bucket, monkeypatch, capsys):
    client, name = bucket
    monkeypatch.delenv("TEST_S3_SECRET")
    project.write_config(target_yaml(endpoint, name), models=("alpha",))
    project.build("alpha")
    assert project.publish() == 2
    err = capsys.readouterr().err
    assert "tfjs.yaml:13:28: publish.cdn.secret_access_key_env: environment variable TEST_S3_SECRET is not set" in err


def test_an_unreachable_endpoint_is_a_clear_error(project, bucket, capsys):
    project.write_config(target_yaml("http://127.0.0.1:9", "nothing-here"), models=("alpha",))
    project.build("alpha")
    assert project.publish() == 2
    err = capsys.readouterr().err
    assert "publish.cdn: HEAD s3://nothing-here/models/alpha/" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("tamper", [lambda data: data[::-1], lambda data: data + b" "], ids=["same-size", "other-size"])
def test_never_overwrites_a_digest_object(project, endpoint, bucket, puts, capsys, tamper):
    """S3 reports each object's MD5 (its ETag), so even a same-size shard with other bytes is caught."""
    client, name = bucket
    project.write_config(target_yaml(endpoint, name), models=("alpha",))
    files = project.build_shards("alpha", [bytes(range(250)) * 4, b"y" * 1000])
    shard = next(iter(files))
    assert project.publish() == 0
    key = f"models/alpha/{shard}"
    other = tamper(files[shard])
    client.put_object(Bucket=name, Key=key, Body=other)
    puts.clear()
    assert project.publish() == 2
    err = capsys.readouterr().err
    refusal = f"tfjs.yaml:6:3: publish.cdn: s3://{name}/{key} already exists with other bytes than the build's "
    assert refusal + shard in err, err
    assert client.get_object(Bucket=name, Key=key)["Body"].read() == other
    assert puts == []
