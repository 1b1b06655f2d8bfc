"""Model cards: one JSON file per published model (installed as `keras_stylegan.cards`)."""
