"""Jobs: queueing (record, then send), waiting, job signals, the Celery app and the scheduler."""

from service.jobs.celery_app import NOTIFY, READ, RUN_JOB, make_celery
from service.jobs.queue import STARTED_BY, JobQueue, WaitsFull, open_store
from service.jobs.reads import ReadUnanswered

__all__ = ["NOTIFY", "READ", "RUN_JOB", "STARTED_BY", "JobQueue", "ReadUnanswered", "WaitsFull", "make_celery",
           "open_store"]
