"""tfjs.yaml validation: every key, every message (exact text), typo hints, path escapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_project import EVERY_KEY, error, load

from tfjs_build.config import Accuracy, Budgets, Quantize, load_config
from tfjs_build.errors import ConfigError


def test_every_model_key(project: Path) -> None:
    config = load(project, EVERY_KEY)
    mobilenet, frozen, keras_net, hub = config.models
    assert config.output_dir == project / "out" / "models"
    assert config.cache.dir == project / ".cache" / "tfjs" and config.cache.max_size == 1024**3
    assert mobilenet.source_path == project / "sm" and mobilenet.input_format == "saved_model"
    assert mobilenet.tags == ("serve", "gpu")
    assert mobilenet.quantize == Quantize((("uint8", ("*/kernel",)), ("float16", ("*",))))
    assert mobilenet.shard_size == 512 * 1024
    assert mobilenet.backends == ("webgl", "cpu")  # repeats dropped, order kept
    assert (mobilenet.strip_debug_ops, mobilenet.control_flow_v2) == (False, True)
    assert mobilenet.metadata == (("extra", project / "labels.json"), ("labels", project / "labels.json"))
    assert mobilenet.budgets == Budgets(size=5 * 1024**2, transfer=4 * 1024**2, shards=8, params=5_000_000)
    assert mobilenet.accuracy == Accuracy(max_error=0.01, samples=4, inputs=project / "samples.npz")
    assert frozen.input_format == "frozen_graph" and frozen.outputs == ("logits",)
    assert frozen.quantize == Quantize((("uint16", ("*",)),))
    assert frozen.backends == ("cpu", "wasm")  # from defaults
    assert frozen.budgets == Budgets(size=5 * 1024**2, shards=8)
    assert frozen.shard_size == 4 * 1024 * 1024 and frozen.signature == "serving_default"
    assert keras_net.format == "layers" and keras_net.split_weights_by_layer
    assert keras_net.input_format == "keras"
    assert config.publish[0].name == "cdn" and config.publish[0].options == (("bucket", "models"),)


def test_url_source_needs_sha256_and_keeps_auto(project: Path) -> None:
    config = load(project, """\
        version: 1
        models:
          hub:
            source: https://example.com/model.tar.gz
            sha256: ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789
        """)
    (model,) = config.models
    assert model.source_url == "https://example.com/model.tar.gz" and model.source_path is None
    assert model.sha256 == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
    assert model.input_format == "auto"


def test_where_points_at_the_key(project: Path) -> None:
    config = load(project, """\
        version: 1
        defaults:
          budgets: {size: 1MiB}
        models:
          a:
            source: sm
            quantize: uint8
        """)
    model = config.models[0]
    assert model.where("quantize") == "tfjs.yaml:7:15: models.a.quantize"
    assert model.where("budgets") == "tfjs.yaml:3:12: models.a.budgets"  # inherited from defaults
    assert model.where() == "tfjs.yaml:5:3: models.a"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\nmodel: {}\n",
         "tfjs.yaml:2:1: model: unknown key (did you mean 'models'?); expected one of "
         "version, output_dir, defaults, models, publish, cache"),
        ("version: 1\nmodels:\n  a: {source: sm, quantise: uint8}\n",
         "tfjs.yaml:3:19: models.a.quantise: unknown key (did you mean 'quantize'?); expected one of "
         "source, sha256, input_format, format, signature, tags, outputs, quantize, shard_size, backends, "
         "strip_debug_ops, control_flow_v2, split_weights_by_layer, metadata, budgets, accuracy, verify"),
        ("version: 1\nmodels:\n  a: {source: sm, quantize: unit8}\n",
         "tfjs.yaml:3:29: models.a.quantize: expected one of none, uint8, uint16, float16, float32, auto or a mapping "
         "of dtype to weight-name globs, got 'unit8' (did you mean 'uint8'?)"),
        ("version: 1\nmodels:\n  a: {source: sm, quantize: {int8: ['*']}}\n",
         "tfjs.yaml:3:30: models.a.quantize.int8: unknown key (did you mean 'uint8'?); expected one of "
         "uint8, uint16, float16, float32, auto"),
        ("version: 1\nmodels:\n  a: {source: sm, format: graf}\n",
         "tfjs.yaml:3:27: models.a.format: expected one of graph, layers, got 'graf' (did you mean 'graph'?)"),
        ("version: 1\nmodels:\n  a: {source: sm, backends: [cpu, webgpu]}\n",
         "tfjs.yaml:3:35: models.a.backends[1]: expected one of cpu, wasm, webgl, got 'webgpu' "
         "(did you mean 'webgl'?)"),
        ("version: 1\nmodels:\n  a: {source: sm, shard_size: 4 MeB}\n",
         "tfjs.yaml:3:31: models.a.shard_size: expected a size such as 4MiB, 512KiB, 5MB or a byte count, "
         "got '4 MeB'"),
        ("version: 1\nmodels:\n  a: {source: sm, budgets: {sise: 1MiB}}\n",
         "tfjs.yaml:3:29: models.a.budgets.sise: unknown key (did you mean 'size'?); expected one of "
         "size, transfer, shards, params, latency, first_inference, memory"),
        ("version: 1\nmodels:\n  a: {source: sm, budgets: {shards: 0}}\n",
         "tfjs.yaml:3:37: models.a.budgets.shards: expected a whole number >= 1, got 0"),
        ("version: 1\nmodels:\n  a: {source: sm, accuracy: {max_error: high}}\n",
         "tfjs.yaml:3:41: models.a.accuracy.max_error: expected a number >= 0 such as 0.01, got 'high'"),
        ("version: 1\nmodels:\n  a: {source: sm, strip_debug_ops: 'yes'}\n",
         "tfjs.yaml:3:36: models.a.strip_debug_ops: expected true or false, got 'yes'"),
        ("version: 1\nmodels:\n  a: {format: graph}\n",
         "tfjs.yaml:3:6: models.a: missing required key 'source' (a model file, SavedModel folder or https URL)"),
        ("version: 1\nmodels:\n  a: {source: missing.h5}\n",
         "tfjs.yaml:3:15: models.a.source: no such file or directory: 'missing.h5' (looked for {root}/missing.h5); "
         "paths are relative to the folder that holds tfjs.yaml"),
        ("version: 1\nmodels:\n  a: {source: ../outside.keras}\n",
         "tfjs.yaml:3:15: models.a.source: path '../outside.keras' leads outside the project ({root}); "
         "keep models and files inside the folder that holds tfjs.yaml"),
        ("version: 1\noutput_dir: /tmp/elsewhere\nmodels: {}\n",
         "tfjs.yaml:2:13: output_dir: path '/tmp/elsewhere' leads outside the project ({root}); "
         "keep models and files inside the folder that holds tfjs.yaml"),
        ("version: 1\nmodels:\n  a: {source: sm, metadata: {labels: ../../etc/passwd}}\n",
         "tfjs.yaml:3:38: models.a.metadata.labels: path '../../etc/passwd' leads outside the project ({root}); "
         "keep models and files inside the folder that holds tfjs.yaml"),
        ("version: 1\nmodels:\n  a: {source: 'https://x.org/m.tar.gz'}\n",
         "tfjs.yaml:3:15: models.a.source: a URL source needs `sha256:` (run sha256sum on the file) "
         "so downloads are verified"),
        ("version: 1\nmodels:\n  a: {source: 'http://x.org/m.tar.gz', sha256: " + "a" * 64 + "}\n",
         "tfjs.yaml:3:15: models.a.source: only https:// URLs are supported, got 'http://x.org/m.tar.gz'"),
        ("version: 1\nmodels:\n  a: {source: 'https://x.org/m.bin', sha256: " + "a" * 64 + "}\n",
         "tfjs.yaml:3:15: models.a.source: a URL source must point to a .tar.gz, .tgz or .zip archive"),
        ("version: 1\nmodels:\n  a: {source: sm, sha256: 1234}\n",
         "tfjs.yaml:3:27: models.a.sha256: YAML read this digest as a number; put it in quotes"),
        ("version: 1\nmodels:\n  a: {source: sm, sha256: abc}\n",
         "tfjs.yaml:3:27: models.a.sha256: expected 64 hexadecimal digits (sha256sum of the file), got 'abc'"),
        ("version: 1\nmodels:\n  MyNet: {source: sm}\n",
         "tfjs.yaml:3:3: models.MyNet: model names must match [a-z0-9][a-z0-9._-]* "
         "(lower case; they become folder names)"),
        ("version: 1\nmodels:\n  a: {source: sm}\n  a: {source: sm}\n",
         "tfjs.yaml:4:3: models.a: duplicate key; each key may appear once"),
        ("version: 1\nmodels:\n  a: {source: sm\n",
         "tfjs.yaml:4:1: invalid YAML: expected ',' or '}', but got '<stream end>'"),
        ("models: {}\n", "tfjs.yaml:1:1: version: missing; add `version: 1` at the top"),
        ("version: 2\nmodels: {}\n",
         "tfjs.yaml:1:10: version: expected 1 (the only schema version this tfjs-build reads), got 2; "
         "a newer tfjs-build wrote this file: upgrade tfjs-build (pip install -U tfjs-build)"),
        ("version: 1\n", "tfjs.yaml:1:1: models: missing; add a `models:` mapping (see `tfjs-build init`)"),
        ("version: 1\nmodels: [a, b]\n",
         "tfjs.yaml:2:9: models: expected a mapping of model name to settings, got a list"),
        ("- 1\n", "tfjs.yaml:1:1: expected a mapping with keys version and models, got a list"),
        ("version: 1\nmodels:\n  a: {source: sm, outputs: [y]}\n",
         "tfjs.yaml:3:28: models.a.outputs: only used with input_format: frozen_graph; remove it"),
        ("version: 1\nmodels:\n  a: {source: frozen.pb}\n",
         "tfjs.yaml:3:15: models.a.source: a frozen graph needs `outputs:` (the names of its output nodes)"),
        ("version: 1\nmodels:\n  a: {source: sm, format: layers}\n",
         "tfjs.yaml:3:27: models.a.format: format: layers needs a Keras model (.keras or .h5) but this "
         "source is a saved_model; use format: graph"),
        ("version: 1\nmodels:\n  a: {source: net.keras, input_format: saved_model}\n",
         "tfjs.yaml:3:40: models.a.input_format: says saved_model but the source is a Keras file (.keras); "
         "use input_format: keras or auto"),
        ("version: 1\nmodels:\n  a: {source: labels.json}\n",
         "tfjs.yaml:3:15: models.a.source: cannot tell the input format: found a file with extension "
         "'.json'; set input_format to one of saved_model, keras, frozen_graph, tf_hub"),
        ("version: 1\nmodels:\n  a: {source: sm, metadata: {labels: nope.json}}\n",
         "tfjs.yaml:3:38: models.a.metadata.labels: no such file or directory: 'nope.json' "
         "(looked for {root}/nope.json); paths are relative to the folder that holds tfjs.yaml"),
        ("version: 1\nmodels: {}\npublish:\n  cdn: {type: gihub}\n",
         "tfjs.yaml:4:15: publish.cdn.type: expected one of s3, github, http, got 'gihub' (did you mean 'github'?)"),
        ("version: 1\nmodels: {}\npublish:\n  cdn: {bucket: x}\n",
         "tfjs.yaml:4:8: publish.cdn: missing required key 'type' (one of s3, github, http)"),
        ("version: 1\nmodels: {}\ncache: {dri: x}\n",
         "tfjs.yaml:3:9: cache.dri: unknown key (did you mean 'dir'?); expected one of dir, max_size, remote, push, "
         "endpoint_url, region, addressing_style, access_key_id_env, secret_access_key_env"),
        ("version: 1\nmodels: {}\ncache: {remote: 'ftp://x'}\n",
         "tfjs.yaml:3:17: cache.remote: expected an http(s):// URL of a GET/PUT store or s3://BUCKET/PREFIX, got 'ftp://x'"),
        ("version: 1\ndefaults: {quantize: int8}\nmodels: {}\n",
         "tfjs.yaml:2:22: defaults.quantize: expected one of none, uint8, uint16, float16, float32, auto or a mapping of "
         "dtype to weight-name globs, got 'int8' (did you mean 'uint8'?)"),
    ],
)
def test_error_messages(project: Path, text: str, message: str) -> None:
    assert error(project, text) == message.replace("{root}", str(project))


def test_missing_config_file(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(project / "tfjs.yaml")
    assert str(info.value) == (
        "tfjs.yaml: no such file; run `tfjs-build init` to create one, or pass -c FILE / -C DIR"
    )


def test_yaml_tags_are_not_executed(project: Path) -> None:
    marker = project / "executed"
    message = error(project, f"version: 1\nmodels: !!python/object/apply:os.system ['touch {marker}']\n")
    assert message == (
        "tfjs.yaml:2:9: models: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed; "
        "use plain mappings and lists"
    )
    assert not marker.exists()
    message = error(project, "version: 1\nmodels: {a: !!python/name:os.system x}\n")
    assert message.startswith("tfjs.yaml:2:13: invalid YAML: could not determine a constructor")


def test_symlink_out_of_project_is_refused(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "model.keras"
    outside.write_bytes(b"")
    (project / "link.keras").symlink_to(outside)
    message = error(project, "version: 1\nmodels:\n  a: {source: link.keras}\n")
    assert message.startswith("tfjs.yaml:3:15: models.a.source: path 'link.keras' leads outside the project")


def test_model_settings_override_defaults_key_by_key(project: Path) -> None:
    config = load(project, """\
        version: 1
        defaults:
          quantize: uint8
          budgets: {size: 1MiB, shards: 2}
          accuracy: {max_error: 0.1}
        models:
          a: {source: sm, budgets: {shards: 4}, accuracy: {samples: 2}, quantize: none}
        """)
    model = config.models[0]
    assert model.budgets == Budgets(size=1024**2, shards=4)
    assert model.accuracy == Accuracy(max_error=0.1, samples=2)
    assert not model.quantize.enabled


def test_select_gives_named_models_once_in_file_order_and_hints_unknown_names(project: Path) -> None:
    config = load(project, """\
        version: 1
        models:
          alpha: {source: sm}
          beta: {source: net.keras}
          gamma: {source: frozen.pb, outputs: [out]}
        """)
    assert [m.name for m in config.select(["gamma", "alpha", "gamma"])] == ["alpha", "gamma"]
    assert [m.name for m in config.select([])] == ["alpha", "beta", "gamma"]
    with pytest.raises(ConfigError, match=r"no model named 'bta' \(did you mean 'beta'\?\)"):
        config.select(["alpha", "bta"])
