"""SPEC §2's assumptions about the Capillary API, as named constants in one place.

docs/api-assumptions.md mirrors this module; change both together. Assumptions that no code
needs as a value are written here as comments, so the list stays whole.
"""

from __future__ import annotations

# An upsert element with "id" updates that communication; without "id" it inserts a new one.
# There is no delete: a communication is removed by writing it with active=false.
# Unknown response fields (createdOnISO, configs, ...) are ignored, never an error.
# The planner's match key (communicationType, channelId) is also the server's; the post-write
# check reports disagreement. id, attribution, targetId and targetGroupId are the server's.
COMPARED_FIELDS = ("sender", "subjectTemplate", "messageTemplate", "offsetDays", "active")
COMMUNICATION_TYPES = ("START", "FINISH", "CHANGE", "REMINDER")
# Throttling answers 429 (or 503), possibly with Retry-After in seconds or as an HTTP date.
THROTTLE_STATUSES = frozenset({429, 503})
# Statuses retried with backoff (SPEC §6); 461 and 521 are seen behind Capillary's CDN.
RETRY_STATUSES = frozenset({429, 461, 500, 502, 503, 504, 521})
# Capillary's documented limit for demo clusters, used when no rateLimit is configured.
DEFAULT_RATE_LIMIT_PER_MINUTE = 100
# Timestamps look like 2025-06-24T08:25:55.590+0000.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"
# Header carrying the OAuth token.
OAUTH_TOKEN_HEADER = "X-CAP-API-OAUTH-TOKEN"  # noqa: S105 - a header name, not a secret
