"""A minimal PEP 517 build backend for the tokenstore package, in the source tree.

The package is pure Python (src/tokenstore), so a wheel is a zip of those files plus the
.dist-info metadata. Writing that here, rather than requiring setuptools or flit, lets
`pip install ./bindings/python` work offline and on hosts whose pip cannot reach an index.
The metadata is read from pyproject.toml's [project] table with tomllib where it exists
(Python 3.11+), and with a reader of the few flat keys used here otherwise.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "src", "tokenstore")
TAG = "py3-none-any"


def _project():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        data = f.read()
    try:
        import tomllib
    except ImportError:  # Python < 3.11: the flat keys and the classifier list are enough
        text = data.decode("utf-8").split("[project]", 1)[1]
        project = dict(re.findall(r'^(\w[\w-]*) = "([^"]*)"', text, re.M))
        project["classifiers"] = re.findall(r'^\s+"([^"]+)",', text, re.M)
        project["license"] = {"text": re.search(r'license = \{text = "([^"]+)"\}', text).group(1)}
        return project
    return tomllib.loads(data.decode("utf-8"))["project"]


def _metadata():
    project = _project()
    lines = [
        "Metadata-Version: 2.1",
        "Name: " + project["name"],
        "Version: " + project["version"],
        "Summary: " + project["description"],
        "License: " + project["license"]["text"],
        "License-File: LICENSE",
        "Requires-Python: " + project["requires-python"],
    ]
    lines += ["Classifier: " + c for c in project.get("classifiers", [])]
    lines.append("Description-Content-Type: text/markdown")
    with open(os.path.join(ROOT, project.get("readme", "README.md")), encoding="utf-8") as f:
        return project, "\n".join(lines) + "\n\n" + f.read()


def _package_files():
    for directory, _, names in os.walk(PACKAGE):
        for name in sorted(names):
            if name.endswith((".py", ".typed")):
                path = os.path.join(directory, name)
                yield path, os.path.relpath(path, os.path.join(ROOT, "src"))


def _wheel(wheel_directory, files):
    """Writes a wheel of (archive name, bytes) pairs plus its RECORD; returns its file name."""
    project, _ = _metadata()
    name = "%s-%s-%s.whl" % (project["name"], project["version"], TAG)
    dist_info = "%s-%s.dist-info" % (project["name"], project["version"])
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as wheel:
        for archive_name, data in files(dist_info):
            wheel.writestr(archive_name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (archive_name, digest, len(data)))
        record.append(dist_info + "/RECORD,,")
        wheel.writestr(dist_info + "/RECORD", "\n".join(record) + "\n")
    return name


def _dist_info_files(dist_info):
    _, metadata = _metadata()
    yield dist_info + "/METADATA", metadata.encode("utf-8")
    yield dist_info + "/WHEEL", (
        "Wheel-Version: 1.0\nGenerator: tokenstore_build\nRoot-Is-Purelib: true\nTag: %s\n" % TAG).encode()
    with open(os.path.join(ROOT, "LICENSE"), "rb") as f:
        yield dist_info + "/LICENSE", f.read()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 517: a wheel of the package's modules and py.typed."""
    def files(dist_info):
        for path, archive_name in _package_files():
            with open(path, "rb") as f:
                yield archive_name, f.read()
        yield from _dist_info_files(dist_info)
    return _wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: a wheel whose .pth file puts src/ on the path, for `pip install -e`."""
    def files(dist_info):
        yield "tokenstore-editable.pth", (os.path.join(ROOT, "src") + "\n").encode()
        yield from _dist_info_files(dist_info)
    return _wheel(wheel_directory, files)


def build_sdist(sdist_directory, config_settings=None):
    """PEP 517: a source archive of this directory's package, tests and backend."""
    project, metadata = _metadata()
    base = "%s-%s" % (project["name"], project["version"])
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", dereference=True) as sdist:
        for entry in ("pyproject.toml", "README.md", "LICENSE", "build_backend", "src", "tests"):
            sdist.add(os.path.join(ROOT, entry), arcname=base + "/" + entry,
                      filter=lambda info: None if "__pycache__" in info.name else info)
        info = tarfile.TarInfo(base + "/PKG-INFO")
        data = metadata.encode("utf-8")
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))
    return name
