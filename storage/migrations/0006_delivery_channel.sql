-- Each channel of a run is claimed by its own dispatcher (bot/campaigns/engine.py): queue order per channel.
CREATE INDEX deliveries_channel_queue ON deliveries(run_id, status, channel, person_id);
