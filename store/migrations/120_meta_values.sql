-- Search filters on item metadata: one row per top-level key of each item
-- whose metadata is a JSON object, holding the key's value exactly as
-- json_extract reads it (the column has no type, so numbers, text, 1/0
-- for booleans, NULL for JSON null and JSON text for arrays and objects
-- keep their SQL type and compare as they would). A filter looks its
-- comparisons up here (store/filter.go) instead of reading every item's
-- metadata with json_extract, about 0.35-1 us an item per query.
-- Triggers keep it in step with every write of items, cascades included;
-- metadata SQLite cannot parse has no rows, and reads as absent.
CREATE TABLE meta_values (
	collection_id TEXT NOT NULL,
	key           TEXT NOT NULL,
	value,
	item_seq      INTEGER NOT NULL
);
CREATE INDEX meta_values_lookup ON meta_values(collection_id, key, value, item_seq);
CREATE INDEX meta_values_item ON meta_values(item_seq);

INSERT INTO meta_values (collection_id, key, value, item_seq)
	SELECT i.collection_id, j.key, j.value, i.seq FROM items i, json_each(i.metadata) j
	WHERE CASE WHEN json_valid(i.metadata) THEN json_type(i.metadata) END = 'object';

CREATE TRIGGER items_meta_insert AFTER INSERT ON items
	WHEN CASE WHEN json_valid(NEW.metadata) THEN json_type(NEW.metadata) END = 'object'
BEGIN
	INSERT INTO meta_values (collection_id, key, value, item_seq)
		SELECT NEW.collection_id, key, value, NEW.seq FROM json_each(NEW.metadata);
END;

CREATE TRIGGER items_meta_delete AFTER DELETE ON items
BEGIN
	DELETE FROM meta_values WHERE item_seq = OLD.seq;
END;

CREATE TRIGGER items_meta_update AFTER UPDATE OF metadata, collection_id ON items
BEGIN
	DELETE FROM meta_values WHERE item_seq = OLD.seq;
	INSERT INTO meta_values (collection_id, key, value, item_seq)
		SELECT NEW.collection_id, key, value, NEW.seq FROM json_each(
			CASE WHEN CASE WHEN json_valid(NEW.metadata) THEN json_type(NEW.metadata) END = 'object'
			THEN NEW.metadata ELSE '{}' END);
END;
