"""Publishing built models: one module per target type behind the ``Target`` protocol (base.py).

Modules are imported only for the target being used, so boto3 (the optional ``[s3]``
extra) is needed only by s3 targets, and nothing here imports tensorflow.
"""

from __future__ import annotations

import importlib

from tfjs_build.config import PublishTarget
from tfjs_build.publish.base import Target

_CLASSES = {"s3": ("s3", "S3Target"), "http": ("http", "HttpTarget"), "github": ("github", "GitHubTarget")}


def open_target(target: PublishTarget) -> Target:
    """The publisher for ``target``; its options are validated here (file:line errors)."""
    module, name = _CLASSES[target.type]
    return getattr(importlib.import_module(f"tfjs_build.publish.{module}"), name)(target)
