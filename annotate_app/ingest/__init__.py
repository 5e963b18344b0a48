"""Format readers, row validation and the pair builder."""

from annotate_app.ingest.errors import IngestError, RowError
from annotate_app.ingest.importer import ImportOptions, ImportReport, import_file, parse_file
from annotate_app.ingest.pairs import PairConfig

__all__ = [
    "ImportOptions",
    "ImportReport",
    "IngestError",
    "PairConfig",
    "RowError",
    "import_file",
    "parse_file",
]
