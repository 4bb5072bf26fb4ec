"""The Zalo Bot Platform channel (bots made in "Zalo Bot Creator"): a thin httpx client, updates turned
into the core's events, the core's messages as sendMessage calls. No buttons, no edits, 2,000 characters,
string ids (see ../shared/zalo.md). Zalo JSON stays inside this package."""
