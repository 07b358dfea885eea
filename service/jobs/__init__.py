"""Jobs: queueing (record, then send), waiting, job signals, the Celery app and the scheduler."""

from service.jobs.celery_app import NOTIFY, RUN_JOB, make_celery
from service.jobs.queue import JobQueue, WaitsFull, open_store

__all__ = ["NOTIFY", "RUN_JOB", "JobQueue", "WaitsFull", "make_celery", "open_store"]
