"""HTTP edge: verify, validate, record, enqueue, answer."""

from service.web.app import create_app

__all__ = ["create_app"]
