"""The mssql dialect configured like Azure SQL (see research/local-infrastructure.md): without the
version a bare dialect renders NTEXT and ROW_NUMBER() paging, which production never runs."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.dialects.mssql import pyodbc

AZURE_SQL_URL = "mssql+pyodbc://@server.database.windows.net/db?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes"


def azure_sql_dialect() -> Any:
    dialect = pyodbc.dialect(deprecate_large_types=True)
    dialect.server_version_info = (16, 0)
    dialect._supports_offset_fetch = True
    return dialect


def compile_mssql(statement: Any) -> str:
    """Compiled SQL with every bound parameter shown as ``?`` (pyodbc's style)."""
    return re.sub(r":\w+", "?", str(statement.compile(dialect=azure_sql_dialect())))
