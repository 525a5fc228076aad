"""What crosses the machine's ports besides audio: controllers coming in (MIDI, OSC) and events
going out. It builds on patterns (a controller is a signal) and never on the stages after it.
"""
