"""Adapters to the outside systems the hub stores into and reads from, shared by the gateway
and the services: each translates its system's wire format and errors once, so neither side
keeps a copy. Beside them, the two process-runtime pieces every hub process shares — its logs
(`logs`) and its heap's collector (`heap`: paused for bulk builds, frozen after start-up).
They may import `domain` and nothing else of ours."""
