"""Ticket photos (contract §9): checked by decoding, stored re-encoded without metadata."""
