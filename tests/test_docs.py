"""The README says what the code does: versions, variables, modules."""

import re
from importlib.metadata import version
from pathlib import Path

import django_htmx

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
STATIC = Path(django_htmx.__file__).parent / "static" / "django_htmx"


def test_docs_htmx_version_is_the_one_the_page_loads():
    # The page loads htmx-2.min.js (tests/test_views.py); read its version from the file.
    bundled = re.search(r'version:"([\d.]+)"', (STATIC / "htmx-2.min.js").read_text())[1]
    assert f"htmx {bundled} " in README
    assert (STATIC / "ext" / "hx-ws-2.min.js").exists() and "`ext/hx-ws-2.min.js`" in README


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
