"""Fan-out figures (issue 11): how well ``plan --shards N`` balances real builds, the modelled wall time of a
build split over N = 1, 2, 4 CI runners, and the assemble step (``build --restore-only``) against one machine.

Real conversions, not stand-ins: 16 Keras models (MLPs and conv nets, 2-12 layers, 0.05-20 MB) are built
by the real CLI with ``-j 1``, as one runner builds its group. Each model's seconds come from the build
itself: with one worker, models convert one after another and each one's cache entry is written when it is
done, so the gaps between the entries' mtimes are the models' build seconds. The first model of a build
also pays the runner's start (Python, the plan, the worker, TensorFlow's import), so the project is built
four times, in four orders (tfjs.yaml as is, rotated by half, and both reversed): each model's seconds are
the median of the builds where it was not first. The runner's start-up is a build's wall time minus its
models' seconds (the lock writes and the exit included), the median of the four builds.

A shard's modelled time is one runner's start-up plus its models' seconds; the fan-out's wall time is the plan
command, then its slowest shard, then the assemble step (from the S3 remote), one after another as the
workflow's jobs run; each CI job's own start (checkout, setup-python, install) is not measured here and is 0
unless ``--job-start`` says otherwise. The splits are the real ones, twice: a cold project (no tfjs.lock: each
model costed by its input bytes now) and a rebuild (a shared setting changed, so every model is stale and
costed from the lock). Their balance (largest shard / mean shard, on measured seconds) is shown beside the
best any split of this set can do: the exact optimum (branch and bound) and the lower bound max(1, largest
model / mean shard). The cost formula (``tfjs_build.engine.shards.estimated_cost``) is checked against the
measured seconds (correlation, and a least-squares fit of the same terms for comparison with its constants),
and its verify term against one more build (a small model unverified, then verified on one, two, three
backends). Then the assemble step, right after each of the four builds (so both see the same load on a shared
machine), twice: a fresh copy whose local cache holds that build's entries, and one whose local cache is empty
and whose tfjs.yaml names an S3 remote cache holding them (moto's S3-API server on 127.0.0.1, on this same
machine: no network latency, but boto3 and every request); TensorFlow poisoned; its time over the build's, the
median of the four.

    .venv/bin/python bench/fanout.py [--keep DIR] [--job-start SECONDS]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fanout_figures import (  # noqa: E402
    LOCAL,
    REMOTE,
    Assemble,
    Measured,
    Plans,
    print_assemble,
    print_cost_fit,
    print_splits,
    print_verify,
)
from s3_server import running_moto  # noqa: E402  (the tests' S3-API server on 127.0.0.1)

KEYS = {"K": "bench-key", "S": "bench-secret"}  # moto takes any credentials

# (kind, width or channels, layers): weights ~ layers * width^2 floats (MLP), layers * 9 * channels^2 (conv)
SPECS = (("mlp", 64, 2), ("mlp", 64, 12), ("mlp", 256, 3), ("mlp", 256, 8), ("mlp", 512, 4), ("mlp", 1024, 2),
         ("mlp", 1024, 4), ("mlp", 1280, 3), ("cnn", 16, 3), ("cnn", 16, 12), ("cnn", 32, 6), ("cnn", 64, 4),
         ("cnn", 64, 10), ("cnn", 128, 3), ("cnn", 128, 8), ("cnn", 256, 4))


def make_models(root: Path) -> list[str]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    (root / "models").mkdir(parents=True, exist_ok=True)
    names = []
    for kind, width, depth in SPECS:
        if kind == "mlp":
            layers = [keras.Input((width,)), *(keras.layers.Dense(width, activation="relu") for _ in range(depth))]
        else:
            layers = [keras.Input((32, 32, 3)), *(keras.layers.Conv2D(width, 3, padding="same", activation="relu")
                                                  for _ in range(depth)), keras.layers.GlobalAveragePooling2D()]
        name = f"{kind}{width}x{depth}"
        keras.Sequential([*layers, keras.layers.Dense(10)]).save(root / "models" / f"{name}.keras")
        names.append(name)
    write_config(root, names)
    return names


def write_config(root: Path, names: list[str], extra: str = "") -> None:
    lines = ["version: 1", "models:"]
    for name in names:
        lines += [f"  {name}:", f"    source: models/{name}.keras", "    quantize: none"]
    (root / "tfjs.yaml").write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")


def cli(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tfjs_build", "--no-color", "-C", str(root), *args],
                            capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=1800)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"tfjs-build {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return seconds, result


def fresh_copy(src: Path, dest: Path, names: list[str] | None = None) -> Path:
    shutil.copytree(src / "models", dest / "models")
    if names is None:
        shutil.copy(src / "tfjs.yaml", dest / "tfjs.yaml")
    else:
        write_config(dest, names)
    os.sync()
    return dest


def timed_build(root: Path) -> tuple[float, dict[str, float]]:
    """Build everything with -j 1; (wall seconds, {model: seconds from the previous model's end to its own})."""
    began = time.time()
    wall = cli(root, "build", "-j", "1")[0]
    lock = json.loads((root / "tfjs.lock").read_text(encoding="utf-8"))["models"]
    cache = root / ".tfjs-build" / "cache" / "entries"
    ends = {name: (cache / e["fingerprint"][:2] / f"{e['fingerprint']}.json").stat().st_mtime for name, e in lock.items()}
    starts = {name: max([began, *(t for t in ends.values() if t < end)]) for name, end in ends.items()}
    return wall, {name: ends[name] - starts[name] for name in lock}


def measure(base: Path, work: Path, names: list[str]) -> Measured:
    """Four rounds, each a -j 1 build (in four orders), then assembles from its local cache and from the S3 remote.
    Each model's seconds without the runner's start: the median of the builds where it was not first; the start:
    the median."""
    cli(fresh_copy(base, work / "warmup", names[:1]), "build", "-j", "1")  # disk caches, .pyc
    half = len(names) // 2
    orders = (names, names[half:] + names[:half], names[::-1], (names[half:] + names[:half])[::-1])
    poison = poisoned_tensorflow(work)
    runs, assembles = [], {LOCAL: [], REMOTE: []}
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    with running_moto() as endpoint:
        for i, order in enumerate(orders):
            runs.append((order, *timed_build(fresh_copy(base, work / f"run{i}", order))))
            if i == 0:
                remote = upload_cache(work / "run0" / ".tfjs-build" / "cache", endpoint)
            assembles[LOCAL].append(assemble(base, work / f"run{i}", work / f"assemble{i}", poison, None))
            assembles[REMOTE].append(assemble(base, work / f"run{i}", work / f"assemble-s3-{i}", poison, remote))
    seconds = {name: statistics.median(gaps[name] for order, _, gaps in runs if order[0] != name) for name in names}
    startup = statistics.median(wall - sum(seconds.values()) for _, wall, _ in runs)
    lock = json.loads((work / "run0" / "tfjs.lock").read_text(encoding="utf-8"))["models"]
    return Measured(names, seconds, startup, [wall for _, wall, _ in runs], lock,
                    {name: (base / "models" / f"{name}.keras").stat().st_size for name in names}, assembles)


def upload_cache(cache: Path, endpoint: str) -> str:
    """The local cache's entries and blobs into a bucket of the S3-API server, in the remote cache's layout
    (``ac/<fingerprint>``, ``cas/<sha256>``), as the shards' runners push them; the tfjs.yaml lines to read it."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEYS["K"],
                          aws_secret_access_key=KEYS["S"])
    client.create_bucket(Bucket="team-cache")
    for blob in (cache / "blobs").glob("*/*"):
        client.put_object(Bucket="team-cache", Key=f"tfjs/cas/{blob.name}", Body=blob.read_bytes())
    for entry in (cache / "entries").glob("*/*.json"):
        client.put_object(Bucket="team-cache", Key=f"tfjs/ac/{entry.stem}", Body=entry.read_bytes())
    return (f"cache:\n  remote: s3://team-cache/tfjs\n  endpoint_url: {endpoint}\n  region: us-east-1\n"
            "  addressing_style: path\n  access_key_id_env: K\n  secret_access_key_env: S\n")


VERIFIED = {"warm-up": "format: graph", "plain": "format: layers",  # the first model pays the runner's start
            "cpu": "format: layers\n    verify: true\n    backends: [cpu]",
            "wasm": "format: layers\n    verify: true\n    backends: [cpu, wasm]",
            "webgl": "format: layers\n    verify: true\n    backends: [cpu, wasm, webgl]"}


def measure_verify(base: Path, work: Path) -> dict[str, float]:
    """tfjs.yaml's verify, per backend: one -j 1 build of a small model unverified, then verified on cpu, on
    cpu + wasm, on cpu + wasm + webgl; each backend's seconds are the difference from the one before."""
    root = work / "verify"
    (root / "models").mkdir(parents=True)
    shutil.copy(base / "models" / "mlp64x2.keras", root / "models" / "m.keras")
    models = "".join(f"  {name}:\n    source: models/m.keras\n    {keys}\n" for name, keys in VERIFIED.items())
    (root / "tfjs.yaml").write_text(f"version: 1\nmodels:\n{models}", encoding="utf-8")
    _, gaps = timed_build(root)
    order = list(VERIFIED)[1:]
    return {backend: gaps[backend] - gaps[before] for before, backend in zip(order[:-1], order[1:], strict=True)}


def plans(base: Path, work: Path, m: Measured) -> dict[str, Plans]:
    """The real splits for N = 1, 2, 4, with the costs they balanced and the plan command's seconds: on a cold
    project (no tfjs.lock), and on a rebuild (every model stale, costed from tfjs.lock)."""
    from tfjs_build.engine.shards import estimated_cost

    cold = fresh_copy(base, work / "cold")
    rebuild = work / "run0"  # built: change a setting every model shares, so every model is stale
    write_config(rebuild, m.names, "defaults:\n  shard_size: 2MiB\n")
    found = {}
    for label, root, costs in (("cold (no tfjs.lock)", cold, {n: estimated_cost(m.input_bytes[n], None)
                                                              for n in m.names}),
                               ("rebuild (costs from tfjs.lock)", rebuild, {n: m.lock[n]["cost"] for n in m.names})):
        found[label] = Plans(costs, {}, {})
        for count in (1, 2, 4):
            seconds, result = cli(root, "plan", "--json", "--shards", str(count))
            found[label].splits[count] = [row["models"] for row in json.loads(result.stdout)["include"]]
            found[label].seconds[count] = seconds
    write_config(rebuild, m.names)
    return found


def poisoned_tensorflow(work: Path) -> tuple[str, Path]:
    package, mark = work / "poison" / "tensorflow", work / "tensorflow-was-imported"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"open({str(mark)!r}, 'w').close()\nraise RuntimeError('tensorflow')\n")
    return str(package.parent), mark


def assemble(base: Path, built: Path, root: Path, poison: tuple[str, Path], remote: str | None) -> Assemble:
    """build --restore-only on a fresh copy of ``built`` (no stat cache, no parsed config: a fresh clone), with
    TensorFlow poisoned: its local cache holds ``built``'s entries (as if the shards had pushed to it) or, with
    ``remote`` (tfjs.yaml lines), it is empty and every model comes from the remote."""
    shutil.copytree(base / "models", root / "models")
    shutil.copy(built / "tfjs.yaml", root / "tfjs.yaml")
    if remote is None:
        shutil.copytree(built / ".tfjs-build" / "cache", root / ".tfjs-build" / "cache")
    else:
        with open(root / "tfjs.yaml", "a", encoding="utf-8") as config:
            config.write(remote)
    os.sync()  # the copies' writes done, as the build's were (fresh_copy) before it started
    pythonpath, mark = poison
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [pythonpath, os.environ.get("PYTHONPATH")])), **KEYS}
    seconds, result = cli(root, "build", "--restore-only", "--json", env=env)
    return Assemble(seconds, len(json.loads(result.stdout)["restored"]), mark.exists(),
                    (root / "tfjs.lock").read_bytes() == (built / "tfjs.lock").read_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--job-start", type=float, default=0.0, metavar="SECONDS",
                        help="add this to every CI job (checkout, Python, install: not measured here)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="fanout-bench-"))
    base = work / "base"
    names = make_models(base)
    measured = measure(base, work, names)
    print_cost_fit(measured)
    print_verify(measure_verify(base, work))
    print_splits(measured, plans(base, work, measured), args.job_start)
    print_assemble(measured)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
