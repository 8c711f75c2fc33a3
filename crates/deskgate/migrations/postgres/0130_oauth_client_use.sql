-- When a registered OAuth client first exchanged a code (issue 19): clients registered and never
-- used are swept after a day, so open registration cannot fill the table; a client that was
-- used keeps its registration (its stored client_id stays good after its grants expire).
-- Client ID Metadata Document clients (client_id an https URL) are kept here too, refreshed from
-- their document.
ALTER TABLE oauth_clients ADD COLUMN used_at BIGINT;
