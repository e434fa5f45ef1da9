"""The index behind the image name search, chosen by the database in use.

SQLite: an FTS5 table with the trigram tokenizer. Images have UUID keys and FTS5 rows integer
ones, so a small keyed table (NAME_KEY_TABLE: integer id, image id, name) sits between them, and
the FTS table indexes it as external content. Triggers on images_image keep both in step, so rows
written by bulk inserts or raw SQL are searchable too, and every step is an indexed lookup. A
migration that rebuilds images_image (SQLite alters a table by copying it) drops the triggers
with the old table, so they are created again after every `migrate` (images.apps); the rows of
the two search tables survive, keyed by image id.

PostgreSQL: the pg_trgm extension and a GIN trigram index on UPPER(name::text), the expression
Django's `icontains` compares, so the planner uses it for `name__icontains` (a rare term); the
browser's sort indexes hold that expression too (store_upper_name), for a common word's walk.
"""

from .models import NAME_SEARCH_TABLE, SORT_INDEX_FIELDS

IMAGE_TABLE = "images_image"
NAME_KEY_TABLE = "images_image_name_key"
POSTGRES_INDEX = "images_image_name_trgm"
FTS, KEYS = NAME_SEARCH_TABLE, NAME_KEY_TABLE

# Remove a key row's terms from the FTS index (external content: the old values are given back).
_FORGET = f"INSERT INTO {FTS} ({FTS}, rowid, name) SELECT 'delete', id, name FROM {KEYS} WHERE image_id = old.id;"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS {FTS}_insert AFTER INSERT ON {IMAGE_TABLE} BEGIN
        INSERT INTO {KEYS} (image_id, name) VALUES (new.id, new.name);
        INSERT INTO {FTS} (rowid, name) VALUES (last_insert_rowid(), new.name);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS}_delete AFTER DELETE ON {IMAGE_TABLE} BEGIN
        {_FORGET}
        DELETE FROM {KEYS} WHERE image_id = old.id;
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS}_update AFTER UPDATE OF name, id ON {IMAGE_TABLE} BEGIN
        {_FORGET}
        UPDATE {KEYS} SET image_id = new.id, name = new.name WHERE image_id = old.id;
        INSERT INTO {FTS} (rowid, name) SELECT id, name FROM {KEYS} WHERE image_id = new.id;
    END""",
]
# Image ids whose name contains the phrase given as the parameter.
SQLITE_MATCH = f"SELECT {KEYS}.image_id FROM {FTS} JOIN {KEYS} ON {KEYS}.id = {FTS}.rowid WHERE {FTS} MATCH %s"
# Whether the phrase (first parameter) is in at least one name in every `share` (second parameter) of all
# images: its matches are counted in the trigram index alone (no image read) and only that far, so a word
# thousands of images share costs what a rare one does (images/list_plan.py). MAX(id) of the keyed table
# stands for the number of images: one index step.
SQLITE_COMMON = (f"SELECT COUNT(*) >= (SELECT COALESCE(MAX(id), 0) / %s + 1 FROM {KEYS}) FROM (SELECT 1 FROM {FTS} "
                 f"WHERE {FTS} MATCH %s LIMIT (SELECT COALESCE(MAX(id), 0) / %s + 1 FROM {KEYS}))")


def sqlite_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: every character literal (a double quote doubled)."""
    return '"' + text.replace('"', '""') + '"'


def is_common(connection, text: str, share: int) -> bool:
    """Whether at least one image in `share` has `text` in its name, by the SQLite trigram index (one
    query, counting at most the images / `share` first matches)."""
    with connection.cursor() as cursor:
        cursor.execute(SQLITE_COMMON, [share, sqlite_phrase(text), share])
        return bool(cursor.fetchone()[0])


def create(schema_editor) -> None:
    """Create the search index for this database and fill it from the images already there."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TABLE IF NOT EXISTS {KEYS} (id INTEGER PRIMARY KEY, image_id char(32) NOT NULL UNIQUE, "
            f"name varchar(128) NOT NULL)"
        )
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(name, content='{KEYS}', content_rowid='id', "
            f"tokenize='trigram')"
        )
        schema_editor.execute(f"INSERT INTO {KEYS} (image_id, name) SELECT id, name FROM {IMAGE_TABLE}")
        schema_editor.execute(f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')")
        ensure_triggers(schema_editor.connection)
    elif vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {POSTGRES_INDEX} ON {IMAGE_TABLE} USING gin ((UPPER(name::text)) gin_trgm_ops)"
        )


# PostgreSQL: the browser's sort indexes (images.models._browser_indexes, same names and key columns) end in
# UPPER(name::text), the value the name search tests (`icontains`), and include the status (every tab leaves
# out deleted images) and the name, so that a walk reads the index alone. A search for a word many images
# share walks the sort's index testing each name (walking: a LIMIT finds the page; counting: each name of
# the tab's range); reading UPPER(name) stored in the index instead of computing it for each name, and no
# row for its status, makes that test several times cheaper. pg_trgm's index answers a rare term; the
# planner chooses between them by its statistics of UPPER(name) (kept for the trigram index's expression).
# SQLite keeps the plain indexes: it tests the name with LIKE, which folds case itself (images.list_plan).
WALK_INCLUDES = ("status", "name")


def walk_index_columns() -> dict[str, tuple[list[str], list[str]]]:
    """Each browser sort index's name, key columns (images.models.SORT_INDEX_FIELDS) and the columns a
    walk also reads (WALK_INCLUDES not among the keys), as PostgreSQL names them."""
    columns = {}
    for sort, fields in SORT_INDEX_FIELDS.items():
        included = [name for name in WALK_INCLUDES if name not in fields]
        columns[f"image_project_{sort}"] = (["project_id", "image_type", *fields], included)
        columns[f"image_type_{sort}"] = (["image_type", *fields], included)
    return columns


def _rebuild_walk_indexes(schema_editor, *, for_walks: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for index, (keys, included) in walk_index_columns().items():
        definition = ", ".join(keys)
        if for_walks:
            definition += ", (UPPER(name::text))" + (f") INCLUDE ({', '.join(included)}" if included else "")
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")
        schema_editor.execute(f"CREATE INDEX {index} ON {IMAGE_TABLE} ({definition})")


def store_upper_name(schema_editor) -> None:
    """PostgreSQL: the browser's sort indexes rebuilt for walks that test the name (see above)."""
    _rebuild_walk_indexes(schema_editor, for_walks=True)


def forget_upper_name(schema_editor) -> None:
    """The browser's sort indexes as images.models declares them."""
    _rebuild_walk_indexes(schema_editor, for_walks=False)


def drop(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for suffix in ("insert", "delete", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {FTS}_{suffix}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {FTS}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {KEYS}")
    elif vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {POSTGRES_INDEX}")


def ensure_triggers(connection) -> None:
    """(Re)create the SQLite triggers when the search tables exist (idempotent)."""
    if connection.vendor != "sqlite" or FTS not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        for statement in SQLITE_TRIGGERS:
            cursor.execute(statement)


def ensure_after_migrate(sender, using="default", **kwargs) -> None:
    from django.db import connections

    ensure_triggers(connections[using])
