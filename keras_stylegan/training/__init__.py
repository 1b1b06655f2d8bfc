"""Training: the StyleGAN keras.Model, losses, augmentation, runs (TensorFlow code lives here)."""
