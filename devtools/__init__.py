"""Tools for trying and testing the bot — the local Bot API sandbox, the web chat, personas — not the product."""
