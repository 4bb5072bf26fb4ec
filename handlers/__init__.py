"""One package per platform, each only translating between the platform and the conversation core:
telegram/ (python-telegram-bot), zalo_bot/ (the Zalo Bot Platform)."""
