"""Publish to S3 or any S3-compatible store (Cloudflare R2, MinIO, GCS XML API) with boto3.

boto3 is an optional extra (``pip install 'tfjs-build[s3]'``), imported only when an s3
target is used. Credentials come from boto3's usual chain (AWS_* variables, profiles,
instance roles) or from variables named by ``access_key_id_env`` / ``secret_access_key_env``.

    publish:
      cdn:
        type: s3
        bucket: my-models
        prefix: models/            # optional
        endpoint_url: https://ACCOUNT.r2.cloudflarestorage.com   # optional
        region: auto               # optional
        addressing_style: path     # optional: auto | path | virtual
        public_url: https://cdn.example.com/   # optional: printed instead of s3://
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tfjs_build.config import PublishTarget
from tfjs_build.config.kinds import Choice, EnvName, Text, Url
from tfjs_build.errors import ConfigError
from tfjs_build.publish.base import Log, Outcome, Planned, Pruned, Stored, plan_store, publish_to_store, stored_md5
from tfjs_build.publish.bundle import Bundle
from tfjs_build.publish.history import Listed
from tfjs_build.publish.options import Options, option
from tfjs_build.publish.transport import PublishError
from tfjs_build.util.urls import join_url, redact, server_text

ADDRESSING = ("auto", "path", "virtual")
_MISSING = {"404", "NoSuchKey", "NotFound"}
_URL = Url("an http:// or https:// URL")


@dataclass(frozen=True)
class S3Options:
    bucket: str = field(metadata=option(Text(), required="for a publish target of type s3"))
    prefix: str | None = field(default=None, metadata=option(Text()))
    endpoint_url: str | None = field(default=None, metadata=option(_URL))
    region: str | None = field(default=None, metadata=option(Text()))
    addressing_style: str = field(default="auto", metadata=option(Choice(ADDRESSING)))
    public_url: str | None = field(default=None, metadata=option(_URL))
    access_key_id_env: str | None = field(default=None, metadata=option(EnvName()))
    secret_access_key_env: str | None = field(default=None, metadata=option(EnvName()))


class S3Target:
    def __init__(self, target: PublishTarget) -> None:
        options = Options(target, S3Options)
        self.where = target.where()
        self.bucket = options.record.bucket
        self.prefix = _prefix(options.record.prefix)
        self.endpoint_url = options.record.endpoint_url
        self.region = options.record.region
        self.addressing_style = options.record.addressing_style
        self.public_url = options.record.public_url
        self._options = options
        self._client: Any = None

    def url(self, key: str) -> str:
        return redact(join_url(self.public_url, key)) if self.public_url else f"s3://{self.bucket}/{key}"

    def plan(self, bundle: Bundle) -> list[Planned]:
        return plan_store(self, self.prefix, bundle)

    def publish(self, bundle: Bundle, log: Log) -> Outcome:
        return publish_to_store(self, self.prefix, bundle, log)

    def prune(self, model: str, keep: int, dry_run: bool, log: Log) -> Pruned:
        from tfjs_build.publish.prune import prune_store

        return prune_store(self, self.prefix, model, keep, dry_run=dry_run, log=log)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # ------------------------------------------------------------ ObjectStore

    def stat(self, key: str) -> Stored | None:
        try:
            head = self._call("HEAD", key, "head_object")
        except _NotFound:
            return None
        return Stored(int(head["ContentLength"]), stored_md5(head.get("ETag")))

    def read(self, key: str) -> bytes | None:
        try:
            return self._call("GET", key, "get_object")["Body"].read()
        except _NotFound:
            return None

    def put(self, key: str, data: bytes, content_type: str, cache_control: str) -> None:
        self._call("PUT", key, "put_object", Body=data, ContentType=content_type, CacheControl=cache_control)

    def delete(self, key: str) -> None:
        self._call("DELETE", key, "delete_object")  # S3 answers 204 for a key already gone

    def list_keys(self, prefix: str) -> list[Listed]:
        listed = []
        pages = self._connect().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in self._calling("LIST", prefix, lambda: list(pages)):
            listed += [Listed(o["Key"], int(o["Size"]), o["LastModified"].timestamp()) for o in page.get("Contents", [])]
        return listed

    # ------------------------------------------------------------ boto3

    def _call(self, verb: str, key: str, method: str, **kwargs: Any) -> Any:
        client = self._connect()
        return self._calling(verb, key, lambda: getattr(client, method)(Bucket=self.bucket, Key=key, **kwargs))

    def _calling(self, verb: str, key: str, call: Callable[[], Any]) -> Any:
        """``call()``, its botocore errors turned into messages that name the object and what to check."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            return call()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in _MISSING and verb in ("HEAD", "GET"):
                raise _NotFound() from None
            said = server_text(f"{code} {error.get('Message', '')}")
            raise PublishError(
                f"{self.where}: {verb} s3://{self.bucket}/{key}: {said}"
                + "; check the bucket name, the endpoint_url and that the credentials may write to it"
            ) from None
        except NoCredentialsError:
            raise PublishError(
                f"{self.where}: {verb} s3://{self.bucket}/{key}: no AWS credentials found; set AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY (or name other variables with access_key_id_env/secret_access_key_env)"
            ) from None
        except BotoCoreError as exc:
            raise PublishError(
                f"{self.where}: {verb} s3://{self.bucket}/{key}: {server_text(exc, 300)}; "
                "check endpoint_url, region and your network"
            ) from None

    def _connect(self) -> Any:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        named = "access_key_id_env" in self._options.values or "secret_access_key_env" in self._options.values
        key_id = self._options.secret("access_key_id_env", required=named)
        secret = self._options.secret("secret_access_key_env", required=named)
        return make_client(self.where, self.endpoint_url, self.region, self.addressing_style, (key_id, secret))


def make_client(where: str, endpoint_url: str | None, region: str | None, addressing_style: str,
                keys: tuple[str | None, str | None], attempts: int = 5, timeout: float | None = None) -> Any:
    """A boto3 S3 client (publish targets and the S3 remote cache); ``keys``: (access key id, secret) or
    (None, None) for boto3's own chain; ``timeout``: seconds to connect and between reads (boto3's default: 60)."""
    try:
        import boto3
        from botocore.config import Config as BotoConfig
    except ImportError:
        raise ConfigError(f"{where}: type s3 needs boto3; install it with `pip install 'tfjs-build[s3]'`") from None
    timeouts = {} if timeout is None else {"connect_timeout": min(timeout, 5.0), "read_timeout": timeout}
    config = BotoConfig(retries={"max_attempts": attempts, "mode": "standard"},
                        s3={"addressing_style": addressing_style}, **timeouts)
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, region_name=region, config=config,
        aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
    )


class _NotFound(Exception):
    """HEAD/GET found no object (an expected answer, not an error)."""


def _prefix(prefix: str | None) -> str:
    prefix = (prefix or "").strip("/")
    return f"{prefix}/" if prefix else ""
