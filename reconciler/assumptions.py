"""SPEC §2's assumptions about the Capillary API, as named constants in one place.

The README section "Assumptions about the API" mirrors this module; change both together.
"""

from __future__ import annotations

# An upsert element with "id" updates that communication; without "id" it inserts a new one.
UPSERT_ID_FIELD = "id"
# There is no delete: a communication is removed by writing it with active=false.
DEACTIVATE_BY_WRITING_ACTIVE_FALSE = True
# Unknown response fields (createdOnISO, configs, ...) are ignored, never an error.
IGNORE_UNKNOWN_RESPONSE_FIELDS = True
# The planner's match key is also the server's; the post-write check reports disagreement.
MATCH_KEY_FIELDS = ("communicationType", "channelId")
COMPARED_FIELDS = ("sender", "subjectTemplate", "messageTemplate", "offsetDays", "active")
SERVER_OWNED_FIELDS = ("id", "attribution", "targetId", "targetGroupId")
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
