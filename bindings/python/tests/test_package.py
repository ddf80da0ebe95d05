"""The installed distribution carries its licence, its version and its type information."""
from importlib import metadata, resources

import tokenstore


def test_the_distribution_is_mit_licensed_and_ships_the_licence_text():
    meta = metadata.metadata("tokenstore")
    assert meta["License"] == "MIT"
    assert "License :: OSI Approved :: MIT License" in meta.get_all("Classifier")
    files = [str(f) for f in metadata.files("tokenstore") or []]
    licence = [f for f in files if f.endswith(".dist-info/LICENSE")]
    assert licence, files
    text = metadata.distribution("tokenstore").read_text("LICENSE")
    assert text is not None and text.startswith("MIT License")


def test_the_distribution_version_is_the_package_version():
    assert metadata.version("tokenstore") == tokenstore.__version__


def test_the_package_is_marked_typed():
    assert resources.files("tokenstore").joinpath("py.typed").is_file()
