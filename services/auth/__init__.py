"""API tokens and roles: who may read and change what (contract §5)."""
