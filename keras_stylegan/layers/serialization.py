"""Every public layer registers under one package name so `.keras` files round-trip."""
import keras

PACKAGE = "keras_stylegan"


def register(cls):
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)
