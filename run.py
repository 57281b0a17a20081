#!/usr/bin/env python3
"""Serve tornado_chat: ``python run.py --help`` lists the flags."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import pymysql
import tornado.httpserver
import tornado.log

from tornado_chat.app import create_app
from tornado_chat.config import ConfigError, DatabaseURL, Settings, load_or_create_cookie_secret, parse_args
from tornado_chat.dbserver import DBServerError, EmbeddedMariaDB

log = logging.getLogger("tornado_chat")

MAX_BODY_BYTES = 11 * 1024 * 1024
EMBEDDED_DATABASE = "tornado_chat"


async def serve(settings: Settings, xheaders: bool) -> None:
    app = await create_app(settings)
    server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_BODY_BYTES, xheaders=xheaders)
    server.listen(settings.port, settings.address)
    log.info("serving on http://%s:%d", settings.address, settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    server.stop()
    await app.close()


def main(argv: list[str] | None = None) -> int:
    tornado.log.enable_pretty_logging()
    args = parse_args(argv)
    embedded = None
    try:
        if args.database_url:
            database = DatabaseURL.parse(args.database_url)
        else:
            embedded = EmbeddedMariaDB(args.var_dir / "mariadb")
            log.info("starting the private MariaDB server in %s", args.var_dir / "mariadb")
            embedded.start()
            database = DatabaseURL.parse(embedded.url(EMBEDDED_DATABASE))
        settings = Settings(
            database=database,
            cookie_secret=args.cookie_secret or load_or_create_cookie_secret(args.var_dir),
            address=args.address,
            port=args.port,
            bcrypt_rounds=args.bcrypt_rounds,
            debug=args.debug,
        )
        asyncio.run(serve(settings, args.xheaders))
    except (ConfigError, DBServerError) as exc:
        print(f"run.py: {exc}", file=sys.stderr)
        return 2
    except pymysql.err.OperationalError as exc:
        print(f"run.py: cannot reach the database: {exc.args[-1]}", file=sys.stderr)
        return 2
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
