-- Prices and spending (issue 15, gateway/src/billing.rs). Amounts are micros: millionths of
-- a złoty (0.12 PLN = 120000).
--
-- Prices are data, versioned by the day (UTC) they take effect: a call is rated with the
-- list whose valid_from is the latest on or before the day it started; a month's fees come
-- from the list valid on its first day. Each list is complete (`centrala prices set` copies
-- the previous one before changing it).
CREATE TABLE price_lists (
    valid_from TEXT PRIMARY KEY CHECK (length(valid_from) = 10),
    rounding TEXT NOT NULL CHECK (rounding IN ('per_minute', 'per_second')),
    -- The zone of countries price_zones does not list.
    default_zone TEXT NOT NULL,
    extension_micros INTEGER NOT NULL CHECK (extension_micros >= 0),
    number_block_micros INTEGER NOT NULL CHECK (number_block_micros >= 0),
    flat_landline_micros INTEGER NOT NULL CHECK (flat_landline_micros >= 0),
    flat_landline_mobile_micros INTEGER NOT NULL CHECK (flat_landline_mobile_micros >= 0)
);

-- Price per minute by class key (billing.rs: landline, mobile, premium, special,
-- intl_freephone, intl_zoneN; emergency and toll_free are always free).
CREATE TABLE price_rates (
    valid_from TEXT NOT NULL REFERENCES price_lists (valid_from) ON DELETE CASCADE,
    class TEXT NOT NULL,
    per_minute_micros INTEGER NOT NULL CHECK (per_minute_micros >= 0),
    PRIMARY KEY (valid_from, class)
);

-- Country (ISO 3166) → zone class key.
CREATE TABLE price_zones (
    valid_from TEXT NOT NULL REFERENCES price_lists (valid_from) ON DELETE CASCADE,
    country TEXT NOT NULL,
    zone TEXT NOT NULL,
    PRIMARY KEY (valid_from, country)
);

-- The seed: PRODUCT.md's prices from 2026-01-01, billed per started minute. International
-- zones (changeable data, not policy): zone 1 Europe (EU, EEA, Switzerland, the United
-- Kingdom and its Crown dependencies, the European microstates) 0.20; zone 2 the United
-- States and Canada 0.25; zone 3 the rest of the world 0.60.
INSERT INTO price_lists VALUES ('2026-01-01', 'per_minute', 'intl_zone3',
    28800000, 4200000, 10000000, 25000000);
INSERT INTO price_rates (valid_from, class, per_minute_micros) VALUES
    ('2026-01-01', 'landline', 50000),
    ('2026-01-01', 'mobile', 120000),
    ('2026-01-01', 'premium', 500000),
    ('2026-01-01', 'special', 500000),
    ('2026-01-01', 'intl_freephone', 150000),
    ('2026-01-01', 'intl_zone1', 200000),
    ('2026-01-01', 'intl_zone2', 250000),
    ('2026-01-01', 'intl_zone3', 600000);
INSERT INTO price_zones (valid_from, country, zone)
SELECT '2026-01-01', value, 'intl_zone1' FROM json_each(
    '["AT","BE","BG","HR","CY","CZ","DK","EE","FI","FR","DE","GR","HU","IE","IT","LV","LT","LU","MT","NL","PT","RO","SK","SI","ES","SE","NO","IS","LI","CH","GB","GG","JE","IM","AD","MC","SM","VA"]');
INSERT INTO price_zones (valid_from, country, zone) VALUES
    ('2026-01-01', 'US', 'intl_zone2'),
    ('2026-01-01', 'CA', 'intl_zone2');

-- Each external call's class, billed seconds and cost (cost_micros and currency exist
-- since 0004), filled when the call is recorded. NULL class: not an external call.
ALTER TABLE calls ADD COLUMN class TEXT;
ALTER TABLE calls ADD COLUMN billed_seconds INTEGER;

-- A person's flat rate and monthly spend limit on calls (NULL: the company's default).
ALTER TABLE employees ADD COLUMN flat_rate TEXT NOT NULL DEFAULT 'none'
    CHECK (flat_rate IN ('none', 'landline', 'landline_mobile'));
ALTER TABLE employees ADD COLUMN spend_limit_micros INTEGER CHECK (spend_limit_micros >= 0);
-- The company's monthly spend limit on calls, and the default limit of each person
-- (NULL: none).
ALTER TABLE companies ADD COLUMN spend_limit_micros INTEGER CHECK (spend_limit_micros >= 0);
ALTER TABLE companies ADD COLUMN person_spend_limit_micros INTEGER
    CHECK (person_spend_limit_micros >= 0);

-- The 80 % alerts sent, one per limit per month (employee_id 0: the company's limit).
CREATE TABLE spend_alerts (
    company_id INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    employee_id INTEGER NOT NULL,
    month TEXT NOT NULL,
    sent_ms INTEGER NOT NULL,
    PRIMARY KEY (company_id, employee_id, month)
);

