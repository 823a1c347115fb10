"""The one error every reader raises: all problems of an input, listed, nothing written."""
from pathlib import Path
from typing import List, Optional

MAX_SHOWN = 50


class ConversionError(ValueError):
    """Problems of an input file or folder, each naming the record/line and field."""

    def __init__(self, path: Path, problems: List[str], n_records: Optional[int] = None, unit: str = "records"):
        self.path = Path(path)
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_SHOWN])
        more = f"\n  ... and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
        where = f" in {n_records} {unit}" if n_records else ""
        super().__init__(f"{path}: {len(problems)} problem(s){where}; nothing was written.\n{shown}{more}")
