"""format: graph: load, freeze, optimise and emit a tf.loadGraphModel folder."""
