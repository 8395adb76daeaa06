"""DATA_DICTIONARY.md for the exports folder, generated from the dbt docs artifacts.

Plain functions over the manifest dict (dbt's target/manifest.json), the optional catalog dict
(target/catalog.json, written by `dbt docs generate`) and the list of exported tables, so the
generation is unit-tested without dbt or a warehouse. Descriptions come only from the dbt yml
(models and sources alike): a column documented nowhere shows up in `undocumented_columns`.

Types, best first: the type the exported file really has (DESCRIBE of the export query, when the
caller gives it), the catalog's, the yml's `data_type` (the model contract)."""

from __future__ import annotations

from dataclasses import dataclass, field

# DuckDB's type of a column no row ever filled from a pandas object column: not a real type.
UNKNOWN_TYPES = {"", "null", '"null"'}


@dataclass(frozen=True)
class ExportedTable:
    """One exported table: its export name, the (schema, table) it is read from (the upstream
    asset key: a dbt model `marts.<model>` or a dbt source `raw.<table>` / `ml.<table>`), the file
    names written, and the exported columns as (name, type) when known."""

    name: str
    source: tuple[str, str]
    files: tuple[str, ...]
    columns: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    type: str
    description: str


def find_node(manifest: dict, schema: str, name: str) -> dict | None:
    """The manifest node a (schema, table) is read from: a dbt source `<schema>.<name>` or a dbt
    model named `name` (built in `schema` when more than one share the name)."""
    for node in manifest.get("sources", {}).values():
        if node.get("source_name") == schema and node.get("name") == name:
            return node
    models = [n for n in manifest.get("nodes", {}).values()
              if n.get("resource_type") in ("model", "seed", "snapshot") and n.get("name") == name]
    for node in models:
        if (node.get("config", {}).get("schema") or node.get("schema")) == schema:
            return node
    return models[0] if models else None


def _clean(text: str | None) -> str:
    """One line, safe inside a Markdown table cell."""
    return " ".join((text or "").split()).replace("|", "\\|")


def _known(t: str | None) -> str:
    return "" if (t or "").strip().lower() in UNKNOWN_TYPES else (t or "").strip()


def column_docs(manifest: dict, table: ExportedTable, catalog: dict | None = None) -> list[ColumnDoc]:
    """Every column of the exported file (in file order; the yml's columns when the file's are not
    given) with its type and its dbt description ('' when the yml has none)."""
    node = find_node(manifest, *table.source) or {}
    documented = {k.lower(): v for k, v in (node.get("columns") or {}).items()}
    cat_node = {}
    if catalog and node.get("unique_id"):
        cat_node = (catalog.get("sources", {}).get(node["unique_id"])
                    or catalog.get("nodes", {}).get(node["unique_id"]) or {})
    cat_cols = {k.lower(): v for k, v in (cat_node.get("columns") or {}).items()}
    names = list(table.columns) or [(c.get("name") or k, "") for k, c in (node.get("columns") or {}).items()]
    out = []
    for name, exported_type in names:
        doc = documented.get(name.lower(), {})
        typ = (_known(exported_type) or _known(cat_cols.get(name.lower(), {}).get("type"))
               or _known(doc.get("data_type")) or "unknown")
        out.append(ColumnDoc(name=name, type=typ.upper(), description=_clean(doc.get("description"))))
    return out


def undocumented_columns(manifest: dict, tables: list[ExportedTable], catalog: dict | None = None) -> dict[str, list[str]]:
    """export name -> the exported columns with no description in the dbt yml (only tables that have any)."""
    out = {}
    for t in tables:
        missing = [c.name for c in column_docs(manifest, t, catalog) if not c.description]
        if missing:
            out[t.name] = missing
    return out


def _origin(node: dict, table: ExportedTable) -> str:
    where = ".".join(table.source)
    if node.get("resource_type") == "source":
        return f"`{where}` (dbt source `{node['source_name']}.{node['name']}`)"
    if node.get("resource_type"):
        contract = ", contract enforced" if (node.get("config", {}).get("contract") or {}).get("enforced") else ""
        return f"`{where}` (dbt {node['resource_type']} `{node['name']}`{contract})"
    return f"`{where}` (not in the dbt project)"


def data_dictionary_markdown(manifest: dict, tables: list[ExportedTable], catalog: dict | None = None,
                             title: str = "FinOps exports: data dictionary") -> str:
    """The whole DATA_DICTIONARY.md: an index of the tables, then per table its files, grain
    (the dbt description), where it comes from, and column | type | description."""
    project = manifest.get("metadata", {}).get("project_name") or "the dbt project"
    lines = [
        f"# {title}",
        "",
        f"Generated from the dbt docs of `{project}` (model and source descriptions in its yml); "
        "regenerated on every export run, so it always matches the files beside it.",
        "",
        "- One file per table and format, replaced atomically: a reader sees the old file or the new one.",
        "- parquet keeps the types below (money as exact DECIMAL, timestamps in UTC without a zone); "
        "csv has a header row and the same columns in the same order.",
        "- Amounts are in the billing currency (USD). Costs: *billed* = the invoice (unblended), "
        "*effective* = amortised (commitments spread over the usage they cover), *list* = on-demand prices.",
        "- `(untagged)` means the tagging policy (`policy.yaml`) found no value for the owner tag.",
        "",
        "| table | files | grain | from |",
        "|---|---|---|---|",
    ]
    nodes = {t.name: find_node(manifest, *t.source) or {} for t in tables}
    for t in tables:
        grain = _clean(nodes[t.name].get("description")).split(". ")[0].rstrip(".") or "(no description)"
        files = ", ".join(f"`{f}`" for f in t.files)
        lines.append(f"| [`{t.name}`](#{t.name}) | {files} | {grain} | `{'.'.join(t.source)}` |")
    for t in tables:
        node = nodes[t.name]
        docs = column_docs(manifest, t, catalog)
        lines += [
            "",
            f"## {t.name}",
            "",
            f"**Files:** {', '.join(f'`{f}`' for f in t.files)}  ",
            f"**From:** {_origin(node, t)}  ",
            f"**Columns:** {len(docs)}",
            "",
            _clean(node.get("description")) or "(no description in the dbt project)",
            "",
            "| column | type | description |",
            "|---|---|---|",
        ]
        lines += [f"| `{c.name}` | {c.type} | {c.description or '**undocumented**'} |" for c in docs]
    return "\n".join(lines) + "\n"
