"""Model sources before TensorFlow sees them: which format a path holds, fetching URL archives."""
