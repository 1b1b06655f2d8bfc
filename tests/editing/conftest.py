"""Shared fixtures of the editing tests: one tiny generator for the whole session."""
import pytest

from .helpers import make_generator


@pytest.fixture(scope="session")
def generator():
    return make_generator()
