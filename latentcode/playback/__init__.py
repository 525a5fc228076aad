"""Playback: the clock, the scheduler that turns patterns into voices on exact samples, and the
voices that walk latent trajectories and decode them in one batch per block.
"""
