"""Project-root-anchored default locations.

Every default path of tennis-lab comes from here, so that commands behave the same
whatever the current working directory is. The project root is the folder holding
``pyproject.toml`` above this package (a source checkout); ``TENNIS_LAB_ROOT``
overrides it, e.g. for an installed copy used from another folder.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """Return the project root.

    Returns
    -------
    Path
        ``$TENNIS_LAB_ROOT`` when set, else the checkout holding this package, else
        the current working directory (an installed package outside a checkout).
    """
    env = os.environ.get("TENNIS_LAB_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    candidate = PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").is_file():
        return candidate
    return Path.cwd().resolve()


def data_dir() -> Path:
    """Folder holding datasets (``<root>/data``)."""
    return project_root() / "data"


def demo_data_dir() -> Path:
    """Where the built-in demo dataset is generated on first use (``<root>/data/demo``)."""
    return data_dir() / "demo"


def output_dir() -> Path:
    """Folder for result tables (``<root>/output``)."""
    return project_root() / "output"


def reports_dir() -> Path:
    """Folder for executed notebooks and HTML reports (``<root>/reports``)."""
    return project_root() / "reports"


def notebooks_dir() -> Path:
    """Folder holding ``train.ipynb`` and ``analysis.ipynb``."""
    return project_root() / "notebooks"


def cache_dir(root: str | os.PathLike | None = None) -> Path:
    """Folder for rebuildable derived data: ``root`` (``--cache-dir``) if given, else
    ``$TENNIS_LAB_CACHE``, else ``<root>/.cache``."""
    if root:
        return Path(root).expanduser().resolve()
    env = os.environ.get("TENNIS_LAB_CACHE")
    return Path(env).expanduser().resolve() if env else project_root() / ".cache"


def default_tracking_uri() -> str:
    """MLflow tracking URI: ``$MLFLOW_TRACKING_URI`` or SQLite ``<root>/mlflow.db``."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{project_root() / 'mlflow.db'}"
