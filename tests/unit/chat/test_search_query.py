"""The search query language, snippets and cursors (pure), and the Azure SQL statements (compiled)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from application.chat.search import (
    SearchParams,
    build_criteria,
    decode_search_cursor,
    encode_search_cursor,
)
from application.ports.search import SearchKey
from domain.search import InvalidSearchQuery, SearchCriteria, Term, make_snippet, parse_query, tokenize
from infra.sql.search import mssql, postgresql, sqlite
from shared.errors import InvalidInput
from tests.unit.sql.mssql import compile_mssql

USER = uuid.UUID("11111111-1111-1111-1111-111111111111")


def test_tokenize_folds_case_and_accents() -> None:
    assert tokenize("NÃO, ação! España; Ñandú_x çà") == ["nao", "acao", "espana", "nandu", "x", "ca"]


def test_parse_words_phrases_exclusions_prefixes_and_modifiers() -> None:
    q = parse_query('Bom "dia a todos" -chuva -"dia cinza" reuni* from:me in:11111111-1111-1111-1111-111111111111 '
                    "after:2026-01-02 before:2026-02-01 has:file")
    assert q.terms == (Term(("bom",)), Term(("dia", "a", "todos")), Term(("chuva",), negated=True),
                       Term(("dia", "cinza"), negated=True), Term(("reuni",), prefix=True))
    assert q.senders == ("me",) and q.sessions == (str(USER),) and q.has_file
    assert q.after == datetime(2026, 1, 2, tzinfo=UTC) and q.before == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_query('"unclosed phrase').terms == (Term(("unclosed", "phrase")),)
    assert parse_query("e-mail").terms == (Term(("e", "mail")),)
    assert parse_query("foo:bar").terms == (Term(("foo", "bar")),)
    assert parse_query("*** ''' ()").terms == ()


@pytest.mark.parametrize("query", ["x" * 513, "a*", "in:nope", "from:", "after:2026-02-30", "has:beer",
                                   " ".join(f"w{i}" for i in range(17)), '"a b c d e f g h i"', "y" * 65])
def test_bad_queries(query: str) -> None:
    with pytest.raises(InvalidSearchQuery):
        parse_query(query)


def test_needs_a_positive_term() -> None:
    with pytest.raises(InvalidSearchQuery, match="at least one word"):
        build_criteria(USER, SearchParams(q="-only -exclusions"))
    with pytest.raises(InvalidSearchQuery):
        build_criteria(USER, SearchParams(q="from:me"))


def test_params_merge_with_modifiers() -> None:
    c = build_criteria(USER, SearchParams(q="x from:me after:2026-01-05", sender="me", after="2026-01-01",
                                          has_attachments="true", language="PT", sort="date"))
    assert c.senders == {str(USER)} and c.after == datetime(2026, 1, 5, tzinfo=UTC)
    assert c.has_attachments is True and c.language == "pt" and c.sort == "date"
    assert build_criteria(USER, SearchParams(q=f"x in:{uuid.uuid4()}", session=str(USER))).empty()


def test_snippet_marks_and_escapes() -> None:
    terms = (Term(("nao",)), Term(("bom", "dia")), Term(("reun",), prefix=True))
    assert make_snippet("<i>Não</i> & bom dia, reuniões", terms) == (
        "&lt;i&gt;<mark>Não</mark>&lt;/i&gt; &amp; <mark>bom</mark> <mark>dia</mark>, <mark>reuniões</mark>")
    assert make_snippet("dia bom", terms) == "dia bom"
    # Outside Latin: per-character folding, or per-token when NFKD changes lengths ("ﬁ" -> "fi").
    assert make_snippet("ﬁm: NÃO 日本", (Term(("nao",)),)) == "ﬁm: <mark>NÃO</mark> 日本"
    assert make_snippet("ﬁnal não", (Term(("final",)),)) == "<mark>ﬁnal</mark> não"


def test_cursors_round_trip_and_are_bound_to_the_search() -> None:
    criteria = build_criteria(USER, SearchParams(q="café"))
    key = SearchKey(-1.2345678901234567, 42)
    assert decode_search_cursor(criteria, encode_search_cursor(criteria, key)) == key
    other = build_criteria(USER, SearchParams(q="chá"))
    with pytest.raises(InvalidInput, match="another search"):
        decode_search_cursor(other, encode_search_cursor(criteria, key))


def _criteria(**kwargs: object) -> SearchCriteria:
    terms = (Term(("bom", "dia")), Term(("reuni",), prefix=True), Term(("chuva",), negated=True))
    return SearchCriteria(terms=terms, **kwargs)  # type: ignore[arg-type]


def test_dialect_query_texts_quote_every_token() -> None:
    c = _criteria()
    assert sqlite.match_expression(c, [USER.hex]) == (
        f'body : (("bom" + "dia" AND "reuni" *) NOT ("chuva")) AND scope : ("s{USER.hex}")')
    assert postgresql.tsquery_text(c) == "('bom' <-> 'dia') & 'reuni':* & !'chuva'"
    assert mssql.contains_query(c) == '"bom dia" AND "reuni*" AND NOT "chuva"'


def test_azure_sql_statements_compile() -> None:
    after = SearchKey(12.0, 99)
    criteria = _criteria(sender_kind="agent", has_attachments=True)
    ranked = compile_mssql(mssql.search_statement(criteria, USER, after, 21))
    assert "FROM CONTAINSTABLE(messages, body, ?, 2000) AS ft JOIN messages AS m ON m.id = ft.[KEY]" in ranked
    assert "SELECT TOP (?) m.id AS id, ft.[RANK] AS rank" in ranked
    assert "m.session_id IN (SELECT sm.session_id FROM session_members" in ranked
    assert "ORDER BY ft.[RANK] DESC, m.id DESC" in ranked and "m.deleted_at IS NULL" in ranked
    dated = compile_mssql(mssql.search_statement(_criteria(sort="date", after=datetime(2026, 1, 1, tzinfo=UTC)),
                                                 USER, SearchKey(None, 7), 21))
    assert "WHERE CONTAINS(m.body, ?) AND" in dated and "m.id < ?" in dated and "ORDER BY m.id DESC" in dated


def test_azure_sql_migration_creates_the_full_text_catalog_and_index() -> None:
    import io

    from infra.sql.migrate import offline_sql
    from tests.unit.sql.mssql import AZURE_SQL_URL

    buffer = io.StringIO()
    offline_sql(AZURE_SQL_URL, stdout=buffer)
    ddl = buffer.getvalue()
    upgrade = ddl[ddl.index("Running upgrade 0006 -> 0007"):]
    assert upgrade.index("COMMIT;") < upgrade.index("CREATE FULLTEXT CATALOG ft_tagarela WITH ACCENT_SENSITIVITY = OFF")
    assert "CREATE FULLTEXT INDEX ON messages (body LANGUAGE 0) KEY INDEX pk_messages ON ft_tagarela" in upgrade
    assert "SET version_num='0007'" in upgrade
