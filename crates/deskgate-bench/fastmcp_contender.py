"""The FastMCP contender of deskgate-bench: `FastMCP.from_openapi` over the OpenAPI document
deskgate exports for the same integration (`deskgate integrations export-openapi gorgias`),
served as stateless Streamable HTTP with JSON replies, like deskgate and the rmcp proxy.

    python fastmcp_contender.py SPEC.json UPSTREAM_BASE_URL

The upstream's `Authorization` value comes in DESKGATE_BENCH_UPSTREAM_AUTH (never on the command
line). Prints `listening HOST:PORT` once the socket is bound; the MCP endpoint is `/mcp`.
"""

import asyncio
import json
import os
import socket
import sys

import httpx2
from fastmcp import FastMCP


def main() -> None:
    spec_path, upstream = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    spec["servers"] = [{"url": upstream}]
    client = httpx2.AsyncClient(
        base_url=upstream,
        headers={
            "Authorization": os.environ["DESKGATE_BENCH_UPSTREAM_AUTH"],
            "Accept": "application/json",
        },
        timeout=30.0,
    )
    server = FastMCP.from_openapi(openapi_spec=spec, client=client, name="gorgias")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    host, port = sock.getsockname()
    print(f"listening {host}:{port}", flush=True)
    asyncio.run(
        server.run_http_async(
            show_banner=False,
            host=host,
            port=port,
            path="/mcp",
            log_level="warning",
            json_response=True,
            stateless_http=True,
            sockets=[sock],
        )
    )


if __name__ == "__main__":
    main()
