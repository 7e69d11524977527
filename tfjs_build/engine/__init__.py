"""The incremental engine: fingerprints, tfjs.lock, what is stale, caches, the build and its workers."""
