"""Installs keras_stylegan; `cli/` and `zoo/` are mapped into its namespace.

The design card keeps the command (`cli/`) and the model cards (`zoo/`) at the top of
the repository. Installed, they become `keras_stylegan.cli` and `keras_stylegan.cards`, so no
generic top-level `cli` or `zoo` module lands in site-packages. Editable installs map
them the same way.
"""
import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
version = {}
exec((HERE / "keras_stylegan" / "version.py").read_text(), version)

packages = find_packages(include=["keras_stylegan", "keras_stylegan.*"])
packages += ["keras_stylegan.cli", "keras_stylegan.cards"]

setup(
    name="keras-stylegan",
    version=version["__version__"],
    description="StyleGAN and StyleGAN2 for Keras 3: train, sample, convert NVIDIA models, serve.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    license_files=["LICENSE"],
    python_requires=">=3.9",
    packages=packages,
    package_dir={"keras_stylegan.cli": "cli", "keras_stylegan.cards": "zoo"},
    package_data={
        "keras_stylegan.cards": ["*.json"],
        "keras_stylegan.presets": ["*/*.json", "*/*.h5"],
    },
    include_package_data=False,
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.0",
        "numpy",
        "pillow",
        "click",
        "tqdm",
        "gdown",
        "h5py",
        "tensorboard",  # tf.summary needs it; TensorFlow >= 2.20 no longer installs it
    ],
    extras_require={
        "test": ["pytest", "pytest-xdist", "hypothesis", "scipy", "tf2onnx", "onnxruntime", "pdoc", "openvino", "ai-edge-litert",
                 "huggingface_hub>=2.0", "kagglehub>=1.0"],
        "docs": ["pdoc"],  # the API reference: pdoc keras_stylegan -o docs/api
        # Presets on Hugging Face (hf://owner/repo) and Kaggle (kaggle://owner/model/keras/variant), download and
        # upload, through the hubs' own clients (about 30 MB with their dependencies; sampling never needs them).
        # Lower bounds: the versions tested here.
        "hub": ["huggingface_hub>=2.0", "kagglehub>=1.0"],
        "video": ["imageio", "imageio-ffmpeg"],
        "onnx": ["tf2onnx", "onnxruntime"],
        "openvino": ["openvino"],  # `kstylegan export --format openvino` and its runtime
        # LiteRT export needs only TensorFlow; this is the standalone LiteRT interpreter to run the .tflite file.
        "litert": ["ai-edge-litert"],
        # Inference on the JAX and PyTorch backends (KERAS_BACKEND=jax|torch); training stays on TensorFlow.
        # torch is pinned to a release whose CPU build was tested here; PyPI's Linux wheel of torch also
        # pulls the CUDA libraries, so CPU-only installs may prefer PyTorch's CPU wheel of the same version.
        "backends": ["jax", "jaxlib", "torch==2.13.0"],
    },
    entry_points={"console_scripts": ["kstylegan=keras_stylegan.cli.main:cli"]},
)
