"""The registrable domain of a name, by the Public Suffix List, offline.

`tldextract` ships a snapshot of the list; with no suffix-list URLs and no cache
directory it reads only that snapshot, so validating settings never touches
the network (a test proves it with sockets disabled).
"""

from __future__ import annotations

from functools import cache

import tldextract


@cache
def _extract() -> tldextract.TLDExtract:
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False
    )


def registrable_domain(name: str) -> str:
    """`dev.tickets.example.com` -> `example.com`; `example.co.uk` -> itself.
    A name under no known public suffix is returned unchanged."""
    found = _extract()(name).top_domain_under_public_suffix
    return found or name
