-- The call history's search by part of a customer's name, when thousands of customers share
-- it (a common surname), within the page's 100 ms at ten million calls (bench/README.md,
-- history.py). The search goes from names to phones to calls: up to some thousands of
-- phones, it lists the phones whose customer's name holds the part; past that, it reads the
-- newest calls and asks of each caller's phone whether its customer's name holds the part.
-- Through customers alone, either costs a customer's row and a customer_phones row for each
-- phone (about 18 µs on the loaded benchmark machine): 5,000 customers took 110 ms to
-- list, and the 5,000 calls a 30,000-customer part needs for a page as long.
--
-- So each phone carries its customer's name: the phones are listed from one table through
-- its own trigram index, and a call's phone is asked through one index that holds the name
-- (an index-only scan), without reading either table. Triggers keep the copy equal to
-- customers.full_name in the same transaction, whoever writes (the importer, the CRM
-- screens, the campaigns' lists): set from the customer when a phone is added or moved,
-- rewritten on every phone of a customer whose name changes.
--
-- At 1M customers this migration took 104 s on that machine (the copy and two indexes); the new
-- index on e164 holds what the old one did, so every lookup by phone uses it.

ALTER TABLE customer_phones ADD COLUMN full_name text;
UPDATE customer_phones p SET full_name = c.full_name FROM customers c WHERE c.id = p.customer_id;
ALTER TABLE customer_phones ALTER COLUMN full_name SET NOT NULL;

CREATE FUNCTION cti_phone_takes_name() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        NEW.full_name := (SELECT c.full_name FROM customers c WHERE c.id = NEW.customer_id);
        RETURN NEW;
    END
    $$;
-- Also when full_name itself is written: the copy is never set by hand.
CREATE TRIGGER customer_phones_take_name BEFORE INSERT OR UPDATE OF customer_id, full_name
    ON customer_phones FOR EACH ROW EXECUTE FUNCTION cti_phone_takes_name();

CREATE FUNCTION cti_customer_renamed() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    BEGIN
        UPDATE customer_phones SET full_name = NEW.full_name WHERE customer_id = NEW.id;
        RETURN NULL;
    END
    $$;
-- A re-import writes every customer's name, mostly unchanged: only a change costs an update.
CREATE TRIGGER customers_renamed AFTER UPDATE OF full_name ON customers FOR EACH ROW
    WHEN (OLD.full_name IS DISTINCT FROM NEW.full_name) EXECUTE FUNCTION cti_customer_renamed();

CREATE INDEX customer_phones_name_trigrams ON customer_phones USING gin (cti_trigrams(full_name));
CREATE INDEX customer_phones_e164_name ON customer_phones (e164) INCLUDE (customer_id, full_name);
DROP INDEX customer_phones_e164;
