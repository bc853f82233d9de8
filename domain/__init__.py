"""GridWatch's shared, I/O-free core: the types every other package agrees on.

Nothing here opens a socket or a file except the site loader, which only parses text it is
given a path to. `gateway`, `services` and `simulators` import this package; it imports none of
them.
"""
