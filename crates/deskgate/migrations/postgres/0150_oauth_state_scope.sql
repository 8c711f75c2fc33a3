-- The scopes a connect flow asked for (issue 17): a read-only connection asks only for the
-- read scopes, and the account records them when the token answer does not say what it granted.
ALTER TABLE oauth_states ADD COLUMN scope TEXT;
