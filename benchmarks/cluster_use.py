"""What playing the bank's clusters costs: time and memory of each first use, and a later
session's first cluster.

Resolves ``cluster:1`` .. ``cluster:31`` and ``sounds:0`` .. ``sounds:7`` of the default bank
one after another (after ``cluster:0``, which builds or reads the labels), then opens a second
bank, as a later session would, and times its ``cluster:5``. Prints the median and slowest
first use, and the growth of resident memory: all of it (RSS) and the process's own
(anonymous: without the pages of mapped files, which the OS can drop). Last, a few new sounds
join the bank, as a ``bank "DIR"`` does on stage, so its clusters are made again from every
file: the time that takes, and the peak of resident memory while it does. Run it twice to see the
clusters read from the disk cache (``model/part_cache.py``); delete ``part-*`` from the cache
folder to see them built. Then the same again as a live session meets it: a lookup that does
not wait, the work done by the bank's helper process (``model/helper.py``), and the peak of
resident memory of the playing process and of the helper.

    python benchmarks/cluster_use.py
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path

from soak import rss_mb as memory_mb  # (benchmarks/soak.py)
from soak import write_folder

from latentcode.model.bank import Bank, NotReady
from latentcode.model.vae import load_model


def main() -> None:
    model = load_model()
    bank = Bank(model, (), default=True)
    bank.resolve("cluster:0")
    gc.collect()
    rss, own = memory_mb("VmRSS"), memory_mb("RssAnon")
    took = []
    for name in [f"cluster:{k}" for k in range(1, 32)] + [f"sounds:{k}" for k in range(8)]:
        t = time.monotonic()
        bank.resolve(name)
        took.append(time.monotonic() - t)
    gc.collect()
    took.sort()
    print(f"{len(took)} first uses: median {1000 * took[len(took) // 2]:.0f} ms, slowest "
          f"{1000 * took[-1]:.0f} ms")
    print(f"resident memory {rss:.0f} -> {memory_mb('VmRSS'):.0f} MB "
          f"({memory_mb('VmRSS') - rss:+.0f}); its own {own:.0f} -> "
          f"{memory_mb('RssAnon'):.0f} MB ({memory_mb('RssAnon') - own:+.0f})")
    later = Bank(model, (), default=True)
    t = time.monotonic()
    later.resolve("cluster:5")
    print(f"a later session's first cluster:5: {1000 * (time.monotonic() - t):.0f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        write_folder(Path(tmp))  # one sound new each time: nothing cached fits
        later.add_folder(tmp)
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from now
        rss, t = memory_mb("VmRSS"), time.monotonic()
        later.resolve("cluster:0")
        later.resolve("sounds:0")
        print(f"the bank's clusters made again after a new folder: "
              f"{time.monotonic() - t:.1f} s, peak resident memory {rss:.0f} -> "
              f"{memory_mb('VmHWM'):.0f} MB ({memory_mb('VmHWM') - rss:+.0f})")

    live_rebuild(model)


def live_rebuild(model) -> None:
    """The clusters made again after a new folder, in a live session: nothing waits."""
    bank = Bank(model, (), default=True)
    bank.resolve("cluster:0")  # the bank as it plays before the new folder
    worker = getattr(bank, "_worker", None)
    helper = getattr(worker, "helper", None)
    with tempfile.TemporaryDirectory() as tmp:
        write_folder(Path(tmp))
        bank.add_folder(tmp)
        gc.collect()
        Path("/proc/self/clear_refs").write_text("5")
        rss, t, helper_peak = memory_mb("VmRSS"), time.monotonic(), 0.0
        for name in ("cluster:0", "sounds:0"):
            while True:
                try:
                    bank.resolve(name, wait=False)
                    break
                except NotReady:
                    if helper is not None and helper.pid is not None:
                        helper_peak = max(helper_peak, memory_mb("VmHWM", helper.pid))
                    time.sleep(0.05)
        where = "in the helper process" if helper is not None else "in this process"
        print(f"live, made again {where}: {time.monotonic() - t:.1f} s, this process's peak "
              f"resident memory {rss:.0f} -> {memory_mb('VmHWM'):.0f} MB "
              f"({memory_mb('VmHWM') - rss:+.0f}), its own now {memory_mb('RssAnon'):.0f} MB; "
              f"the helper's peak {helper_peak:.0f} MB")
    bank.close()


if __name__ == "__main__":
    main()
