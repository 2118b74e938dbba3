# tests/integration/normalise.sed — the one place that replaces what changes
# from run to run in text the agent prints (tty renderings) by placeholders.
# Use: sed -E -f tests/integration/normalise.sed  (GNU sed; tty_normalise in
# lib_join.sh).  tests/integration/test_normalise.sh feeds it every format.
#
# GUIDs first: nothing else below can match inside one.
s/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/<guid>/g
#
# Then times (before <date> and <port>, which would eat parts of them).
# Every form the agent prints or echoes from a server, hours with one or two
# digits (DRS writes "8:15:11"), months and days with one or two digits where
# the format allows it:
#  - ISO 8601 / RFC 3339, 'T' or ' ' between date and time, seconds optional,
#    fractional seconds ('.' or ','), 'Z' or an offset (+01:00, -0500, +01):
#    the agent's own times (lj_clock_format: expires_at, status "time"), its
#    log lines (.mmmZ), Entra's "timestamp" JSON value and the AADSTS
#    "Timestamp: 2026-12-03 08:15:11Z" line (same shape), Intune's .000Z.
s/\b[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[Tt ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?/<time>/g
#  - DRS ErrorResponse "Time": MM-DD-YYYY H:MM:SSZ (also with '/' and an
#    AM/PM marker, the .NET invariant form other Microsoft services use).
s#\b[0-9]{1,2}[-/][0-9]{1,2}[-/][0-9]{4} [0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?( ?[AaPp][Mm])?Z?#<time>#g
#  - HTTP dates (the Date header is the server time of a failure without a
#    better one, agent/flow/fail.c): IMF-fixdate, RFC 850 and asctime.
s/\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{1,2}:[0-9]{2}:[0-9]{2} (GMT|UTC|[+-][0-9]{4})/<time>/g
s/\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), [0-9]{1,2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-[0-9]{2} [0-9]{1,2}:[0-9]{2}:[0-9]{2} GMT/<time>/g
s/\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}[0-9]{1,2} [0-9]{1,2}:[0-9]{2}:[0-9]{2} [0-9]{4}/<time>/g
#  - A date alone (the build date in the clock_wrong message).
s/\b[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}\b/<date>/g
#
# The rest: ports after a host name or address, device-code user
# codes, SHA-1 thumbprints.
s/((localhost|[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|[a-z0-9-]+(\.[a-z0-9-]+)+)):[0-9]{1,5}\b/\1:<port>/g
s/code [A-Z0-9]{4}-[A-Z0-9]{4}/code <user-code>/g
s/\b[0-9A-Fa-f]{40}\b/<sha1>/g
