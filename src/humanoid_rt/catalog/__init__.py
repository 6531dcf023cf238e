"""The fleet's episode catalogue: every session's index as Parquet (Hive partitions date=/robot=/task=),
built incrementally and queried with DuckDB. See build.py, query.py and sessions.py."""

from .build import BuildReport, build_catalog, default_out
from .query import REPORTS, Catalog, resolve_catalog
from .store import CatalogError

__all__ = ["BuildReport", "Catalog", "CatalogError", "REPORTS", "build_catalog", "default_out", "resolve_catalog"]
