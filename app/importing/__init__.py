"""Bulk import: file readers (readers.py, pure) and the batched database loader (load.py)."""
