"""Keep query strings out of the access log: they carry search text (a name typed into `q`)."""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class DropQueryString(logging.Filter):
    """Cut everything from `?` in the path of uvicorn's access log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs '%s - "%s %s HTTP/%s" %d' with (client, method, path?query, version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def keep_query_strings_out_of_access_logs() -> None:
    """Install the filter on uvicorn's access logger, once."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, DropQueryString) for existing in logger.filters):
        logger.addFilter(DropQueryString())
