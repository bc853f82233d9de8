"""Adapters to the outside systems the hub stores into and reads from, shared by the gateway
and the services: each translates its system's wire format and errors once, so neither side
keeps a copy. They may import `domain` and nothing else of ours."""
