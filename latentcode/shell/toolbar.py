"""The REPL's bottom toolbar: where the music is, redrawn a few times a second.

Cycle position (from the engine's clock: what is being heard, not what is being decoded),
tempo, the tracks (playing, muted, soloed), the decoder's load, underruns and recording.

>>> class S:
...     cps, tracks, muted, soloed, live_scheduler, engine = 0.5, {}, set(), set(), None, None
>>> "".join(text for _, text in status(S(), audio="off"))
' no audio | 0.5 cps (120 bpm) | no tracks '
"""

from __future__ import annotations

from typing import Any

Fragments = list[tuple[str, str]]


def _cycle(session: Any) -> float | None:
    live = session.live_scheduler
    if live is None or session.engine is None:
        return None  # no clock runs without an engine
    stats = getattr(session.engine, "stats", None)
    position = getattr(stats, "position", None)
    if position is None:
        position = live.position
    return float(live.clock.cycle_at(position))


def _tracks(session: Any) -> Fragments:
    out: Fragments = []
    for name, track in session.tracks.items():
        pattern = track.latest() if hasattr(track, "latest") else track.pattern
        if name in session.muted:
            out.append(("class:bottom-toolbar.muted", f" ({name})"))
        elif pattern is None:
            continue
        else:
            solo = "*" if name in session.soloed else ""
            out.append(("class:bottom-toolbar.playing", f" {name}{solo}"))
    return out or [("", " no tracks")]


def _stage(session: Any) -> Fragments:
    """The outputs when there are more than the master's two, and Link's peers and phase."""
    out: Fragments = []
    engine = session.engine
    channels = getattr(engine, "channels", 2)
    if channels > 2:
        out.append(("", f" | out {channels} ch ({getattr(engine, 'outputs', '')})"))
    link = getattr(session, "link", None)
    if link is not None:
        try:
            phase = link.phase()
            out.append(("", f" | link {link.peers} peer{'s' if link.peers != 1 else ''} "
                            f"{phase:.1f}/{link.quantum:g}"))
        except Exception:  # noqa: BLE001 - a toolbar never fails
            out.append(("class:bottom-toolbar.alert", " | link ?"))
    return out


def _input(session: Any) -> Fragments:
    """How late the input is heard, once a pattern plays it (``in``)."""
    live = getattr(session, "live_input", None)
    if live is None or session.engine is None or not live.sound.used:
        return []
    ms = 1000 * session.input_latency() / session.model.sample_rate
    return [("", f" | in {ms:.0f} ms")]


def status(session: Any, *, audio: str = "none", recording: Any = None) -> Fragments:
    """The toolbar's fragments for the session as it is now."""
    out: Fragments = []
    cycle = _cycle(session)
    if cycle is not None:
        beat = "".join("●" if i == int(cycle % 1 * 4) else "·" for i in range(4))
        out.append(("", f" cycle {cycle:7.2f} {beat} |"))
    if audio in ("none", "off"):
        out.append(("class:bottom-toolbar.alert", " no audio" if audio == "off" else " silent"))
        out.append(("", " |"))
    live = getattr(session, "live_scheduler", None)  # a pattern's # cps, Link: the clock's
    cps = float(live.clock.cps if live is not None else session.cps)
    out.append(("", f" {cps:g} cps ({cps * 240:g} bpm) |"))
    out += _tracks(session)
    stats = getattr(session.engine, "stats", None)
    if stats is not None:
        load = getattr(stats, "producer_load_recent", 0.0)
        underruns = getattr(stats, "underruns", 0)
        out.append(("", f" | decode {load * 100:3.0f}%"))
        style = "class:bottom-toolbar.alert" if underruns else ""
        out.append((style, f" | underruns {underruns}"))
    out += _stage(session)
    out += _input(session)
    if recording is not None:
        out.append(("class:bottom-toolbar.alert", f" | ● rec {recording.name}"))
    out.append(("", " "))
    return out
