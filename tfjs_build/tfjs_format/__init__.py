"""The TF.js model format itself (numpy only): weight shards, quantization, model.json writing."""
