-- A dead letter keeps only the head of its raw value (schemas.events.DeadLetter):
-- how that head is written, and the whole value's size and sha256.
-- raw_encoding / key_encoding: 'utf-8' (the text itself) or 'base64' (the bytes,
-- for values that are not UTF-8 or hold NUL, which PostgreSQL text cannot).
ALTER TABLE dead_letters
    ADD COLUMN raw_encoding  text    NOT NULL DEFAULT 'utf-8',
    ADD COLUMN raw_size      bigint,
    ADD COLUMN raw_sha256    text,
    ADD COLUMN raw_truncated boolean NOT NULL DEFAULT false,
    ADD COLUMN key_encoding  text    NOT NULL DEFAULT 'utf-8';
