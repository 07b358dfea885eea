"""Thin Celery tasks: load a job, lock its clone, call the git engine, record the outcome."""
