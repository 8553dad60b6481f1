-- The table every case in runtime/tests/stdlib/*.test runs on: ten rows, two groups.
-- The runner adds the row number `__flow_row` (0-based, in the order written here).
--
--   g      the dataset's `group` column (a, b)
--   t      the dataset's `time` column; not in row order, a tie in group a (rows 1 and 6),
--          a NULL in group b (row 5), a weekend, a leap day, the year boundary
--   x      float: NULL, 0, negatives, a tie (4.0 on rows 2 and 5)
--   y      integer: 0 twice, negatives, a NULL
--   c      category: NULL, unicode, a tie of x within `red` (rows 2 and 5)
--   s      text: NULL, the empty string, unicode letters and digits, punctuation, symbols
--   "Größe ""m²"" select"  float under a name that needs quoting (spaces, quotes, unicode,
--          a keyword)
--   big    integer whose square and cube overflow BIGINT (rows 0 and 1)
--   target, fold  what `{target}` and `{fold}` stand for (the target as a number, the
--          row's cross-validation fold), as the search provides them
--
-- In time order: group a is rows 4, 1, 6, 8, 2; group b is rows 3, 9, 0, 7, 5.
SELECT * FROM (VALUES
  ('b', TIMESTAMP '2024-01-07 06:15:00',  2.5,    2, 'red',  'Hello World',          50.0, 1.0, 0,  3037000500),
  ('a', TIMESTAMP '2024-01-06 12:30:00', -1.0,    0, 'blue', '',                     70.5, 0.0, 1, -3037000500),
  ('a', TIMESTAMP '2024-03-01 00:00:00',  4.0,   -4, 'red',  NULL,                   40.0, 1.0, 2,           0),
  ('b', TIMESTAMP '2023-12-31 18:00:00',  0.0,    5, NULL,   'Größe 42$!',           NULL, 0.0, 0,           1),
  ('a', TIMESTAMP '2024-01-05 08:00:00',  3.0,    3, 'grün', '  two   spaces  ',      0.0, 1.0, 1,        NULL),
  ('b', NULL,                             4.0, NULL, 'red',  'ÀÉÎ ok',              120.0, 1.0, 2,          -1),
  ('a', TIMESTAMP '2024-01-06 12:30:00', NULL,    1, 'blue', 'call 555-0100, now!',  55.5, 0.0, 0,           2),
  ('b', TIMESTAMP '2024-02-29 09:45:30', -2.5,   -1, 'blue', 'user@example.com',     33.0, 0.0, 1,     1000000),
  ('a', TIMESTAMP '2024-01-08 23:59:59', 10.0,    4, 'grün', 'see https://x.org',    70.5, 1.0, 2,          10),
  ('b', TIMESTAMP '2024-01-01 00:00:00',  1.0,    0, 'red',  '日本語 ١٢٣ €5 © «ok»', 80.0, 0.0, 0,           4)
) AS fixture(g, t, x, y, c, s, "Größe ""m²"" select", target, fold, big)
