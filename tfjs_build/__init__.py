"""tfjs-build: incremental, checked builds of TensorFlow.js models.

Importing this package must stay cheap: nothing here (or on any no-op path)
imports tensorflow. Only ``tfjs_build.convert`` does.
"""

__version__ = "0.1.0"

# Bumped whenever converter output changes for the same input; part of every
# model's fingerprint, so an upgrade marks models stale ("converter upgraded").
CONVERTER_VERSION = "5"
