"""The shell around a session: the command line, the REPL and its parts, run/watch/pipe, the OSC
port, and the render and map commands.
"""
