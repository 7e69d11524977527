"""Small helpers with no pipeline stage: atomic writes, byte units, stderr capture."""
