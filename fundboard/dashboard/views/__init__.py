"""The staff dashboard's views: one page per campaign plus its staff-only JSON and actions.

Every view requires a signed-in staff user with the dashboard permission it names
(`access.staff_permission_required`); anonymous visitors go to the admin login.
State-changing views are POST only (CSRF-protected) and answer JSON to the page's fetch
calls, or redirect back when a plain form was posted.

One module per area: `pages` (the campaign page and its JSON), `moderation`, `sources`,
`manual` (manual donations), `alerts` (test alerts), `exports` (embeds and CSV);
`replies` holds what they share.
"""
