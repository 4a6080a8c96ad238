-- A company may want every call's media between browsers through the gateway's relay
-- (TURN), for networks that allow no direct connections between its people's browsers.
ALTER TABLE companies ADD COLUMN relay_media INTEGER NOT NULL DEFAULT 0;
