"""Commune outreach bot: VNeID / căn cước FAQ, announcement campaigns, registration help requests."""
