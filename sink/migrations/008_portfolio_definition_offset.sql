-- The source offset (on `portfolios`) of the definition in effect, from the
-- books changelog's `applied`: how a redriven definition is known to be applied
-- (sink.dead_letter_lifecycle). NULL for rows stored before this column.
ALTER TABLE portfolios ADD COLUMN applied bigint;
