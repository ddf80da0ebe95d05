"""Fixtures: a fresh store per test, in pytest's temporary directory.

The library is found as the package finds it: set TOKENSTORE_LIBRARY, or LD_LIBRARY_PATH.
"""
import pytest

import tokenstore
from tokenstore import Durability


@pytest.fixture
def path(tmp_path):
    """A store directory that does not exist yet."""
    return str(tmp_path / "store")


@pytest.fixture
def store(path):
    """An open 4-shard store, closed after the test."""
    with tokenstore.Store(path, durability=Durability.NONE, shards=4) as opened:
        yield opened
