-- Webhook endpoints of a workspace. The secret signs deliveries, so it is
-- kept as is (it is shown to the client only at creation).
CREATE TABLE webhooks (
	id        TEXT PRIMARY KEY,
	workspace TEXT NOT NULL,
	url       TEXT NOT NULL,
	events    TEXT NOT NULL,
	secret    TEXT NOT NULL,
	created   INTEGER NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks(workspace, created);

-- The outbox: one row per event and endpoint, written in the transaction
-- that publishes the event and kept as the endpoint's delivery log.
CREATE TABLE webhook_deliveries (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	id           TEXT NOT NULL UNIQUE,
	webhook_id   TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
	event_id     TEXT NOT NULL,
	type         TEXT NOT NULL,
	payload      BLOB NOT NULL,
	state        TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL,
	last_status  INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,
	updated      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, seq);
