"""LLM token accounting; sums run on the (user_id, created_at) and (agent, created_at) indexes."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.usage import TokenUsage, UsageTotals
from infra.sql.models import token_usage


def _sum(column: Any) -> Any:
    # Summed as BIGINT: SQL Server sums INT columns as INT and would overflow past 2^31 tokens.
    return sa.func.coalesce(sa.func.sum(sa.cast(column, sa.BigInteger)), 0)


def totals_statement(where: Any) -> sa.Select[Any]:
    return sa.select(
        _sum(token_usage.c.input_tokens),
        _sum(token_usage.c.output_tokens),
        _sum(token_usage.c.total_tokens),
        sa.func.count(),
    ).where(where)


class SqlTokenUsageRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, usage: TokenUsage) -> TokenUsage:
        stmt = (
            sa.insert(token_usage)
            .values(
                user_id=usage.user_id,
                agent=usage.agent,
                model=usage.model,
                session_id=usage.session_id,
                message_id=usage.message_id,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
                created_at=usage.created_at,
            )
            .returning(token_usage.c.id)
        )
        new_id = self._session.execute(stmt).scalar_one()
        return dataclasses.replace(usage, id=new_id)

    def sum_for_user_since(self, user_id: uuid.UUID, since: datetime) -> UsageTotals:
        return self._totals(sa.and_(token_usage.c.user_id == user_id, token_usage.c.created_at >= since))

    def sum_for_agent_since(self, agent: str, since: datetime) -> UsageTotals:
        return self._totals(sa.and_(token_usage.c.agent == agent, token_usage.c.created_at >= since))

    def _totals(self, where: Any) -> UsageTotals:
        row = self._session.execute(totals_statement(where)).one()
        return UsageTotals(
            input_tokens=int(row[0]), output_tokens=int(row[1]), total_tokens=int(row[2]), calls=int(row[3])
        )
