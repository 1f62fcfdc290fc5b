"""Records which files an xlt job process opens, renames and reads, for the declared-paths test.

Active only where ``XLT_FILE_TRACE`` names a folder (the small-study fixture puts this folder on PYTHONPATH
and sets it): each ``python -m xlt.cli``/``xlt.launch`` process writes ``{pid}.json`` there when it exits, with
its argv, the paths it opened for reading or writing (Python's ``open`` audit events), the targets of its
renames (atomic writes) and the tables xlt.io read (``xlt.read`` events: polars opens files natively).
"""

import atexit
import json
import os
import sys

_FOLDER = os.environ.get("XLT_FILE_TRACE")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _install(folder: str) -> None:
    reads: set[str] = set()
    writes: set[str] = set()

    def path_of(value) -> str | None:
        if isinstance(value, int):
            return None  # an open file descriptor
        try:
            return os.path.abspath(os.fsdecode(value))
        except TypeError:
            return None

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path = path_of(args[0])
            if path is None:
                return
            mode, flags = args[1], args[2] or 0
            writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
            (writes if writing else reads).add(path)
        elif event == "os.rename":
            source, target = path_of(args[0]), path_of(args[1])
            if source and target:
                writes.update((source, target))
        elif event == "xlt.read":
            path = path_of(args[0])
            if path:
                reads.add(path)

    def dump() -> None:
        if os.path.basename(os.path.dirname(sys.argv[0] if sys.argv else "")) != "xlt":
            return  # Snakemake itself, or another tool: only xlt's job processes are recorded
        record = {"pid": os.getpid(), "argv": sys.argv, "cwd": os.getcwd(), "reads": sorted(reads),
                  "writes": sorted(writes)}
        with open(os.path.join(folder, f"{os.getpid()}.json"), "w", encoding="utf-8") as handle:
            json.dump(record, handle)

    sys.addaudithook(hook)
    atexit.register(dump)


if _FOLDER:
    _install(_FOLDER)
