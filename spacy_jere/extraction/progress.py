"""The progress bar: entries done (documents and skipped records) of those left to do,
with the rate in docs/s and the time left, as tqdm draws it (spaCy's own dependency)."""
import sys

from tqdm import tqdm


class Progress:
    def __init__(self, total: int, enabled: bool = True):
        self.bar = tqdm(total=max(total, 0), unit="doc", desc="extract", disable=not enabled, file=sys.stderr,
                        dynamic_ncols=True, mininterval=0.5, smoothing=0.05)
        self.skipped = 0

    def row(self, row: dict) -> None:
        if row["kind"] != "doc":
            self.skipped += 1
            self.bar.set_postfix(skipped=self.skipped, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
