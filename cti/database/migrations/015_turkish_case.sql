-- Names compared without regard to case, in Turkish as in English: "AYDIN" finds "Aydın",
-- "ÇAĞRI" finds "Çağrı". lower() alone does not: the dotless ı has no capital of its own in
-- it (I lowers to i), and under the C locale (the embedded PostgreSQL's) lower() leaves
-- every letter outside ASCII as it is. cti_fold lowers, then maps Turkish letters to one
-- form each; the name search's trigrams (migration 011) are rebuilt on it.
CREATE FUNCTION cti_fold(name text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT translate(lower(name), 'ÇĞİÖŞÜÂÎÛı', 'çğiöşüâîûi') $$;

DROP INDEX customers_name_trigrams;
CREATE OR REPLACE FUNCTION cti_trigrams(name text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT coalesce(array_agg(DISTINCT substr(folded, i, 3)), '{}')
        FROM cti_fold(name) AS folded, generate_series(1, length(folded) - 2) AS i
    $$;
CREATE INDEX customers_name_trigrams ON customers USING gin (cti_trigrams(full_name));
