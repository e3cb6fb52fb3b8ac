"""CSV member import: upload, preview and mapping, a background job that loads rows set-based.

routes.py (the pages, on the people blueprint), forms.py, parsing.py (reading files, no
database), services.py (drafts, progress and the load), sql.py (the load's statements) and
tasks.py (the RQ jobs).
"""
