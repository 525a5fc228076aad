"""Audio out: the live engine and the offline render, built from one part per job.

- :mod:`~latentcode.audio.backends`: the backends, and probes that refuse one before pyo crashes
- :mod:`~latentcode.audio.source`: the :class:`~latentcode.audio.source.Source` protocol
- :mod:`~latentcode.audio.controls`: the per-track controls (the control table's "track" rows)
- :mod:`~latentcode.audio.graph`: the pyo server and graph: filters, sends, reverb, delay, limiter
- :mod:`~latentcode.audio.ring` and :mod:`~latentcode.audio.stream`: producer to audio thread
- :mod:`~latentcode.audio.engine` (live) and :mod:`~latentcode.audio.offline` (to a WAV file)
- :mod:`~latentcode.audio.analysis`: measurements of rendered audio

The facts about pyo that these rely on are in docs/audio-engine.md.
"""
