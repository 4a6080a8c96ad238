-- The web app's short-lived SIP credentials are bound to the employee and to a counter
-- (sip_generation) that logout, a new web password, revoked access and renumbering raise:
-- a credential made before is refused from then on.
ALTER TABLE employees ADD COLUMN sip_generation INTEGER NOT NULL DEFAULT 0;

-- Which digest challenge a device credential (the SIP password) gets: 'md5', 'sha-256', or
-- NULL for the transport's default.
ALTER TABLE employees ADD COLUMN sip_digest TEXT CHECK (sip_digest IN ('md5', 'sha-256'));

-- API tokens expire (Unix seconds). Tokens made before expiry existed get 90 days from
-- their creation.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
UPDATE api_tokens SET expires_at = created_at + 90 * 86400;
