-- Policies (issue 15): what a server's policy decided about each call.
-- `policy_decision`: `allowed` or `denied`; NULL for a call that never reached the policy (an
-- unknown or filtered-out tool) and for calls recorded before policies existed.
-- `policy_rule`: the rule that governed the call, e.g. `policies[0] (deny class write)`; NULL
-- when no rule named the tool or its class.
ALTER TABLE tool_calls ADD COLUMN policy_decision TEXT;
ALTER TABLE tool_calls ADD COLUMN policy_rule TEXT;
