"""Campaign broadcasts (channel-free): subscriptions' audiences, schedules and quiet hours, the delivery
engine behind a `SendPort`, delivery reports. A channel implements the port (Telegram:
bot/telegram_port.py); nothing here imports a channel library.
"""
