"""FAQ engine (channel-free): normalisation, search index, answer service, rendering, content check."""
