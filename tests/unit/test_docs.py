"""The README says what the code does: versions, variables, modules."""

import re
from importlib.metadata import version
from pathlib import Path

import django_htmx

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
STATIC = Path(django_htmx.__file__).parent / "static" / "django_htmx"


def test_docs_htmx_version_is_the_one_the_page_loads():
    # The page loads htmx-2.min.js, or htmx-4.min.js with DASHBOARD_HTMX=4
    # (tests/asgi/test_views.py); read their versions from the files.
    bundled = re.search(r'version:"([\d.]+)"', (STATIC / "htmx-2.min.js").read_text())[1]
    assert f"htmx {bundled} " in README
    assert (STATIC / "ext" / "hx-ws-2.min.js").exists() and "`ext/hx-ws-2.min.js`" in README
    beta = re.search(r'version="(4[\w.-]+)"', (STATIC / "htmx-4.min.js").read_text())[1]
    assert f"htmx {beta} " in README
    assert (STATIC / "ext" / "hx-ws-4.min.js").exists() and "`ext/hx-ws-4.min.js`" in README


def test_docs_django_htmx_version_matches_installed_and_pinned():
    installed = version("django-htmx")
    assert f"django-htmx {installed}" in README
    assert f"django-htmx=={installed}" in (ROOT / "requirements.txt").read_text()


def test_docs_list_every_environment_variable():
    settings = (ROOT / "dashboard_project" / "settings.py").read_text()
    variables = set(re.findall(r'env(?:_bool|_int)?\(\s*"([A-Z_]+)"', settings))
    variables |= set(re.findall(r'os\.environ\.get\(\s*"([A-Z_]+)"', settings))
    assert variables
    for name in variables:
        assert f"| `{name}` |" in README, name


def test_docs_list_every_module():
    for path in (ROOT / "streams").glob("*.py"):
        if path.name not in {"__init__.py", "apps.py", "urls.py"}:
            assert f"`streams/{path.name}`" in README, path.name


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PATH = re.compile(r"`((?:streams|dashboard_project|tests|bench|static|templates)/[\w/.-]+)`")
TEST = re.compile(r"`?(tests/[\w/]+\.py)::(\w+)")


def test_docs_name_only_files_that_exist():
    for doc in DOCS:
        for path in PATH.findall(doc.read_text()):
            assert (ROOT / path).exists(), f"{doc.name} names {path}, which does not exist"


def test_docs_name_only_tests_that_exist():
    for doc in DOCS:
        for path, name in TEST.findall(doc.read_text()):
            source = (ROOT / path).read_text()
            assert re.search(rf"def {name}\b", source), f"{doc.name} names {path}::{name}"


def test_architecture_places_every_module():
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    for folder in ("streams", "dashboard_project"):
        for path in (ROOT / folder).glob("*.py"):
            if path.name not in {"__init__.py", "apps.py", "urls.py"}:
                assert f"`{folder}/{path.name}`" in architecture, path.name
