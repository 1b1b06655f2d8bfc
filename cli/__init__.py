"""The `kstylegan` command (installed as `keras_stylegan.cli`)."""
