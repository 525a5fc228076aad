"""What the bank's helper process does for a live bank (:func:`warm`): a job's slow work, left
in the disk caches for the live process, and the clusterings handed back to it.

The live bank names this function by its name (``"latentcode.model.warming:warm"``), so that
only the helper imports it.

>>> _stamp(Path("/no/such/file"))
(0, 0)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from latentcode.model.bank import CLUSTERS, Bank

_made: dict[str, tuple[Any, Any]] = {}  # in the helper: the latest clustering of each kind


def warm(model: Any, pace: Callable[[], None], report: Callable[[str], None],
         files: dict[str, Path], groups: dict[str, list[str]], task: tuple) -> Any:
    """In the helper process: do a job's work with a bank of the same files, so that it is all
    in the disk caches when the live process runs the job. ``task`` is ``("encode", stem)``,
    ``("frames", k)``, ``("sounds", None)`` (these two return the clustering, which the live
    process then takes as it is) or ``("part", "cluster:3")``. The clusterings are kept here
    while the files stay the same: a part needs its clustering, and a bank with a file that
    cannot be read finds none stored (see :func:`~latentcode.model.clusters.known_layout`)."""
    bank = Bank(model, default=False, report=report)
    bank._files, bank._groups, bank._pace = files, groups, pace
    kind, arg = task
    if kind == "encode":
        bank._encode(arg, True, pace)
        return None
    sounds = kind == "sounds" or str(arg).startswith("sounds")
    job = bank._sounds_job() if sounds else bank._frames_job(
        arg if kind == "frames" else CLUSTERS)
    of = (job.key.split("@")[0], model.fingerprint,
          tuple((n, str(f), *_stamp(f)) for n, f in sorted(files.items())))
    kept = _made.get(of[0])
    if kept is not None and kept[0] == of and job.claim():
        job.result = kept[1]
        job.done.set()
    made = bank._need(job, True, pace)
    _made[of[0]] = (of, made)
    if kind == "part":
        bank.resolve(arg)
        return None
    return made


def _stamp(path: Path) -> tuple[int, int]:
    """A file's size and modification time, from one stat ((0, 0) where it is gone)."""
    try:
        st = path.stat()
    except OSError:
        return 0, 0
    return st.st_size, st.st_mtime_ns
