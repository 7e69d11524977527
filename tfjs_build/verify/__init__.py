"""Running built models in real TF.js (node cpu/wasm, headless Chromium webgl) against TensorFlow."""
