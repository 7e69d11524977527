"""format: layers: a Keras model file -> a tf.loadLayersModel folder."""
