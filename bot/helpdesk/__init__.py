"""Help requests (channel-free): the resident's form, validation, slots, and the workflow service.

Nothing here imports `telegram` or `handlers`: a second channel (Zalo) drives the same `HelpdeskService`
and renders the same `Say` messages with its own keyboards.
"""
