-- Each person's language for the web app and the e-mails sent to them: 'pl', 'en', or NULL
-- (not chosen: the browser's, and for e-mail the language of the request that sent it).
ALTER TABLE employees ADD COLUMN language TEXT CHECK (language IN ('pl', 'en'));

-- A person's favourite colleagues (the top of their contact list). Both sides are employees
-- of the same company; removing either removes the row.
CREATE TABLE favourites (
    employee_id  INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    colleague_id INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (employee_id, colleague_id)
);

-- A person's own phone book: contacts outside the company directory (or beside it), with
-- up to ten numbers each. At most 5,000 per person (checked by the API).
CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id   INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    owner_id     INTEGER NOT NULL REFERENCES employees (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    organization TEXT,
    favourite    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX contacts_owner ON contacts (owner_id);

-- A contact's numbers in order. `digits` is the number's digits alone (no '+', spaces or
-- punctuation), for search and for naming a caller from the phone book.
CREATE TABLE contact_numbers (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    label      TEXT    NOT NULL CHECK (label IN ('work', 'mobile', 'home', 'other')),
    number     TEXT    NOT NULL,
    digits     TEXT    NOT NULL,
    PRIMARY KEY (contact_id, position)
);
CREATE INDEX contact_numbers_digits ON contact_numbers (digits);
