"""Audio out: the ring between producer and audio thread, the pyo engine (live and offline) and
measurements of rendered audio.
"""
