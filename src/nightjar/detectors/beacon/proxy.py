"""Web proxies: find them, and attribute the beacons that cross them to the real destination.

Behind a proxy the conn log shows only client -> proxy:3128, one pair that mixes all of a client's
web traffic. The proxy's http.log still names every real destination: a CONNECT request (HTTPS
tunnels) or an absolute-URI request (`GET http://host/path`, plain HTTP through a proxy). A
destination (address, port) is a proxy when at least `min_share` of the requests it receives are of
that kind, or when it listens on a usual proxy port and serves at least `min_clients` clients with
such requests. Its requests then form pairs (client, proxy, port, real host) with their own times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PROXY_PORTS = (3128, 8080, 8000, 8888, 8118, 9090, 1080)


def find_proxies(client: np.ndarray, proxy: np.ndarray, port: np.ndarray, requests: np.ndarray,
                 http_requests: pd.DataFrame | None, min_share: float = 0.5, min_clients: int = 2) -> set[tuple[str, str]]:
    """The (address, port) of proxies among http pairs with proxy-style requests.

    `client`, `proxy`, `port`, `requests`: one row per (client, proxy, port, host) group of
    proxy-style requests. `http_requests`: all http requests per (address, port) as a frame with
    columns `address`, `port`, `n` (to judge the share), or None.
    """
    if len(client) == 0:
        return set()
    frame = pd.DataFrame({"client": client, "address": proxy, "port": port.astype(str), "n": requests})
    per = frame.groupby(["address", "port"]).agg(proxied=("n", "sum"), clients=("client", "nunique")).reset_index()
    if http_requests is not None and len(http_requests):
        per = per.merge(http_requests.assign(port=http_requests["port"].astype(str)), on=["address", "port"], how="left")
        share = per["proxied"] / per["n"].fillna(per["proxied"]).clip(lower=1)
    else:
        share = pd.Series(1.0, index=per.index)
    usual = per["port"].isin([str(p) for p in PROXY_PORTS]) & (per["clients"] >= min_clients)
    hit = per[(share >= min_share) | usual]
    return set(zip(hit["address"], hit["port"]))
